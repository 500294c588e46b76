"""Compile a network spec (the YAML's content as a mapping) into nodes, checking its structure.

Everything that can be known without the input is checked here, for every block (used or not):
keys, kinds, field names, block parameters, expression syntax and the names they read, block
recursion and nesting depth. Problems are collected, not raised one by one: an entry that does
not compile becomes a `BadT`, and the walk still runs past it to find the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from convcalc.errors import ConvcalcError, Location, SpecError
from convcalc.layers import KIND_ALIASES, KINDS, REGISTRY, canonical_kind, models
from convcalc.limits import MAX_NAME_CHARS, MAX_NESTING
from convcalc.netspec.expr import (
    BUILTIN_NAMES,
    FUNCTIONS,
    IN_CHANNELS,
    INDEX,
    ExprError,
    Template,
    compile_value,
    is_template,
    names_of,
)
from convcalc.netspec.nodes import (
    BadT,
    BlockDef,
    BranchesT,
    Entry,
    GroupT,
    LayerT,
    Marks,
    Network,
    RepeatT,
    ResidualT,
    SeqT,
    SplitT,
    UseT,
    content_key,
)
from convcalc.numbers import NumberError, from_float, shown, value_text
from convcalc.spec import suggest

ENTRY_KEYS = ("name", "if", "trainable")
"""Keys any entry may carry beside its kind or keyword."""
TOP_KEYS = ("name", "input", "channels_first", "params", "defaults", "blocks", "layers")
BLOCK_KEYWORDS = ("sequence", "residual", "branches", "split", "repeat")
MERGES = ("concat", "add", "mul", "first")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def describe(value: Any) -> str:
    """What kind of YAML value this is, for messages."""
    for kind, text in ((bool, "true/false"), (dict, "a mapping"), (list, "a list"),
                       (str, "text"), (int, "a number"), (float, "a number"),
                       (type(None), "nothing")):
        if isinstance(value, kind):
            return text
    return type(value).__name__


def name_problem(name: str) -> str | None:
    """Why a layer or block name cannot be used, or None. A name is one level of a path."""
    if not name:
        return "a name cannot be empty"
    if len(name) > MAX_NAME_CHARS:
        return f"a name is at most {MAX_NAME_CHARS} characters"
    if "." in name:
        return (f"name {shown(name)} contains '.': a name is one level of the path "
                "(group layers in a named block, e.g. '- sequence: {name: b1, layers: [...]}')")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        return f"name {shown(name)} contains control characters"
    return None


def param_value(value: Any) -> Any:
    """A parameter's default or a --set value as an exact value (YAML floats → fractions)."""
    if isinstance(value, float):
        return from_float(value)
    if isinstance(value, list):
        return tuple(param_value(v) for v in value)
    if isinstance(value, dict):
        raise NumberError("a parameter is a number, true/false, text or a list, not a mapping")
    return value


