"""Expand a compiled spec for one set of parameters and one input, threading shapes and exact
receptive fields through it: the rows, the expanded tree and each level's output.

The walk evaluates every template where it stands, so `$in` is the channel count entering the
entry. A problem does not stop it: the problem is recorded (one record per place in the file,
counting the uses that hit it) and the walk goes on without shapes, still validating what it can,
so that one run reports every problem in file order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from convcalc.errors import ConvcalcError, Location, ShapeError, SpecError
from convcalc.layers import KINDS, LayerSpec, canonical_kind
from convcalc.limits import MAX_ERRORS, MAX_LAYERS, MAX_NESTING
from convcalc.netspec.compiler import describe, name_problem
from convcalc.netspec.expr import (
    IN_CHANNELS,
    INDEX,
    UNKNOWN,
    ExprError,
    Template,
    Value,
    default_value,
    evaluate,
    is_template,
    names_of,
    source_text,
)
from convcalc.netspec.names import Namespace, Path, dotted
from convcalc.netspec.nodes import (
    BadT,
    BranchesT,
    Entry,
    GroupT,
    LayerT,
    Network,
    RepeatT,
    ResidualT,
    SeqT,
    SplitT,
    UseT,
    content_key,
)
from convcalc.numbers import NumberError, fraction_text, shown, value_text
from convcalc.report import LayerReport, NetRow
from convcalc.rf import RFState, TapMap, advance_state, merge_states
from convcalc.shapes import Shape
from convcalc.spec import validate_layer
from convcalc.tree import TBranches, TLayer, TNode, TResidual, TSeq, TSplit

Apply = Callable[[LayerSpec, Shape, Location, str], LayerReport]


@dataclass(frozen=True, slots=True)
class Level:
    """A named level's own result: what kind of block it is, its output and receptive field."""

    label: str
    output: Shape
    receptive_field: RFState


class Env(Mapping[str, Value]):
    """Parameters in scope, plus `in_channels` (the channels entering the current entry)."""

    __slots__ = ("base", "in_channels")

    def __init__(self, base: dict[str, Value], in_channels: Value = UNKNOWN) -> None:
        self.base = base
        self.in_channels = in_channels

    def __getitem__(self, key: str) -> Value:
        return self.in_channels if key == IN_CHANNELS else self.base[key]

    def __contains__(self, key: object) -> bool:
        return key == IN_CHANNELS or key in self.base

    def __iter__(self) -> Iterator[str]:
        yield from self.base
        yield IN_CHANNELS

    def __len__(self) -> int:
        return len(self.base) + 1

    def child(self, extra: Mapping[str, Value]) -> Env:
        return Env({**self.base, **extra}, self.in_channels)


class _Stop(Exception):
    """Too many problems, or the layer limit: stop walking and report what was found."""


@dataclass
class _Record:
    error: ConvcalcError
    uses: int = 1


Result = tuple[Shape | None, RFState | None, TNode | None]
_BLIND: Result = (None, None, None)


