"""Network specs: blocks (sequence, residual, branches, split, repeat, named blocks) from YAML.

A spec is parsed into a tree of nodes; every node knows its hierarchical name (`layer2.0.conv1`)
and where it stood in the file (`layers[3].body[1]`, line and column) for error messages.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from convcalc.errors import ConvcalcError, Location, SpecError
from convcalc.layers import KIND_ALIASES, KINDS, LayerSpec, canonical_kind, models
from convcalc.shapes import Shape, coerce_shape
from convcalc.spec import suggest, validate_layer

MAX_LAYERS = 1_000_000
BLOCK_KEYWORDS = ("sequence", "residual", "branches", "split", "repeat")
TOP_KEYS = ("name", "input", "channels_first", "defaults", "blocks", "layers")


@dataclass(frozen=True, slots=True)
class LayerNode:
    spec: LayerSpec
    path: str
    where: Location


@dataclass(frozen=True, slots=True)
class SeqNode:
    children: tuple[Node, ...]
    path: str
    where: Location


@dataclass(frozen=True, slots=True)
class ResidualNode:
    """body(x) + shortcut(x); shortcut None = identity; `auto` = 1×1 conv + BN when shapes differ."""

    body: SeqNode
    shortcut: SeqNode | Literal["auto"] | None
    path: str
    where: Location
    auto_bias: bool = False
    shortcut_path: str = ""


@dataclass(frozen=True, slots=True)
class BranchesNode:
    """Parallel paths on the same input, merged by concat (channels) or add."""

    paths: tuple[SeqNode, ...]
    merge: Literal["concat", "add"]
    path: str
    where: Location


@dataclass(frozen=True, slots=True)
class SplitNode:
    """Channel split: path i gets sizes[i] channels (equal by default); outputs concatenated."""

    paths: tuple[SeqNode, ...]
    sizes: tuple[int, ...] | None
    path: str
    where: Location


Node = LayerNode | SeqNode | ResidualNode | BranchesNode | SplitNode


@dataclass(frozen=True, slots=True)
class Network:
    name: str
    input: Shape | None
    root: SeqNode
    file: str | None = None
    layer_count: int = 0


# --- parameter substitution: "$out" or "${out * 4}" -------------------------------------------

_OPS: dict[type[ast.AST], Callable[[int, int], int]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}


def _evaluate(expr: str, env: Mapping[str, Any]) -> Any:
    """Integer arithmetic over block parameters: names, ints, + − * // %, parentheses."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ValueError(f"cannot read expression '{expr}'") from None

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise ValueError(f"unknown parameter '{node.id}'{suggest(node.id, list(env))}")
            return env[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            left, right = walk(node.left), walk(node.right)
            if type(left) is not int or type(right) is not int:
                raise ValueError(f"'{expr}': arithmetic needs whole numbers")
            if isinstance(node.op, ast.FloorDiv | ast.Mod) and right == 0:
                raise ValueError(f"'{expr}': division by zero")
            return _OPS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        raise ValueError(f"'{expr}': only parameters, whole numbers and + - * // % are allowed")

    return walk(tree)


def _substitute(value: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        body = value[2:-1] if value.startswith("${") and value.endswith("}") else value[1:]
        return _evaluate(body, env)
    if isinstance(value, list):
        return [_substitute(v, env) for v in value]
    return value


# --- the parser ------------------------------------------------------------------------------


@dataclass
class Namespace:
    """Hands out unique hierarchical names within one level: `layer1.0.conv1`, `relu_1`, `2`.

    Next suffixes are remembered per label, so naming n layers costs O(n), not O(n²).
    """

    prefix: str
    used: set[str] = field(default_factory=set)
    next_suffix: dict[str, int] = field(default_factory=dict)

    def name(self, label: str) -> str:
        """A unique label at this level: the label itself, else label_1, label_2, ..."""
        candidate, n = label, self.next_suffix.get(label, 0)
        if n:
            candidate = f"{label}_{n}"
        while candidate in self.used:
            n += 1
            candidate = f"{label}_{n}"
        self.next_suffix[label] = n + 1
        self.used.add(candidate)
        return _join(self.prefix, candidate)

    def number(self) -> str:
        """The next free ordinal at this level (repeat copies): 0, 1, 2, ..."""
        n = self.next_suffix.get("#", 0)
        while str(n) in self.used:
            n += 1
        self.next_suffix["#"] = n + 1
        return self.name(str(n))

    def sub(self, path: str) -> Namespace:
        return Namespace(path)


@dataclass
class _Block:
    params: dict[str, Any]
    layers: Any
    where: Location


@dataclass
class _Parser:
    file: str | None
    defaults: dict[str, Any]
    blocks: dict[str, _Block]
    count: int = 0
    errors: list[ConvcalcError] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    fields: dict[str, frozenset[str]] = field(default_factory=dict)
    """kind → its model's field names (for defaults), looked up once per kind."""

    def loc(self, container: Any, key: Any, spec_path: str, name: str | None = None) -> Location:
        marks = getattr(container, "marks", None)
        line = col = None
        known = (key in marks if isinstance(marks, dict)
                 else isinstance(marks, list) and isinstance(key, int) and key < len(marks))
        if known:
            line, col = marks[key]  # type: ignore[index]
        return Location(file=self.file, line=line, column=col, path=spec_path, name=name)

    def grow(self, n: int, where: Location) -> None:
        self.count += n
        if self.count > MAX_LAYERS:
            raise SpecError(f"the network expands to more than {MAX_LAYERS:,} layers", where)

    def sequence(self, items: Any, spec_path: str, ns: Namespace, env: Mapping[str, Any],
                 where: Location) -> SeqNode:
        if items is None:
            items = []
        if not isinstance(items, list):
            raise SpecError(f"expected a list of layers, got {_type(items)}", where)
        children: list[Node] = []
        for i, item in enumerate(items):
            item_path = f"{spec_path}[{i}]"
            name = _name_of(item)
            item_where = self.loc(items, i, item_path, name)
            try:
                children.append(self.item(item, item_path, ns, env, item_where))
            except ConvcalcError as e:
                if e.problems:
                    self.errors.extend(e.problems)
                else:
                    self.errors.append(e)
        return SeqNode(tuple(children), ns.prefix, where)

    def item(self, item: Any, spec_path: str, ns: Namespace, env: Mapping[str, Any],
             where: Location) -> Node:
        if isinstance(item, str):
            return self.named(item, None, {}, spec_path, ns, env, where)
        if not isinstance(item, dict):
            raise SpecError(f"a layer must be a kind name or a mapping, got {_type(item)}", where)
        if "kind" in item:
            label = item.get("name") if isinstance(item.get("name"), str) else None
            path = ns.name(label or str(canonical_kind(str(item["kind"]))))
            return self.layer(dict(item), spec_path, path, env, where, item)
        keys = [k for k in item if k != "name"]
        if not keys:
            raise SpecError("empty layer entry: give a kind (e.g. '- relu' or "
                            "'- conv: {out: 64, kernel: 3}')", where)
        head = keys[0]
        if head == "repeat":
            return self.repeat(item, spec_path, ns, env, where)
        if len(keys) > 1:
            raise SpecError(f"one kind per entry, found {', '.join(map(str, keys))}; "
                            "write '- kind: {fields}' or '- {kind: ..., field: ...}'", where)
        if not isinstance(head, str):
            raise SpecError(f"a kind must be text, got {head!r}", where)
        return self.named(head, item[head], item, spec_path, ns, env, where)

    def named(self, head: str, value: Any, item: Mapping[str, Any], spec_path: str,
              ns: Namespace, env: Mapping[str, Any], where: Location) -> Node:
        def value_at() -> Location:  # where the kind's value stands; built when needed
            return self.loc(item, head, spec_path, where.name) if item else where

        if head in ("sequence", "residual", "branches", "split") or head in self.blocks:
            # a named block gets its own level; an unnamed one is transparent
            inner = ns.sub(ns.name(where.name)) if where.name is not None else ns
            if head in self.blocks:
                return self.use_block(head, value, spec_path, inner, env, value_at())
            return self.block_keyword(head, value, spec_path, inner, env, value_at())
        kind = canonical_kind(head)
        if kind not in KINDS:
            choices = sorted({*KINDS, *KIND_ALIASES, *self.blocks, *BLOCK_KEYWORDS})
            raise SpecError(f"unknown kind '{head}'{suggest(head, choices)}; a layer kind "
                            f"(see `convcalc kinds`), a block keyword ({', '.join(BLOCK_KEYWORDS)})"
                            f" or a block from 'blocks:'", value_at())
        if value is None:
            fields: dict[str, Any] = {}
        elif isinstance(value, dict):
            fields = dict(value)
        else:
            raise SpecError(f"the fields of '{head}' must be a mapping like "
                            f"{{out: 64, kernel: 3}}, got {_type(value)}", value_at())
        if "name" in item and "name" not in fields:
            fields["name"] = item["name"]
        label = fields.get("name") if isinstance(fields.get("name"), str) else None
        path = ns.name(label or kind)
        return self.layer({"kind": head, **fields}, spec_path, path, env, where,
                          value if isinstance(value, dict) else item)

    def layer(self, data: dict[str, Any], spec_path: str, path: str, env: Mapping[str, Any],
              where: Location, marks_from: Any) -> LayerNode:
        self.grow(1, where)
        if self.defaults:
            kind = canonical_kind(str(data.get("kind")))
            fields = self.fields.get(kind)
            if fields is None and kind in KINDS:
                fields = self.fields[kind] = frozenset(KINDS[kind].model_fields)
            for key, value in self.defaults.items():
                if fields is not None and key in fields and key not in data:
                    data[key] = value
        resolved: dict[str, Any] = {}
        for key, value in data.items():
            try:
                resolved[key] = _substitute(value, env)
            except ValueError as e:
                at = self.loc(marks_from, key, spec_path, path)
                raise SpecError(str(e), Location(**{**_ld(at), "field": key})) from None
        try:
            spec = validate_layer(resolved, where)
        except ConvcalcError as e:
            # errors name the layer by its place in the network (`stage5.maxpool`): a block's
            # layers are written once but used many times (built only when there is an error)
            named = Location(**{**_ld(where), "name": path})
            problems = [p.at(name=path) for p in (e.problems or (e,))]
            fixed = tuple(self._at_field(p, marks_from, spec_path, named) for p in problems)
            raise SpecError(fixed[0].message, fixed[0].location, fixed) from None
        return LayerNode(spec, path, where)

    def _at_field(self, error: ConvcalcError, marks_from: Any, spec_path: str,
                  where: Location) -> ConvcalcError:
        """Point the error at the field's own line when the field is known."""
        fld = error.location.field
        if fld is not None and isinstance(marks_from, dict) and fld in marks_from:
            line, col = marks_from.marks[fld] if hasattr(marks_from, "marks") else (None, None)
            return type(error)(error.message, Location(
                file=self.file, line=line, column=col, path=spec_path, name=where.name,
                field=fld))
        return error

    def repeat(self, item: dict[str, Any], spec_path: str, ns: Namespace,
               env: Mapping[str, Any], where: Location) -> SeqNode:
        count = _substitute(item["repeat"], env)
        allowed = {"repeat", "body", "name", "layers"}
        extra = [k for k in item if k not in allowed]
        if extra:
            raise SpecError(f"unknown key '{extra[0]}' in repeat{suggest(str(extra[0]), ['body'])};"
                            " write '- repeat: N' with 'body: [...]'", where)
        if type(count) is not int or count < 1:
            shown = str(count).lower() if isinstance(count, bool) else repr(count)
            raise SpecError(f"repeat must be a whole number ≥ 1, got {shown}",
                            Location(**{**_ld(where), "field": "repeat"}))
        body = item.get("body", item.get("layers"))
        if body is None:
            raise SpecError("repeat needs 'body: [...]' (the layers to repeat)", where)
        body_where = self.loc(item, "body" if "body" in item else "layers", spec_path + ".body",
                              where.name)
        size = _size_hint(body, self.blocks)
        if self.count + count * size > MAX_LAYERS:
            raise SpecError(f"repeat: {count:,} × {size:,} layers is more than the limit of "
                            f"{MAX_LAYERS:,} layers", Location(**{**_ld(where), "field": "repeat"}))
        level = ns.sub(ns.name(where.name)) if where.name is not None else ns
        copies = tuple(self.sequence(body, spec_path + ".body", level.sub(level.number()), env,
                                     body_where) for _ in range(count))
        return SeqNode(copies, level.prefix, where)

    def block_keyword(self, head: str, value: Any, spec_path: str, ns: Namespace,
                      env: Mapping[str, Any], where: Location) -> Node:
        path = ns.prefix
        sp = f"{spec_path}.{head}"
        if head == "sequence":
            items = value.get("layers") if isinstance(value, dict) else value
            return self.sequence(items, sp, ns, env, where)
        if not isinstance(value, dict):
            raise SpecError(f"{head} needs a mapping, got {_type(value)}", where)
        allowed = {"residual": {"body", "shortcut", "name"},
                   "branches": {"paths", "merge", "name"},
                   "split": {"paths", "sizes", "name"}}[head]
        for key in value:
            if key not in allowed:
                raise SpecError(f"unknown key '{key}' in {head}{suggest(str(key), sorted(allowed))}"
                                f"; allowed: {', '.join(sorted(allowed))}",
                                self.loc(value, key, sp, where.name))
        if head == "residual":
            body = self.sequence(value.get("body"), sp + ".body", ns, env,
                                 self.loc(value, "body", sp + ".body", where.name))
            raw = value.get("shortcut")
            shortcut: SeqNode | Literal["auto"] | None
            if raw is None or raw == "identity":
                shortcut = None
            elif raw == "auto":
                self.grow(2, where)
                shortcut = "auto"
            else:
                shortcut = self.sequence(raw, sp + ".shortcut", ns.sub(ns.name("shortcut")), env,
                                         self.loc(value, "shortcut", sp + ".shortcut", where.name))
            return ResidualNode(body, shortcut, path, where,
                                auto_bias=bool(self.defaults.get("bias", True)),
                                shortcut_path=ns.name("shortcut") if raw == "auto" else "")
        paths = value.get("paths")
        if not isinstance(paths, list) or not paths:
            raise SpecError(f"{head} needs 'paths': a list of layer lists", where)
        seqs = tuple(self.sequence(p, f"{sp}.paths[{i}]", ns.sub(ns.name(f"path{i}")), env,
                                   self.loc(paths, i, f"{sp}.paths[{i}]", where.name))
                     for i, p in enumerate(paths))
        if head == "branches":
            merge = value.get("merge", "concat")
            if merge not in ("concat", "add"):
                raise SpecError(f"merge must be concat or add, got {merge!r}",
                                self.loc(value, "merge", sp, where.name))
            return BranchesNode(seqs, merge, path, where)
        sizes = value.get("sizes")
        if sizes is not None and (not isinstance(sizes, list) or len(sizes) != len(seqs)
                                  or any(type(s) is not int or s < 1 for s in sizes)):
            raise SpecError(f"sizes must list one whole number ≥ 1 per path ({len(seqs)})",
                            self.loc(value, "sizes", sp, where.name))
        return SplitNode(seqs, tuple(sizes) if sizes else None, path, where)

    def use_block(self, head: str, value: Any, spec_path: str, ns: Namespace,
                  env: Mapping[str, Any], where: Location) -> SeqNode:
        block = self.blocks[head]
        if head in self.active:
            raise SpecError(f"block '{head}' uses itself ({' → '.join([*self.active, head])})",
                            where)
        args = {} if value is None else value
        if not isinstance(args, dict):
            raise SpecError(f"the arguments of block '{head}' must be a mapping, got "
                            f"{_type(args)}", where)
        local: dict[str, Any] = {}
        for key, arg in args.items():
            if key == "name":
                continue
            if key not in block.params:
                raise SpecError(f"block '{head}' has no parameter '{key}'"
                                f"{suggest(str(key), list(block.params))}; parameters: "
                                f"{', '.join(block.params) or 'none'}",
                                self.loc(args, key, spec_path, where.name))
            try:
                local[key] = _substitute(arg, env)
            except ValueError as e:
                raise SpecError(str(e), self.loc(args, key, spec_path, where.name)) from None
        for key, default in block.params.items():
            if key not in local:
                if default is None:
                    raise SpecError(f"block '{head}' needs parameter '{key}'", where)
                local[key] = default
        self.active.append(head)
        try:
            return self.sequence(block.layers, f"blocks.{head}.layers", ns, local, where)
        finally:
            self.active.pop()


def _ld(location: Location) -> dict[str, Any]:
    return {k: getattr(location, k) for k in Location.__slots__}


def _join(prefix: str, label: str) -> str:
    return f"{prefix}.{label}" if prefix else label


def _name_of(item: Any) -> str | None:
    if isinstance(item, dict):
        name = item.get("name")
        if name is None and len(item) == 1:
            inner = next(iter(item.values()))
            if isinstance(inner, dict):
                name = inner.get("name")
        return name if isinstance(name, str) else None
    return None


def _type(value: Any) -> str:
    for kind, text in ((bool, "true/false"), (dict, "a mapping"), (list, "a list"),
                       (str, "text"), (int, "a number"), (float, "a number"),
                       (type(None), "nothing")):
        if isinstance(value, kind):
            return text
    return type(value).__name__


def _size_hint(body: Any, blocks: Mapping[str, _Block], depth: int = 0) -> int:
    """A cheap lower bound of the layers a body expands to (for refusing huge repeats early)."""
    if not isinstance(body, list) or depth > 20:
        return 1
    total = 0
    for item in body:
        if isinstance(item, dict) and "repeat" in item and type(item["repeat"]) is int:
            total += item["repeat"] * _size_hint(item.get("body"), blocks, depth + 1)
        elif isinstance(item, str) and item in blocks:
            total += _size_hint(blocks[item].layers, blocks, depth + 1)
        elif isinstance(item, dict) and len(item) == 1 and next(iter(item)) in blocks:
            total += _size_hint(blocks[next(iter(item))].layers, blocks, depth + 1)
        else:
            total += 1
    return max(total, 1)


def parse_network(data: Any, file: str | None = None) -> Network:
    """The tree of a network spec (the YAML's content as a mapping). Raises SpecError, with every
    problem found listed in `problems`, in file order."""
    where = Location(file=file)
    if not isinstance(data, dict):
        raise SpecError(f"a network spec must be a mapping with 'input' and 'layers', got "
                        f"{_type(data)}", where)
    top = data
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key '{key}'{suggest(str(key), list(TOP_KEYS))}; "
                            f"allowed: {', '.join(TOP_KEYS)}",
                            _Parser(file, {}, {}).loc(top, key, str(key)))
    if "layers" not in data:
        raise SpecError("missing 'layers': the list of layers", where)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SpecError(f"'defaults' must be a mapping of field: value, got {_type(defaults)}",
                        where)
    all_fields = ({f for m in models() for f in m.model_fields} - {"kind", "name"}
                  if defaults else set())
    for key in defaults:
        if key not in all_fields:
            raise SpecError(f"no layer kind has a field '{key}'"
                            f"{suggest(str(key), sorted(all_fields))}",
                            _Parser(file, {}, {}).loc(defaults, key, f"defaults.{key}"))
    raw_blocks = data.get("blocks") or {}
    if not isinstance(raw_blocks, dict):
        raise SpecError(f"'blocks' must be a mapping of name: definition, got "
                        f"{_type(raw_blocks)}", where)
    blocks: dict[str, _Block] = {}
    parser = _Parser(file, dict(defaults), blocks)
    for bname, definition in raw_blocks.items():
        bwhere = parser.loc(raw_blocks, bname, f"blocks.{bname}")
        if bname in KINDS or bname in BLOCK_KEYWORDS or bname in KIND_ALIASES:
            raise SpecError(f"block name '{bname}' is already a layer kind or keyword", bwhere)
        if isinstance(definition, list):
            blocks[bname] = _Block({}, definition, bwhere)
            continue
        if not isinstance(definition, dict) or "layers" not in definition:
            raise SpecError("a block needs 'layers: [...]' and optional 'params: {name: "
                            "default}'", bwhere)
        extra = [k for k in definition if k not in ("params", "layers")]
        if extra:
            raise SpecError(f"unknown key '{extra[0]}' in block; allowed: params, layers", bwhere)
        params = definition.get("params") or {}
        if not isinstance(params, dict):
            raise SpecError("params must be a mapping of name: default (null = required)", bwhere)
        blocks[bname] = _Block(dict(params), definition["layers"], bwhere)
    name = data.get("name", "network")
    if not isinstance(name, str):
        raise SpecError(f"'name' must be text, got {_type(name)}", where)
    shape: Shape | None = None
    if data.get("input") is not None:
        cf = data.get("channels_first", False)
        if type(cf) is not bool:
            raise SpecError("channels_first must be true or false", where)
        try:
            shape = coerce_shape(data["input"], channels_first=cf)
        except ConvcalcError as e:
            raise SpecError(e.message, parser.loc(top, "input", "input")) from None
    root = parser.sequence(data["layers"], "layers", Namespace(""), {},
                           parser.loc(top, "layers", "layers"))
    if parser.errors:
        errors = sorted(parser.errors, key=lambda e: (e.location.line or 0, e.location.column or 0))
        raise SpecError(errors[0].message, errors[0].location, tuple(errors))
    return Network(name, shape, root, file, parser.count)


def load_network(source: str | Path | Mapping[str, Any]) -> Network:
    """A network from a YAML file path or from the YAML's content as a mapping."""
    if isinstance(source, Mapping):
        return parse_network(dict(source))
    from convcalc.yamlio import load_yaml_file

    return parse_network(load_yaml_file(source), str(source))