@dataclass
class Compiler:
    file: str | None
    raw_blocks: dict[str, Any] = field(default_factory=dict)
    block_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_params: frozenset[str] = frozenset()
    defaults: dict[str, Template] = field(default_factory=dict)
    errors: list[ConvcalcError] = field(default_factory=list)
    uses: dict[str, set[str]] = field(default_factory=dict)
    """block (or "" for the network) → the blocks it uses by name."""
    dynamic_kinds: bool = False
    """Some entry takes its kind from a parameter (`- $act`): block use is then not static."""
    current: str = ""
    dotted: list[Entry] = field(default_factory=list)
    """Entries whose literal name has dots (deprecated: read as nested levels)."""

    # --- locations --------------------------------------------------------------------------

    def loc(self, container: Any, key: Any, spec_path: str, name: str | None = None,
            fld: str | None = None) -> Location:
        marks = getattr(container, "marks", None)
        line = col = None
        if (isinstance(marks, dict) and key in marks) or (
                isinstance(marks, list) and isinstance(key, int) and 0 <= key < len(marks)):
            line, col = marks[key]
        return Location(file=self.file, line=line, column=col, path=spec_path, name=name,
                        field=fld)

    def fail(self, message: str, where: Location) -> None:
        self.errors.append(SpecError(message, where))

    # --- sequences and entries --------------------------------------------------------------

    def seq(self, items: Any, spec_path: str, scope: frozenset[str], where: Location) -> SeqT:
        if items is None:
            items = []
        if not isinstance(items, list):
            self.fail(f"expected a list of layers, got {describe(items)}", where)
            return SeqT((BadT(None, None, where),), where)
        entries: list[Entry] = []
        for i, item in enumerate(items):
            item_path = f"{spec_path}[{i}]"
            item_where = self.loc(items, i, item_path, _name_of(item))
            try:
                entries.append(self.entry(item, item_path, scope, item_where))
            except ConvcalcError as e:
                self.errors.extend(e.problems or (e,))
                entries.append(BadT(None, None, item_where))
        if any(_dotted(e.name) for e in entries):
            self.dotted.extend(e for e in entries if _dotted(e.name))
            entries = nest_dotted(entries, self.errors)
        return SeqT(tuple(entries), where)

    def template(self, raw: Any, scope: frozenset[str], where: Location) -> Template:
        """Compile a value; every name it reads must be in scope."""
        try:
            t = compile_value(raw)
        except (ExprError, NumberError) as e:
            raise SpecError(str(e), where) from None
        for n in sorted(names_of(t)):
            if n not in scope:
                hint = suggest(n, sorted(scope - {IN_CHANNELS}))
                known = ", ".join(sorted(scope - set(BUILTIN_NAMES))) or "none"
                extra = " (index exists only inside a repeat's body)" if n == INDEX else ""
                raise SpecError(f"unknown parameter '{n}'{hint}{extra}; parameters here: "
                                f"{known}, and in (the channels entering the layer)", where)
        return t

    def name_template(self, raw: Any, scope: frozenset[str], where: Location) -> Template | None:
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise SpecError(f"a name must be text, got {describe(raw)}",
                            where.but(field="name"))
        t = self.template(raw, scope, where)
        if not is_template(t):
            # a dotted name (`stem.0`) is deprecated, read as nested levels: each level is checked
            problem = next(filter(None, map(name_problem, raw.split("."))), None) if "." in raw \
                else name_problem(raw)
            if problem:
                if "." in raw and "cannot be empty" in problem:
                    problem = f"name {shown(raw)} has an empty level between its dots"
                raise SpecError(problem, where.but(field="name"))
        return t

    def entry(self, item: Any, spec_path: str, scope: frozenset[str], where: Location) -> Entry:
        if isinstance(item, str):
            return self.headed(item, None, {}, spec_path, scope, where)
        if not isinstance(item, dict):
            raise SpecError(f"a layer must be a kind name or a mapping, got {describe(item)}",
                            where)
        if "kind" in item:
            fields = {k: v for k, v in item.items() if k != "kind"}
            return self.headed(item["kind"], fields, item, spec_path, scope, where,
                               full_form=True)
        keys = [k for k in item if k not in ENTRY_KEYS]
        if not keys:
            raise SpecError("empty layer entry: give a kind (e.g. '- relu' or "
                            "'- conv: {out: 64, kernel: 3}')", where)
        if "repeat" in item:
            return self.repeat(item, spec_path, scope, where)
        if len(keys) > 1:
            raise SpecError(f"one kind per entry, found {', '.join(map(str, keys))}; "
                            "write '- kind: {fields}' or '- {kind: ..., field: ...}'", where)
        head = keys[0]
        if not isinstance(head, str):
            raise SpecError(f"a kind must be text, got {head!r}", where)
        return self.headed(head, item[head], item, spec_path, scope, where)

    def headed(self, head: Any, value: Any, item: Mapping[str, Any], spec_path: str,
               scope: frozenset[str], where: Location, full_form: bool = False) -> Entry:
        """An entry whose kind (or block, or keyword) is `head`; `value` its fields or body."""
        trainable = self.trainable(item, spec_path, where)
        if trainable and isinstance(value, dict) and not full_form and "trainable" in value:
            trainable = self.trainable(value, spec_path, where)
        entry = self.headed_entry(head, value, item, spec_path, scope, where, full_form)
        return entry if trainable else replace(entry, trainable=False)

    def trainable(self, item: Mapping[str, Any] | None, spec_path: str,
                  where: Location) -> bool:
        """`trainable: true|false` on an entry (default true): false freezes all inside."""
        if not item or "trainable" not in item:
            return True
        value = item["trainable"]
        if not isinstance(value, bool):
            said = "" if value is None or isinstance(value, list | dict) else \
                f" {shown(str(value))}"
            raise SpecError(f"trainable must be true or false, got {describe(value)}{said}",
                            self.loc(item, "trainable", spec_path, where.name, "trainable"))
        return value

    def headed_entry(self, head: Any, value: Any, item: Mapping[str, Any], spec_path: str,
                     scope: frozenset[str], where: Location, full_form: bool) -> Entry:

        def at() -> Location:  # where the kind is written; built only when it is needed
            return self.loc(item, "kind" if full_form else head, spec_path, where.name) if item \
                else where

        if not isinstance(head, str):
            raise SpecError(f"'kind' must be text, got {value_text(head)}", where)
        name_raw = item.get("name") if item else None
        cond_raw = item.get("if") if item else None
        if isinstance(value, dict) and not full_form:
            # `- conv: {name: x, if: …, out: …}`: name and condition may sit with the fields
            if "name" in value and name_raw is None:
                name_raw = value["name"]
            if "if" in value and cond_raw is None:
                cond_raw = value["if"]
        name = self.name_template(name_raw, scope, where)
        cond = None if cond_raw is None else self.template(
            cond_raw, scope, self.loc(item, "if", spec_path, where.name, "if"))
        if head.startswith("$"):
            value_at = at()
            kind = self.template(head, scope, value_at)
            if not is_template(kind):
                raise SpecError(f"cannot read kind {shown(head)}: write $name", value_at)
            self.dynamic_kinds = True
            fields = self.fields_of(head, value, value_at)
            return self.layer(kind, fields, name, cond, spec_path, scope, where)
        if head in ("sequence", "residual", "branches", "split"):
            return self.keyword(head, value, name, cond, spec_path, scope, at())
        if head in self.raw_blocks:
            return self.use(head, value, name, cond, spec_path, scope, at())
        kind = canonical_kind(head)
        if kind not in KINDS:
            choices = sorted({*KINDS, *KIND_ALIASES, *self.raw_blocks, *BLOCK_KEYWORDS})
            raise SpecError(f"unknown kind {shown(head)}{suggest(head, choices)}; a layer kind "
                            f"(see `convcalc kinds`), a block keyword ({', '.join(BLOCK_KEYWORDS)})"
                            f" or a block from 'blocks:'", at())
        fields = value if isinstance(value, dict) else (
            {} if value is None else self.fields_of(head, value, at()))
        return self.layer(kind, fields, name, cond, spec_path, scope, where)

    def fields_of(self, head: str, value: Any, where: Location) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise SpecError(f"the fields of {shown(head)} must be a mapping like "
                            f"{{out: 64, kernel: 3}}, got {describe(value)}", where)
        return value

    def layer(self, kind: str | Template, raw: Mapping[str, Any], name: Template | None,
              cond: Template | None, spec_path: str, scope: frozenset[str],
              where: Location) -> Entry:
        fields: dict[str, Template] = {}
        marks: Marks = {}
        label = name if isinstance(name, str) else (kind if isinstance(kind, str) else None)
        model_fields = _fields_of_kind(kind) if isinstance(kind, str) else None
        problems: list[ConvcalcError] = []
        raw_marks = getattr(raw, "marks", None)
        if not isinstance(raw_marks, dict):
            raw_marks = {}
        templated = not isinstance(kind, str)
        for key, value in raw.items():
            if key in ENTRY_KEYS:
                continue
            mark = raw_marks.get(key)
            if mark is not None and isinstance(mark[0], int):
                marks[str(key)] = (mark[0], mark[1] or 0)
            if model_fields is not None and key not in model_fields:
                allowed = [f for f in KINDS[str(kind)].model_fields if f != "kind"]
                problems.append(SpecError(
                    f"unknown field {shown(str(key))}{suggest(str(key), allowed)}; fields of "
                    f"{kind}: {', '.join(allowed)}", self.loc(raw, key, spec_path, label,
                                                               str(key))))
                continue
            if type(value) in _CONSTANTS or (type(value) is str and "$" not in value):
                fields[str(key)] = value  # compiles to itself and reads no parameter
                continue
            try:  # the field's location is built only for an error (most specs have none)
                t = fields[str(key)] = self.template(value, scope, _NOWHERE)
                templated = templated or is_template(t)
            except ConvcalcError as e:
                at = self.loc(raw, key, spec_path, label, str(key))
                problems.append(e.at(**at.parts()) if e.location is _NOWHERE else e)
        if problems:
            raise SpecError(problems[0].message, problems[0].location, tuple(problems))
        if model_fields is not None:
            for key, value in self.defaults.items():
                if key in model_fields and key not in fields:
                    fields[key] = value
                    templated = templated or is_template(value)
        return LayerT(name, cond, Location(where.file, where.line, where.column, where.path,
                                           label, where.field), kind, fields, marks, templated,
                      None if templated else content_key(str(kind), fields))

    def repeat(self, item: dict[str, Any], spec_path: str, scope: frozenset[str],
               where: Location) -> Entry:
        allowed = ("repeat", "body", "layers", *ENTRY_KEYS)
        extra = [k for k in item if k not in allowed]
        if extra:
            raise SpecError(f"unknown key {shown(str(extra[0]))} in repeat"
                            f"{suggest(str(extra[0]), ['body', 'name', 'if'])}; write "
                            "'- repeat: N' with 'body: [...]'", where)
        if "body" in item and "layers" in item:
            raise SpecError("repeat takes 'body: [...]' (or 'layers:'), not both", where)
        if "body" not in item and "layers" not in item:
            raise SpecError("repeat needs 'body: [...]' (the layers to repeat)", where)
        count_at = where.but(field="repeat")
        raw_count = item["repeat"]
        count = self.template(raw_count, scope, count_at)
        if not is_template(count) and (type(count) is not int or count < 0):
            shown_count = str(count).lower() if isinstance(count, bool) else repr(count)
            raise SpecError(f"repeat must be a whole number ≥ 0, got {shown_count}", count_at)
        if IN_CHANNELS in names_of(count):
            raise SpecError("a repeat count cannot use in (the channels entering it): the "
                            "structure must follow from parameters", count_at)
        key = "body" if "body" in item else "layers"
        inner = scope | {INDEX}
        name = self.name_template(item.get("name"), inner, where)
        cond = None if item.get("if") is None else self.template(
            item["if"], scope, self.loc(item, "if", spec_path, where.name, "if"))
        body = self.seq(item[key], f"{spec_path}.{key}", inner,
                        self.loc(item, key, f"{spec_path}.{key}", where.name))
        return RepeatT(name, cond, where, count, body,
                       trainable=self.trainable(item, spec_path, where))

    def keyword(self, head: str, value: Any, name: Template | None, cond: Template | None,
                spec_path: str, scope: frozenset[str], where: Location) -> Entry:
        sp = f"{spec_path}.{head}"
        if head == "sequence":
            if isinstance(value, dict):
                self.check_keys(value, head, ("layers", *ENTRY_KEYS), sp, where)
                if "layers" not in value:
                    raise SpecError("sequence needs 'layers: [...]'", where)
                value = value["layers"]
            return GroupT(name, cond, where, self.seq(value, sp, scope, where))
        if not isinstance(value, dict):
            raise SpecError(f"{head} needs a mapping, got {describe(value)}", where)
        allowed = {"residual": ("body", "shortcut", "add", *ENTRY_KEYS),
                   "branches": ("paths", "merge", *ENTRY_KEYS),
                   "split": ("paths", "sizes", *ENTRY_KEYS)}[head]
        self.check_keys(value, head, allowed, sp, where)
        if head == "residual":
            if "body" not in value:
                raise SpecError("residual needs 'body: [...]' (and optionally 'shortcut')", where)
            body = self.seq(value["body"], sp + ".body", scope,
                            self.loc(value, "body", sp + ".body", where.name))
            raw = value.get("shortcut")
            shortcut: SeqT | str | None
            if raw is None or raw == "identity":
                shortcut = None
            elif raw == "auto":
                shortcut = "auto"
            elif isinstance(raw, list):
                shortcut = self.seq(raw, sp + ".shortcut", scope,
                                    self.loc(value, "shortcut", sp + ".shortcut", where.name))
            else:
                raise SpecError(f"shortcut must be a list of layers, 'auto' or 'identity', got "
                                f"{shown(str(raw))}", self.loc(value, "shortcut", sp, where.name,
                                                               "shortcut"))
            add = self.template(value.get("add", True), scope,
                                self.loc(value, "add", sp, where.name, "add"))
            if not is_template(add) and not isinstance(add, bool):
                raise SpecError(f"add must be true or false, got {describe(add)}",
                                self.loc(value, "add", sp, where.name, "add"))
            return ResidualT(name, cond, where, body, shortcut, add)  # type: ignore[arg-type]
        paths = value.get("paths")
        if not isinstance(paths, list) or not paths:
            raise SpecError(f"{head} needs 'paths': a list of layer lists", where)
        seqs = tuple(self.seq(p, f"{sp}.paths[{i}]", scope,
                              self.loc(paths, i, f"{sp}.paths[{i}]", where.name))
                     for i, p in enumerate(paths))
        if head == "branches":
            merge = value.get("merge", "concat")
            if merge not in MERGES:
                raise SpecError(f"merge must be concat, add, mul or first, got {shown(str(merge))}",
                                self.loc(value, "merge", sp, where.name, "merge"))
            return BranchesT(name, cond, where, seqs, merge)
        sizes = value.get("sizes")
        sizes_at = self.loc(value, "sizes", sp, where.name, "sizes")
        compiled: tuple[Template, ...] | None = None
        if sizes is not None:
            if not isinstance(sizes, list) or len(sizes) != len(seqs):
                raise SpecError(f"sizes must list one whole number ≥ 1 per path ({len(seqs)})",
                                sizes_at)
            compiled = tuple(self.template(s, scope, sizes_at) for s in sizes)
            for s in compiled:
                if not is_template(s) and (type(s) is not int or s < 1):
                    raise SpecError(f"sizes must list one whole number ≥ 1 per path "
                                    f"({len(seqs)}), got {shown(str(s))}", sizes_at)
        return SplitT(name, cond, where, seqs, compiled)

    def check_keys(self, value: Mapping[str, Any], head: str, allowed: tuple[str, ...],
                   spec_path: str, where: Location) -> None:
        for key in value:
            if key not in allowed:
                raise SpecError(f"unknown key {shown(str(key))} in {head}"
                                f"{suggest(str(key), list(allowed))}; allowed: "
                                f"{', '.join(allowed)}", self.loc(value, key, spec_path,
                                                                  where.name))

    def use(self, head: str, value: Any, name: Template | None, cond: Template | None,
            spec_path: str, scope: frozenset[str], where: Location) -> Entry:
        params = self.block_params[head]
        args_raw = {} if value is None else value
        if not isinstance(args_raw, dict):
            raise SpecError(f"the arguments of block '{head}' must be a mapping, got "
                            f"{describe(args_raw)}", where)
        args: dict[str, Template] = {}
        marks: Marks = {}
        for key, arg in args_raw.items():
            if key in ENTRY_KEYS:
                continue
            at = self.loc(args_raw, key, spec_path, where.name)
            if key not in params:
                raise SpecError(f"block '{head}' has no parameter {shown(str(key))}"
                                f"{suggest(str(key), list(params))}; parameters: "
                                f"{', '.join(params) or 'none'}", at)
            args[key] = self.template(arg, scope, at)
            if at.line is not None:
                marks[key] = (at.line, at.column or 0)
        for key, default in params.items():
            if default is None and key not in args:
                raise SpecError(f"block '{head}' needs parameter '{key}'", where)
        self.uses.setdefault(self.current, set()).add(head)
        return UseT(name, cond, where, head, args, marks)