@dataclass
class Walk:
    net: Network
    apply: Apply
    globals: dict[str, Value]
    rows: list[NetRow] = field(default_factory=list)
    levels: dict[Path, Level] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    records: dict[tuple[Any, ...], _Record] = field(default_factory=dict)
    specs: dict[Any, LayerSpec | ConvcalcError] = field(default_factory=dict)
    reports: dict[tuple[int, Shape], LayerReport] = field(default_factory=dict)
    """Each model's report per input shape (the models are the ones `specs` keeps alive)."""
    uses: list[Location] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    walked_blocks: set[str] = field(default_factory=set)
    depth: int = 0
    frozen: int = 0
    """How many entries around the current one say `trainable: false` (0: trainable)."""
    auto_bias: bool = True
    """Bias of `shortcut: auto` convs: the spec's `defaults: {bias: …}`, else PyTorch's True."""
    shallow: bool = False
    """Checking a block on its own (never used): its own entries only, no block it uses."""
    name: str = ""
    """The network's name, evaluated (`name: x_${arch}`)."""
    dropped: list[Entry] = field(default_factory=list)
    """Entries left out by their `if:`: why a network may end up empty."""
    empty_repeats: list[Entry] = field(default_factory=list)
    """Repeats of 0 copies: why too."""

    # --- problems ---------------------------------------------------------------------------

    def record(self, error: ConvcalcError) -> None:
        for problem in error.problems or (error,):
            loc = problem.location
            key = (loc.file, loc.line, loc.column, loc.path, loc.field, problem.message)
            found = self.records.get(key)
            if found is not None:
                found.uses += 1
                continue
            kept = problem
            if self.uses and "passed by" not in problem.message:
                use = self.uses[-1]
                line = f" at line {use.line}" if use.line is not None else ""
                kept = type(problem)(f"{problem.message}; passed by {use.path} ({use.name}){line}",
                                     loc)
            self.records[key] = _Record(kept)
            if len(self.records) >= MAX_ERRORS:
                raise _Stop

    def problems(self) -> list[ConvcalcError]:
        out = []
        for rec in self.records.values():
            e = rec.error
            if rec.uses > 1:
                e = type(e)(f"{e.message} ({rec.uses} uses fail the same way)", e.location)
            out.append(e)
        return sorted(out, key=lambda e: (e.location.line or 0, e.location.column or 0))

    def value(self, t: Template, env: Env, where: Location, fld: str | None = None) -> Value:
        try:
            return evaluate(t, env)
        except (ExprError, NumberError) as e:
            raise SpecError(str(e), where.but(field=fld)) from None

    # --- sequences and entries --------------------------------------------------------------

    def seq(self, seq: SeqT, env: Env, ns: Namespace, shape: Shape | None,
            state: RFState | None) -> tuple[Shape | None, RFState | None, list[TNode]]:
        children: list[TNode] = []
        for e in seq.items:
            shape, state, node = self.entry(e, env, ns, shape, state)
            if node is not None:
                children.append(node)
        return shape, state, children

    def entry(self, e: Entry, env: Env, ns: Namespace, shape: Shape | None,
              state: RFState | None) -> Result:
        env.in_channels = shape.channels if shape is not None else UNKNOWN
        try:
            if isinstance(e, BadT):
                return _BLIND
            if e.cond is not None:
                taken = self.value(e.cond, env, e.where, "if")
                if taken is UNKNOWN:
                    return _BLIND
                if not isinstance(taken, bool):
                    raise SpecError(f"if needs true or false, got {describe(taken)} "
                                    f"{shown(str(taken))}",
                                    e.where.but(field="if"))
                if not taken:
                    if not self.shallow:
                        self.dropped.append(e)
                    return shape, state, None
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise SpecError(f"blocks nest deeper than {MAX_NESTING} levels", e.where)
            frozen = not e.trainable
            self.frozen += frozen
            try:
                return self.dispatch(e, env, ns, shape, state)
            finally:
                self.depth -= 1
                self.frozen -= frozen
        except _Blind:
            return _BLIND
        except ConvcalcError as error:
            self.record(error)
            return _BLIND

    def dispatch(self, e: Entry, env: Env, ns: Namespace, shape: Shape | None,
                 state: RFState | None) -> Result:
        if isinstance(e, LayerT):
            return self.layer(e, env, ns, shape, state)
        if isinstance(e, RepeatT):
            return self.repeat(e, env, ns, shape, state)
        label = self.label(e, env)
        inner = ns.sub(ns.name(label)) if label is not None else ns
        if isinstance(e, UseT):
            args = {k: self.value(t, env, e.where, k) for k, t in e.args.items()}
            result = self.use(e.block, args, e.where, inner, shape, state)
        elif isinstance(e, GroupT):
            result = self.group(e.body, env, inner, shape, state, "sequence")
        elif isinstance(e, ResidualT):
            result = self.residual(e, env, inner, shape, state)
        elif isinstance(e, BranchesT):
            result = self.branches(e, env, inner, shape, state)
        else:
            assert isinstance(e, SplitT)
            result = self.split(e, env, inner, shape, state)
        if label is None or result[0] is None:
            return result
        kind = e.block if isinstance(e, UseT) else _keyword(e)
        return self.close(inner.prefix, kind, result)

    def close(self, path: Path, kind: str, result: Result) -> Result:
        """A named level ends: remember its output and field; wrap its node as a level."""
        out, state, node = result
        if out is None or state is None or node is None:
            return result
        self.levels[path] = Level(kind, out, state)
        if isinstance(node, TSeq) and not node.level:
            node = TSeq(node.children, path, kind, True, node.input, node.output)
        else:
            node = TSeq((node,), path, kind, True, _input_of(node), out)
        return out, state, node

    def label(self, e: Entry, env: Env) -> str | None:
        if e.name is None:
            return None
        name = self.value(e.name, env, e.where, "name")
        if name is UNKNOWN:
            raise _Blind
        return _checked_name(name, e.where.but(field="name"), e.where)

    # --- layers -----------------------------------------------------------------------------

    def layer(self, e: LayerT, env: Env, ns: Namespace, shape: Shape | None,
              state: RFState | None) -> Result:
        kind = e.kind  # a kind written as text is canonical and known (the compiler checked it)
        if not isinstance(kind, str):
            kind = self.value(e.kind, env, e.where, "kind")
            if kind is UNKNOWN:
                return _BLIND
            if not isinstance(kind, str):
                raise SpecError(f"{source_text(e.kind)} = {shown(str(kind))} is not a layer "
                                "kind", e.where)
            if kind in self.net.blocks:
                # `- $block` (or `- $block: {args}`): a parameter that names a block
                args = {k: self.value(t, env, e.where, k) for k, t in e.fields.items()}
                label = self.label(e, env)
                inner = ns.sub(ns.name(label)) if label is not None else ns
                result = self.use(kind, args, e.where, inner, shape, state)
                return result if label is None else self.close(inner.prefix, kind, result)
            kind = canonical_kind(kind)
            if kind not in KINDS:
                from convcalc.spec import suggest

                raise SpecError(f"{source_text(e.kind)} = {shown(kind)} is not a layer kind"
                                f"{suggest(kind, sorted(KINDS))}; see `convcalc kinds`", e.where)
        label = self.label(e, env) if e.name is not None else None
        path = ns.name(label if label is not None else kind)
        name = dotted(path)
        spec = self.spec(e, kind, env, label, path)
        if spec is None or shape is None or state is None:
            return _BLIND
        if len(self.rows) >= MAX_LAYERS:
            self.record(SpecError(f"the network expands to more than {MAX_LAYERS:,} layers",
                                  e.where))
            raise _Stop
        where = e.where
        measured = (id(spec), shape)
        report = self.reports.get(measured)
        if report is None:  # a model is measured once per input shape (its report is a value)
            report = self.reports[measured] = self.apply(spec, shape, where, name)
        before = state
        try:
            state, _ = advance_state(state, report.rf_paths)
        except ConvcalcError as error:
            raise error.at(file=where.file, line=where.line, column=where.column,
                           path=where.path, name=name) from None
        self.rows.append(NetRow(name, report, state, spec, path, before,
                                trainable=not self.frozen))
        for w in report.all_warnings():
            self.warnings.append(f"{name}: {w}")
        return report.output, state, TLayer(len(self.rows) - 1, shape, report.output)

    def spec(self, e: LayerT, kind: str, env: Env, label: str | None,
             path: Path) -> LayerSpec | None:
        """The layer model for this use: validated once per distinct set of values."""
        values: dict[str, Any] = {}
        if e.templated:
            for k, t in e.fields.items():
                v = self.value(t, env, self.field_at(e, k), k)
                if v is UNKNOWN:
                    return None
                values[k] = _plain(v)
            key: Any = (content_key(kind, values), label)
        else:
            values = e.fields
            key = (e.key, label)
        found = self.specs.get(key)
        if found is None:
            data = {"kind": kind, **values}
            if label is not None and "name" not in data:
                data["name"] = label
            try:
                found = validate_layer(data, e.where)
            except ConvcalcError as error:
                found = error
            self.specs[key] = found
        if isinstance(found, ConvcalcError):
            raise self.relocate(found, e, path)
        return found

    def field_at(self, e: LayerT, fld: str) -> Location:
        line, col = e.marks.get(fld, (e.where.line, e.where.column))
        return Location(e.where.file, line, col, e.where.path, e.where.name, fld)

    def relocate(self, error: ConvcalcError, e: LayerT, path: Path) -> ConvcalcError:
        """Point each problem at its field's own line and name the layer by its path."""
        fixed: list[ConvcalcError] = []
        for p in error.problems or (error,):
            fld = p.location.field
            where = self.field_at(e, fld) if fld is not None else e.where
            where = Location(where.file, where.line, where.column, e.where.path, dotted(path),
                             fld)
            message = p.message
            t = e.fields.get(fld) if fld is not None else None
            if t is not None and is_template(t):
                message += f" ({source_text(t)})"
            fixed.append(type(p)(message, where))
        return type(fixed[0])(fixed[0].message, fixed[0].location, tuple(fixed))

    # --- blocks -----------------------------------------------------------------------------

    def use(self, block_name: str, args: Mapping[str, Value], where: Location, ns: Namespace,
            shape: Shape | None, state: RFState | None) -> Result:
        block = self.net.blocks[block_name]
        if self.shallow:
            return _BLIND  # that block is checked on its own
        if block_name in self.active:
            raise SpecError(f"block '{block_name}' uses itself "
                            f"({' → '.join([*self.active, block_name])})", where)
        local = dict(self.globals)
        self.walked_blocks.add(block_name)  # its problems are this use's (not check_unused's)
        for k in args:
            if k not in block.params:
                from convcalc.spec import suggest

                raise SpecError(f"block '{block_name}' has no parameter {shown(k)}"
                                f"{suggest(k, list(block.params))}; parameters: "
                                f"{', '.join(block.params) or 'none'}", where)
        for k, default in block.params.items():
            if k in args:
                local[k] = args[k]
            elif default is None:
                raise SpecError(f"block '{block_name}' needs parameter '{k}'", where)
            else:
                local[k] = _default(block_name, k, default, local, where)
        self.walked_blocks.add(block_name)
        self.active.append(block_name)
        self.uses.append(where.but(name=dotted(ns.prefix) or block_name))
        try:
            return self.group(block.body, Env(local), ns, shape, state, block_name)
        finally:
            self.uses.pop()
            self.active.pop()

    def group(self, body: SeqT, env: Env, ns: Namespace, shape: Shape | None,
              state: RFState | None, label: str) -> Result:
        start = shape
        out, out_state, children = self.seq(body, env, ns, shape, state)
        if out is None or start is None:
            return out, out_state, None
        return out, out_state, TSeq(tuple(children), ns.prefix, label, False, start, out)

    def repeat(self, e: RepeatT, env: Env, ns: Namespace, shape: Shape | None,
               state: RFState | None) -> Result:
        count = self.value(e.count, env, e.where, "repeat")
        if count is UNKNOWN:
            return _BLIND
        if type(count) is not int or count < 0:
            shown_count = str(count).lower() if isinstance(count, bool) else fraction_text(count) \
                if isinstance(count, int | Fraction) else shown(str(count))
            raise SpecError(f"repeat must be a whole number ≥ 0, got {shown_count}"
                            f"{f' ({source_text(e.count)})' if is_template(e.count) else ''}",
                            e.where.but(field="repeat"))
        if count == 0 and not self.shallow:
            self.empty_repeats.append(e)
        per_copy = e.name is not None and INDEX in names_of(e.name)
        level: Namespace | None = None
        label = None
        if e.name is not None and not per_copy:
            label = self.label(e, env)
            level = ns.sub(ns.name(label)) if label is not None else ns
        start = shape
        copies: list[TNode] = []
        only = e.body.items[0] if len(e.body.items) == 1 else None
        copy_label = only.block if isinstance(only, UseT) else "repeat"
        # without shapes (past a problem, or checking a block) one copy finds what all would
        for i in range(count if shape is not None else min(count, 1)):
            copy_env = env.child({INDEX: i})
            copy_env.in_channels = shape.channels if shape is not None else UNKNOWN
            if per_copy:
                copy_ns = ns.sub(ns.name(self.copy_name(e, copy_env)))
            else:
                host = level if level is not None else ns
                copy_ns = host.sub(host.number())
            result = self.group(e.body, copy_env, copy_ns, shape, state, copy_label)
            shape, state, node = self.close(copy_ns.prefix, copy_label, result)
            if node is not None:
                copies.append(node)
        if shape is None or start is None or state is None:
            return shape, state, None
        host_path = level.prefix if level is not None else ns.prefix
        node = TSeq(tuple(copies), host_path, "repeat", False, start, shape)
        if level is not None and label is not None:
            return self.close(level.prefix, "repeat", (shape, state, node))
        return shape, state, node

    def copy_name(self, e: RepeatT, env: Env) -> str:
        assert e.name is not None
        name = self.value(e.name, env, e.where, "name")
        return _checked_name(name, e.where, e.where)

    # --- merges -----------------------------------------------------------------------------

    def residual(self, e: ResidualT, env: Env, ns: Namespace, shape: Shape | None,
                 state: RFState | None) -> Result:
        add = self.value(e.add, env, e.where, "add")
        if add is UNKNOWN:
            return _BLIND
        if not isinstance(add, bool):
            raise SpecError(f"add needs true or false, got {describe(add)}",
                            e.where.but(field="add"))
        if not add:
            return self.group(e.body, env, ns, shape, state, "residual")
        out, body_state, children = self.seq(e.body, env, ns, shape, state)
        if out is None or body_state is None or shape is None or state is None:
            return _BLIND
        body = TSeq(tuple(children), ns.prefix, "body", False, shape, out)
        short_node: TSeq | None = None
        if e.shortcut is None:
            short, short_state = shape, state
        elif e.shortcut == "auto":
            short, short_state, short_node = self.auto_shortcut(e, ns, shape, out, state,
                                                                body_state)
        else:
            sub = ns.sub(ns.name("shortcut"))
            s_out, s_state, s_children = self.seq(e.shortcut, env, sub, shape, state)
            if s_out is None or s_state is None:
                return _BLIND
            short, short_state = s_out, s_state
            short_node = TSeq(tuple(s_children), sub.prefix, "shortcut", True, shape, s_out)
            self.levels[sub.prefix] = Level("shortcut", s_out, s_state)
        if short != out:
            raise ShapeError(f"residual add needs equal shapes: body gives "
                             f"{out.channels_last()}, shortcut gives {short.channels_last()}"
                             f"{self.residual_hint(shape, out, body_state, e.shortcut)}",
                             e.where)
        merged = self.merge(dotted(ns.prefix), [body_state, short_state], e.where)
        return out, merged, TResidual(body, short_node, ns.prefix, shape, out)

    @staticmethod
    def residual_hint(shape: Shape, out: Shape, body_state: RFState, shortcut: Any) -> str:
        if out.spatial and all(n == 1 for n in out.spatial) and shape.spatial != out.spatial:
            return (" (a body that pools to 1×1 is a gate: multiply it with "
                    "'branches: {merge: mul, paths: [[], [...]]}' or use the se kind)")
        if shortcut == "auto" or any(a.reduced for a in body_state):
            return " (give a projection shortcut)"
        return " (use 'shortcut: auto' or a projection)"

    def auto_shortcut(self, e: ResidualT, ns: Namespace, shape: Shape, out: Shape,
                      state: RFState, body_state: RFState) -> tuple[Shape, RFState, TSeq | None]:
        """Identity where the body keeps the shape, else 1×1 conv + BN (torchvision's
        `downsample`). Its stride is the body's effective stride (the ratio of the receptive-field
        jumps), which stays right where shapes alone are ambiguous (1×1 maps). A body that reduces
        an axis by windows (a global pool: a gate, not a strided map) has no such stride."""
        if out == shape:
            return shape, state, None
        strides = []
        for axis, (a, b) in enumerate(zip(shape.spatial, out.spatial, strict=True)):
            if body_state[axis].reduced and not state[axis].reduced:
                raise ShapeError(f"shortcut: auto cannot project {shape.channels_last()} to "
                                 f"{out.channels_last()}: the body pools the map by windows, "
                                 "which no strided 1×1 conv reproduces"
                                 f"{self.residual_hint(shape, out, body_state, 'auto')}",
                                 e.where)
            ratio = body_state[axis].jump / state[axis].jump if state[axis].jump else None
            stride = int(ratio) if ratio is not None and ratio.denominator == 1 else -(-a // b)
            if stride < 1 or (a - 1) // stride + 1 != b:
                raise ShapeError(f"shortcut: auto cannot project {shape.channels_last()} to "
                                 f"{out.channels_last()} with a strided 1×1 conv", e.where)
            strides.append(stride)
        from convcalc.layers.conv import Conv
        from convcalc.layers.simple import BatchNorm

        bias = self.auto_bias
        sub = ns.sub(ns.name("shortcut"))
        children: list[TNode] = []
        current, current_state = shape, state
        for spec, label in ((Conv(out=out.channels, kernel=1, stride=strides, bias=bool(bias)),
                             "0"), (BatchNorm(), "1")):
            path = (*sub.prefix, label)
            report = self.apply(spec, current, e.where, dotted(path))
            before = current_state
            current_state, _ = advance_state(current_state, report.rf_paths)
            self.rows.append(NetRow(dotted(path), report, current_state, spec, path, before,
                                    trainable=not self.frozen))
            children.append(TLayer(len(self.rows) - 1, current, report.output))
            current = report.output
        self.levels[sub.prefix] = Level("shortcut", current, current_state)
        return current, current_state, TSeq(tuple(children), sub.prefix, "shortcut", True, shape,
                                            current)

    def paths(self, seqs: tuple[SeqT, ...], env: Env, ns: Namespace,
              inputs: list[Shape | None], state: RFState | None
              ) -> list[tuple[Shape | None, RFState | None, TSeq | None]]:
        results = []
        for i, (p, shape) in enumerate(zip(seqs, inputs, strict=True)):
            sub = ns.sub(ns.name(f"path{i}"))
            out, s, children = self.seq(p, env, sub, shape, state)
            node = None
            if out is not None and s is not None and shape is not None:
                node = TSeq(tuple(children), sub.prefix, f"path{i}", True, shape, out)
                self.levels[sub.prefix] = Level(f"path{i}", out, s)
            results.append((out, s, node))
        return results

    def branches(self, e: BranchesT, env: Env, ns: Namespace, shape: Shape | None,
                 state: RFState | None) -> Result:
        results = self.paths(e.paths, env, ns, [shape] * len(e.paths), state)
        if shape is None or any(r[0] is None or r[1] is None or r[2] is None for r in results):
            return _BLIND
        shapes = [r[0] for r in results]
        if e.merge == "first":
            # the other paths end here as outputs of their own: the first one goes on, alone
            first, state0 = results[0][0], results[0][1]
            assert first is not None and state0 is not None
            return first, state0, TBranches(tuple(r[2] for r in results), e.merge,  # type: ignore[misc]
                                            ns.prefix, shape, first)
        out = self.join(e.merge, shapes, e.where)  # type: ignore[arg-type]
        states = [self.broadcast(r[1], r[0], out) for r in results]  # type: ignore[arg-type]
        merged = self.merge(dotted(ns.prefix), states, e.where)
        return out, merged, TBranches(tuple(r[2] for r in results), e.merge,  # type: ignore[misc]
                                      ns.prefix, shape, out)

    def split(self, e: SplitT, env: Env, ns: Namespace, shape: Shape | None,
              state: RFState | None) -> Result:
        n = len(e.paths)
        sizes: list[int] | None = None
        if e.sizes is not None:
            sizes = []
            for t in e.sizes:
                v = self.value(t, env, e.where, "sizes")
                if v is UNKNOWN:
                    return _BLIND
                if type(v) is not int or v < 1:
                    raise SpecError(f"sizes must list one whole number ≥ 1 per path ({n}), got "
                                    f"{shown(str(v))}", e.where.but(field="sizes"))
                sizes.append(v)
        if shape is None:
            self.paths(e.paths, env, ns, [None] * n, state)
            return _BLIND
        if sizes is None and shape.channels % n == 0:
            sizes = [shape.channels // n] * n
        if sizes is None or sum(sizes) != shape.channels:
            raise ShapeError(f"split: {shape.channels} channels cannot be split "
                             f"{'into ' + '+'.join(map(str, sizes)) if sizes else f'{n} ways'}",
                             e.where)
        results = self.paths(e.paths, env, ns, [shape.with_channels(c) for c in sizes], state)
        if any(r[0] is None or r[1] is None or r[2] is None for r in results):
            return _BLIND
        out = self.join("concat", [r[0] for r in results], e.where)  # type: ignore[misc]
        merged = self.merge(dotted(ns.prefix), [r[1] for r in results],  # type: ignore[misc]
                            e.where)
        return out, merged, TSplit(tuple(r[2] for r in results), tuple(sizes),  # type: ignore[misc]
                                   ns.prefix, shape, out)

    @staticmethod
    def join(merge: str, shapes: list[Shape], where: Location) -> Shape:
        first = shapes[0]
        listed = ", ".join(s.channels_last() for s in shapes)
        if merge == "mul":
            # PyTorch broadcasting: every axis (channels too) equal or 1
            if any(s.rank != first.rank for s in shapes):
                raise ShapeError(f"mul needs the same number of axes, paths give {listed}", where)
            dims = []
            for axis in range(first.rank + 1):
                sizes = {(s.channels, *s.spatial)[axis] for s in shapes} - {1}
                if len(sizes) > 1:
                    raise ShapeError(f"mul needs each axis equal or 1 (broadcasting), paths give "
                                     f"{listed}", where)
                dims.append(sizes.pop() if sizes else 1)
            return Shape(dims[0], tuple(dims[1:]))
        if any(s.spatial != first.spatial for s in shapes):
            raise ShapeError(f"{merge} needs equal spatial sizes, paths give {listed}", where)
        if merge == "add":
            if any(s != first for s in shapes):
                raise ShapeError(f"add needs equal shapes, paths give {listed}", where)
            return first
        return Shape(sum(s.channels for s in shapes), first.spatial)

    @staticmethod
    def broadcast(state: RFState, shape: Shape, out: Shape) -> RFState:
        """A path of size 1 along an axis where the result is larger is read by every position
        there (a gate multiplied into the trunk)."""
        if shape.spatial == out.spatial:
            return state
        return tuple(axis.then(TapMap.whole(1)) if n == 1 and m > 1 else axis
                     for axis, n, m in zip(state, shape.spatial, out.spatial, strict=True))

    def merge(self, path: str, states: list[RFState], where: Location | None = None
              ) -> RFState:
        try:
            merged, problem = merge_states(states)
        except ConvcalcError as error:
            w = where or Location()
            raise error.at(file=w.file, line=w.line, column=w.column, path=w.path,
                           name=path or None) from None
        if problem:
            self.warnings.append(f"{path or 'network'}: merged paths are misaligned: {problem}")
        return merged

    # --- blocks never used ------------------------------------------------------------------

    def check_unused(self) -> None:
        """Walk every block the network never used, without shapes, so its problems show."""
        for name, block in self.net.blocks.items():
            if name in self.walked_blocks:
                continue
            local = dict(self.globals)
            for k, default in block.params.items():
                local[k] = UNKNOWN if default is None else _default(
                    name, k, default, local, Location(file=self.net.file))
            self.walked_blocks.add(name)
            self.active.append(name)
            self.shallow = True
            try:
                self.seq(block.body, Env(local), Namespace((name,)), None, None)
            finally:
                self.shallow = False
                self.active.pop()


class _Blind(Exception):
    """A value needed to go on is unknown (the walk is past a problem)."""


def _default(block: str, param: str, default: Value, env: Mapping[str, Value],
             where: Location) -> Value:
    """A block parameter's default, `${…}` in it evaluated with the parameters before it."""
    try:
        return default_value(default, env)
    except (ExprError, NumberError) as e:
        raise SpecError(f"block '{block}' parameter '{param}': {e} (a default may use the "
                        "network's parameters and the block's before it)", where) from None


def _keyword(e: Entry) -> str:
    return {GroupT: "sequence", ResidualT: "residual", BranchesT: "branches",
            SplitT: "split", RepeatT: "repeat"}.get(type(e), "block")


def _input_of(node: TNode) -> Shape:
    return node.input


def _plain(value: Value) -> Any:
    """Values as pydantic reads them: tuples as lists, whole fractions as ints."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value



def walk_network(net: Network, apply: Apply, params: Mapping[str, Value], shape: Shape,
                 state: RFState) -> tuple[Walk, Shape, RFState, TSeq]:
    """Expand `net` on `shape`; raises the problems found (all of them, in file order)."""
    walk = Walk(net, apply, dict(params), name=net.name)
    with contextlib.suppress(ExprError, NumberError):
        walk.auto_bias = bool(evaluate(net.defaults.get("bias", True), Env(dict(params))))
    out: Shape | None = None
    out_state: RFState | None = None
    children: list[TNode] = []
    try:  # every record() may stop the walk once MAX_ERRORS problems are kept
        for problem in net.problems:
            walk.record(problem)
        if net.name_template is not None:
            try:
                name = walk.value(net.name_template, Env(dict(params)), net.name_at, "name")
                if not isinstance(name, str):
                    raise SpecError(f"a name must be text, got {describe(name)} "
                                    f"{value_text(name)} ({source_text(net.name_template)})",
                                    net.name_at)
                walk.name = name
            except ConvcalcError as error:
                walk.record(error)
        out, out_state, children = walk.seq(net.root, Env(dict(params)), Namespace(()), shape,
                                            state)
        walk.check_unused()
    except _Stop:
        pass
    problems = walk.problems()
    if problems or out is None or out_state is None:
        if not problems:
            raise SpecError("the network could not be walked", Location(file=net.file))
        cls = SpecError if any(isinstance(p, SpecError) for p in problems) else ShapeError
        raise cls(problems[0].message, problems[0].location, tuple(problems))
    if not walk.rows and not any(map(_merges, children)):
        raise _empty(net, params, walk.dropped, walk.empty_repeats)
    return walk, out, out_state, TSeq(tuple(children), (), "network", False, shape, out)


def _merges(node: TNode) -> bool:
    """Whether a node merges paths (a residual's add, a concat of two paths, …): a network of
    merges alone still computes something (its adds are other ops)."""
    if isinstance(node, TResidual):
        return True
    if isinstance(node, TBranches | TSplit):
        return len(node.paths) > 1 or any(map(_merges, node.paths))
    if isinstance(node, TSeq):
        return any(map(_merges, node.children))
    return False


def _empty(net: Network, params: Mapping[str, Value], dropped: list[Entry],
           empty_repeats: list[Entry]) -> SpecError:
    """Why a network that walked without a problem has no layer: the `if:`s that left every
    layer out and the repeats of 0 copies, with the parameters they read (and the --set to check
    where a parameter is not its default)."""
    first = [*dropped, *empty_repeats][:1]
    where = first[0].where.but(name=None) if first else Location(file=net.file)
    why = []
    read: set[str] = set()
    conds = [e.cond for e in dropped if e.cond is not None]
    if conds:
        texts = list(dict.fromkeys(source_text(c) or value_text(c) for c in conds))
        more = f" and {len(texts) - 3} more" if len(texts) > 3 else ""
        why.append(f"every layer is left out by an 'if:' ({'; '.join(texts[:3])}{more})")
        read.update(*(names_of(c) for c in conds))
    counts = [e.count for e in empty_repeats if isinstance(e, RepeatT)]
    if counts:
        texts = list(dict.fromkeys(source_text(c) or value_text(c) for c in counts))
        why.append(f"repeat {'; '.join(texts[:3])} makes 0 copies")
        read.update(*(names_of(c) for c in counts))
    names = [n for n in sorted(read - {IN_CHANNELS, INDEX}) if n in params]
    if names:
        why.append(f"with {', '.join(f'{n} = {value_text(params[n])}' for n in names)}")
    changed = [n for n in names if n in net.params and params[n] != net.params[n]]
    if changed:
        n = changed[0]
        why.append(f"check --set {n}={value_text(params[n])} (the spec's default is "
                   f"{value_text(net.params[n])})")
    reason = "; ".join(why) if why else "no entry holds a layer (empty sequences or blocks)"
    return SpecError(f"the network has no layers: {reason}", where.but(field=None))


def _checked_name(name: Any, not_text_at: Location, where: Location) -> str:
    """A name's value once computed: text, and a name a layer may have (one path level). A
    whole number (`name: ${index + 1}`) is written as text, as torchvision numbers its blocks."""
    if isinstance(name, Fraction) and name.denominator == 1:
        name = name.numerator
    if type(name) is int:
        name = str(name)
    if not isinstance(name, str):
        raise SpecError(f"a name must be text, got {describe(name)}", not_text_at)
    problem = name_problem(name)
    if problem:
        raise SpecError(problem, where.but(field="name"))
    return name