def _dotted(name: Template | None) -> bool:
    return isinstance(name, str) and "." in name


def nest_dotted(entries: list[Entry], errors: list[ConvcalcError]) -> list[Entry]:
    """Dotted names as the nested levels they spell, as they read before names became one level
    each: `stem.0`, `stem.1` side by side are `- sequence: {name: stem, layers: [0, 1]}`.
    Refused only where two paths would collide: a level the dots open is also another entry's
    name at that level, or entries that share it are not side by side."""
    out: list[Entry] = []
    members: dict[str, list[Entry]] = {}
    opened: dict[str, Entry] = {}
    last: str | None = None
    for e in entries:
        if not _dotted(e.name):
            out.append(e)
            last = None
            continue
        assert isinstance(e.name, str)
        head, rest = e.name.split(".", 1)
        if head == last:
            members[head].append(replace(e, name=rest))
            continue
        if head in opened:
            first = opened[head]
            out.append(BadT(None, None, e.where))
            last = None
            errors.append(SpecError(
                f"name {shown(e.name)} puts this entry in level '{head}', which {_at(first)} "
                "opened and the entries since have closed: the two paths would collide; keep the "
                f"entries of '{head}' side by side, or write '- sequence: {{name: {head}, "
                "layers: [...]}'", e.where.but(field="name")))
            continue
        opened[head] = e
        members[head] = [replace(e, name=rest)]
        out.append(e)  # replaced by its level below
        last = head
    names = _level_names(e for e in out if not _dotted(e.name))
    nested: list[Entry] = []
    for e in out:
        if not _dotted(e.name):
            nested.append(e)
            continue
        head = str(e.name).split(".", 1)[0]
        if head in names:
            errors.append(SpecError(
                f"name {shown(str(e.name))} puts this entry in a level '{head}', but "
                f"{_at(names[head])} is already called {head}"
                f"{' (its kind)' if names[head].name is None else ''}: the two paths would "
                "collide; rename one of them", e.where.but(field="name")))
            nested.append(BadT(None, None, e.where))
            continue
        body = SeqT(tuple(nest_dotted(members[head], errors)), e.where)
        nested.append(GroupT(head, None, e.where.but(name=head), body))
    return nested


def _dotted_warning(entries: list[Entry]) -> str:
    first = entries[0]
    name = str(first.name)
    head, rest = name.rsplit(".", 1)
    line = f" at line {first.where.line}" if first.where.line is not None else ""
    count = f"; {len(entries)} such names" if len(entries) > 1 else ""
    return (f"dotted names read as nested levels ({name}{line} is {rest} in level {head}"
            f"{count}); they are deprecated and will be refused in a future release: write "
            f"the outer level as a named sequence, '- sequence: {{name: {head.split('.')[0]}, "
            "layers: [...]}'")


def _level_names(entries: Iterable[Entry]) -> dict[str, Entry]:
    """The literal names entries take at this level: their own, a layer's kind when unnamed,
    and those of unnamed sequences' and residuals' bodies (which open no level)."""
    found: dict[str, Entry] = {}
    for e in entries:
        if isinstance(e.name, str):
            found.setdefault(e.name, e)
        elif e.name is None and isinstance(e, LayerT) and isinstance(e.kind, str):
            found.setdefault(e.kind, e)
        elif e.name is None and isinstance(e, GroupT | ResidualT):
            for k, v in _level_names(e.body.items).items():
                found.setdefault(k, v)
    return found


def _at(e: Entry) -> str:
    line = f" at line {e.where.line}" if e.where.line is not None else ""
    return f"the entry {e.where.path}{line}" if e.where.path else f"an entry{line}"


@cache
def _fields_of_kind(kind: str) -> frozenset[str]:
    """A layer kind's field names (without `kind`), looked up once per kind."""
    return frozenset(KINDS[kind].model_fields) - {"kind"}


def _some_kind_has(key: Any) -> bool:
    """Whether some layer kind has the field `key` (not `kind` or `name`): the kinds' modules are
    imported in registry order only until one has it (`bias`: the first, conv)."""
    return key not in ("kind", "name") and any(key in _fields_of_kind(k) for k in REGISTRY)


_CONSTANTS = frozenset((int, bool, float, type(None)))
"""Types of YAML values that compile to themselves (see compile_value)."""

_NOWHERE = Location()
"""A placeholder location: an error raised with it gets the real one filled in."""


def _name_of(item: Any) -> str | None:
    if isinstance(item, dict):
        name = item.get("name")
        if name is None and len(item) == 1:
            inner = next(iter(item.values()))
            if isinstance(inner, dict):
                name = inner.get("name")
        return name if isinstance(name, str) and "$" not in name else None
    return None


def _params(raw: Any, where: Location, what: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(f"{what} must be a mapping of name: default (null = required)", where)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not _IDENTIFIER.fullmatch(key):
            raise SpecError(f"parameter name {shown(str(key))} must be a word (letters, digits, "
                            "_)", where)
        if key in BUILTIN_NAMES or key in FUNCTIONS or key in ("in", "true", "false"):
            raise SpecError(f"parameter name '{key}' is taken (a built-in name or function)",
                            where)
        try:
            out[key] = param_value(value)
        except NumberError as e:
            raise SpecError(f"parameter '{key}': {e}", where) from None
    return out


def _structure_checks(compiler: Compiler, blocks: dict[str, BlockDef], root: SeqT,
                      where: Location) -> list[str]:
    """Block recursion and nesting depth, without recursion through block uses (a chain of a
    thousand blocks is fine to check); returns warnings (blocks never used)."""
    graph = {b: sorted(compiler.uses.get(b, set())) for b in blocks}
    # cycles: iterative depth-first search with colours
    colour: dict[str, int] = {}
    for start in blocks:
        if colour.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        trail: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                colour[node] = 1
                trail.append(node)
            if i < len(graph[node]):
                stack.append((node, i + 1))
                nxt = graph[node][i]
                if colour.get(nxt) == 1:
                    cycle = [*trail[trail.index(nxt):], nxt]
                    raise SpecError(f"block '{nxt}' uses itself ({' → '.join(cycle)})",
                                    blocks[nxt].where)
                if not colour.get(nxt):
                    stack.append((nxt, 0))
            else:
                colour[node] = 2
                trail.pop()
    # depth, blocks in dependency order (Kahn: each block once its uses are known)
    depth: dict[str, int] = {}
    waiting = {b: len(set(deps)) for b, deps in graph.items()}
    users: dict[str, list[str]] = {}
    for b, deps in graph.items():
        for d in set(deps):
            users.setdefault(d, []).append(b)
    ready = [b for b, n in waiting.items() if n == 0]
    while ready:
        b = ready.pop()
        depth[b] = _seq_depth(blocks[b].body, depth)
        if depth[b] > MAX_NESTING:
            raise SpecError(f"blocks nest deeper than {MAX_NESTING} levels (through block "
                            f"'{b}'); flatten the spec", blocks[b].where)
        for user in users.get(b, ()):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if _seq_depth(root, depth) > MAX_NESTING:
        raise SpecError(f"blocks nest deeper than {MAX_NESTING} levels; flatten the spec", where)
    if compiler.dynamic_kinds:
        return []
    used: set[str] = set()
    todo = list(compiler.uses.get("", set()))
    while todo:
        b = todo.pop()
        if b not in used:
            used.add(b)
            todo.extend(compiler.uses.get(b, set()))
    return [f"block '{b}' is defined but never used" for b in blocks if b not in used]


def _seq_depth(seq: SeqT, blocks: Mapping[str, int]) -> int:
    best = 0
    for e in seq.items:
        if isinstance(e, UseT):
            d = 1 + blocks.get(e.block, 0)
        elif isinstance(e, GroupT | RepeatT):
            d = 1 + _seq_depth(e.body, blocks)
        elif isinstance(e, ResidualT):
            d = 1 + max(_seq_depth(e.body, blocks), _seq_depth(e.shortcut, blocks)
                        if isinstance(e.shortcut, SeqT) else 0)
        elif isinstance(e, BranchesT | SplitT):
            d = 1 + max(_seq_depth(p, blocks) for p in e.paths)
        else:
            d = 1
        best = max(best, d)
    return best


def compile_network(data: Any, file: str | None = None) -> Network:
    """The compiled spec. Raises SpecError for a spec that cannot be walked at all (not a
    mapping, no layers, a block that uses itself); every other problem is kept in
    `Network.problems` and reported by the walk together with what it finds, in file order."""
    where = Location(file=file)
    if not isinstance(data, dict):
        raise SpecError(f"a network spec must be a mapping with 'input' and 'layers', got "
                        f"{describe(data)}", where)
    compiler = Compiler(file)
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(f"unknown top-level key {shown(str(key))}"
                            f"{suggest(str(key), list(TOP_KEYS))}; allowed: "
                            f"{', '.join(TOP_KEYS)}", compiler.loc(data, key, str(key)))
    if "layers" not in data:
        raise SpecError("missing 'layers': the list of layers", where)
    if data["layers"] is None or data["layers"] == []:
        raise SpecError("'layers' is empty: a network needs at least one layer (e.g. "
                        "'layers: [{conv: {out: 64, kernel: 3}}]')",
                        compiler.loc(data, "layers", "layers"))
    top_params = _params(data.get("params"), compiler.loc(data, "params", "params"), "params")
    compiler.top_params = frozenset(top_params)
    scope = compiler.top_params | {IN_CHANNELS}
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SpecError(f"'defaults' must be a mapping of field: value, got "
                        f"{describe(defaults)}", where)
    for key, value in defaults.items():
        at = compiler.loc(defaults, key, f"defaults.{key}")
        if not _some_kind_has(key):
            all_fields = {f for m in models() for f in m.model_fields} - {"kind", "name"}
            raise SpecError(f"no layer kind has a field {shown(str(key))}"
                            f"{suggest(str(key), sorted(all_fields))}", at)
        compiler.defaults[key] = compiler.template(value, compiler.top_params, at)
    raw_blocks = data.get("blocks") or {}
    if not isinstance(raw_blocks, dict):
        raise SpecError(f"'blocks' must be a mapping of name: definition, got "
                        f"{describe(raw_blocks)}", where)
    bodies: dict[str, tuple[Any, Location, str]] = {}
    for bname, definition in raw_blocks.items():
        bwhere = compiler.loc(raw_blocks, bname, f"blocks.{bname}")
        if not isinstance(bname, str) or bname in KINDS or bname in BLOCK_KEYWORDS or (
                bname in KIND_ALIASES):
            raise SpecError(f"block name {shown(str(bname))} is already a layer kind or "
                            "keyword", bwhere)
        problem = name_problem(bname) if not bname.startswith("$") else "a block name cannot " \
            "start with $"
        if problem:
            raise SpecError(problem, bwhere)
        if isinstance(definition, list):
            compiler.block_params[bname] = {}
            bodies[bname] = (definition, bwhere, f"blocks.{bname}")
            continue
        if not isinstance(definition, dict) or "layers" not in definition:
            raise SpecError("a block needs 'layers: [...]' and optional 'params: {name: "
                            "default}'", bwhere)
        extra = [k for k in definition if k not in ("params", "layers")]
        if extra:
            raise SpecError(f"unknown key {shown(str(extra[0]))} in block; allowed: params, "
                            "layers", bwhere)
        compiler.block_params[bname] = _params(definition.get("params"), bwhere, "params")
        bodies[bname] = (definition["layers"], bwhere, f"blocks.{bname}.layers")
    compiler.raw_blocks = dict(raw_blocks)
    blocks: dict[str, BlockDef] = {}
    for bname, (body, bwhere, sp) in bodies.items():
        compiler.current = bname
        bscope = scope | frozenset(compiler.block_params[bname])
        blocks[bname] = BlockDef(bname, compiler.block_params[bname],
                                 compiler.seq(body, sp, bscope, bwhere), bwhere)
    compiler.current = ""
    name = data.get("name", "network")
    name_at = compiler.loc(data, "name", "name")
    if not isinstance(name, str):
        raise SpecError(f"'name' must be text, got {describe(name)}", name_at)
    name_template: Template | None = None
    if "$" in name:
        try:
            compiled = compiler.template(name, compiler.top_params, name_at)
            name_template = compiled if is_template(compiled) else None
        except ConvcalcError as e:
            compiler.errors.append(e)
    cf = data.get("channels_first", False)
    if type(cf) is not bool:
        raise SpecError("channels_first must be true or false",
                        compiler.loc(data, "channels_first", "channels_first"))
    root = compiler.seq(data["layers"], "layers", scope, compiler.loc(data, "layers", "layers"))
    warnings = _structure_checks(compiler, blocks, root, where)
    if compiler.dotted:
        warnings.insert(0, _dotted_warning(compiler.dotted))
    return Network(name, data.get("input"), cf, top_params, blocks, compiler.defaults, root,
                   file, tuple(warnings), tuple(compiler.errors),
                   compiler.loc(data, "input", "input"), name_template, name_at)
