"""Safe YAML loading with limits, keeping the line and column of every mapping key and list item.

Safe loading only (no Python tags). Scalars resolve as YAML 1.2's core schema does, and the
YAML 1.1 forms that change a number's meaning without a word are refused: `010` (octal 8 in
1.1), `0x10`, `0b1`, `1:30` (sexagesimal 90), `1_000`. `yes`/`no`/`on`/`off` and dates stay
text. Integers have at most `MAX_INT_DIGITS` digits; a float keeps the decimal it was written
as. Limits are checked before the work they bound: bytes read (streams and devices too),
nesting depth (from a pre-scan that is a true upper bound, else from the event stream), alias
expansion (cycles refused), all before anything is built. Duplicate keys are refused; keys a
merge key (`<<: *base`) brings may be overridden.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import IO, Any

import yaml

from convcalc.errors import Location, SpecError
from convcalc.limits import (
    MAX_EXPANDED_NODES,
    MAX_FILE_BYTES,
    MAX_INT,
    MAX_INT_DIGITS,
    MAX_YAML_DEPTH,
)

MAX_DEPTH = MAX_YAML_DEPTH


class MarkedDict(dict[Any, Any]):
    """A mapping that remembers where each key stood: marks[key] = (line, column), 1-based."""

    marks: dict[Any, tuple[int, int]]
    start: tuple[int, int]


class MarkedList(list[Any]):
    """A list that remembers where each item stood."""

    marks: list[tuple[int, int]]
    start: tuple[int, int]


class YamlFloat(float):
    """A float from YAML that remembers the decimal it was written as (`0.1` stays 1/10)."""

    text: str


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_QUIRK = "tag:convcalc,2026:yaml11-number"


class _Loader(_BASE):  # type: ignore[misc]
    """SafeLoader (libyaml's C parser when present) that records marks and refuses duplicates."""

    file: str | None = None
    alias_free = False
    """Set when the text holds no alias: every node is then built once, and collections may
    skip construct_object's memo and recursion bookkeeping."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._resolved: dict[str, str] = {}

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        # a plain scalar's tag depends on its text alone; specs repeat the same few words and
        # numbers thousands of times, so remember each answer rather than rerun the regexes
        if kind is yaml.ScalarNode and implicit == (True, False):
            tag = self._resolved.get(value)
            if tag is None:
                tag = self._resolved[value] = super().resolve(kind, value, implicit)
            return tag
        return str(super().resolve(kind, value, implicit))

    def fail(self, node: yaml.Node, message: str) -> SpecError:
        line, col = _mark(node)
        return SpecError(message, Location(file=self.file, line=line, column=col))

    def _child(self, node: yaml.Node) -> Any:
        """construct_object(node, deep=True), short-cut for plain text and decimal integers
        (immutable, so an alias to one needs no memo) and, in an alias-free document, for
        mappings and lists; everything else takes the full path."""
        tag = node.tag
        cls = type(node)
        if cls is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            if tag == _INT:
                assert isinstance(node, yaml.ScalarNode)
                # the tag's pattern says decimal digits: under 19 characters it is within int64
                text = node.value
                return int(text) if len(text) < MAX_INT_DIGITS else self.construct_int(node)
        elif self.alias_free:
            if isinstance(node, yaml.MappingNode) and tag == _MAP:
                return self.construct_mapping(node)
            if isinstance(node, yaml.SequenceNode) and tag == _SEQ:
                return self.construct_sequence(node)
        return self.construct_object(node, deep=True)

    def construct_int(self, node: yaml.ScalarNode) -> int:
        text = node.value
        if len(text.lstrip("+-")) > MAX_INT_DIGITS:
            raise self.fail(node, f"an integer of more than {MAX_INT_DIGITS} digits "
                                  f"({len(text.lstrip('+-')):,} digits); sizes are int64")
        value = int(text)
        if abs(value) > MAX_INT:
            raise self.fail(node, f"{text} is larger than 2^63 − 1 (PyTorch sizes are int64)")
        return value

    def construct_float(self, node: yaml.ScalarNode) -> float:
        text = node.value
        special = {".inf": "inf", ".nan": "nan"}.get(text.lstrip("+-").lower())
        value = YamlFloat(float(text[0] + special if special and text[0] in "+-" else
                                special or text))
        value.text = text
        return value

    def construct_quirk(self, node: yaml.ScalarNode) -> Any:
        raise self.fail(node, f"{node.value!r} reads differently in YAML 1.1 and 1.2 (a leading "
                              "zero, 0x…/0o…/0b…, 1:30 or 1_000): write a plain decimal number, "
                              "or quote it to mean text")

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        result = MarkedDict()
        result.marks = {}
        result.start = _mark(node)
        explicit = sum(1 for key, _ in node.value if key.tag != "tag:yaml.org,2002:merge")
        self.flatten_mapping(node)
        merged = len(node.value) - explicit
        if not merged:  # no merge keys (the common case): each key once, in order
            for key_node, value_node in node.value:
                key = self._child(key_node)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise self.fail(key_node, "a mapping key must be text")
                if key in result:
                    raise self.fail(key_node, f"duplicate key {_key_text(key)} (first at line "
                                              f"{result.marks[key][0]})")
                result[key] = self._child(value_node)
                result.marks[key] = _mark(key_node)
            return result
        # flatten_mapping puts what merge keys bring first; explicit keys may override those
        from_merge: set[Any] = set()
        for i, (key_node, value_node) in enumerate(node.value):
            key = self._child(key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise self.fail(key_node, "a mapping key must be text")
            if i >= merged and key in result and key not in from_merge:
                raise self.fail(key_node, f"duplicate key {_key_text(key)} (first at line "
                                          f"{result.marks[key][0]})")
            result[key] = self._child(value_node)
            result.marks[key] = _mark(key_node)
            if i < merged:
                from_merge.add(key)
            else:
                from_merge.discard(key)
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
        result = MarkedList([self._child(child) for child in node.value])
        result.marks = [_mark(child) for child in node.value]
        result.start = _mark(node)
        return result


def _key_text(key: Any) -> str:
    text = repr(key) if isinstance(key, str) else str(key)
    return text if len(text) <= 40 else text[:37] + "..."


# YAML 1.2 core schema, plus a tag for the YAML 1.1 number forms that are refused
_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_QUIRK, r"^[-+]?(?:0[0-9_]+(?:\.[0-9_]*)?|0[xXoObB][0-9a-fA-F_]*|[0-9][0-9_]*(?::[0-9_]+)+"
             r"(?:\.[0-9_]*)?|[0-9]+_[0-9_]*(?:\.[0-9_]*)?)$", "-+0123456789"),
    (_INT, r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
    (_FLOAT, r"^[-+]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+"
             r"|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
]:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_Loader.add_constructor(_MAP, _Loader.construct_mapping)
_Loader.add_constructor(_SEQ, _Loader.construct_sequence)
_Loader.add_constructor(_INT, _Loader.construct_int)
_Loader.add_constructor(_FLOAT, _Loader.construct_float)
_Loader.add_constructor(_QUIRK, _Loader.construct_quirk)


_UNQUOTED_EXPR = re.compile(r"[{\[,:]\s*\$\{")
"""`${` right after a flow indicator: an expression YAML would read as a mapping."""
_BRACKETS = re.compile(r"[^\[\]{}]+")
_LEADING = re.compile(r"^[ ?:-]*", re.MULTILINE)


def _surely_shallow(text: str) -> bool:
    """True when the text cannot nest deeper than MAX_DEPTH. An upper bound: in block style a
    line opens levels only by its indentation and the indicators that lead it (`- `, `? `,
    `: `, at most one column each), plus one mapping (`key:`) after them; a list at its key's
    indentation adds at most one level per two columns; flow levels cost a bracket. Quoted
    text only makes the bound higher."""
    depth = deepest = 0
    for ch in _BRACKETS.sub("", text):
        depth = depth + 1 if ch in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    leading = max(map(len, _LEADING.findall(text)), default=0)
    return deepest + 2 * (leading + 1) + 2 < MAX_DEPTH


def _check_shape(text: str, file: str | None) -> int:
    """Refuse deep nesting from the event stream (iterative), before composing recursively.
    Returns the number of aliases (only a document with aliases can expand)."""
    depth = 0
    aliases = 0
    try:
        for event in yaml.parse(text, Loader=_BASE):
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line = mark.line + 1 if mark else None
                    col = mark.column + 1 if mark else None
                    raise SpecError(f"nesting deeper than {MAX_DEPTH} levels; flatten the spec "
                                    "or use named blocks",
                                    Location(file=file, line=line, column=col))
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as e:
        raise _yaml_error(e, file, text) from None
    return aliases


def _expanded_size(node: yaml.Node, file: str | None) -> int:
    """Nodes in the document once every alias is expanded (memoised: linear in the graph); an
    alias inside the collection it refers to (`&a [*a]`) would never end, and is refused. So is
    nesting deeper than MAX_DEPTH once aliases are expanded (`&a [*b]` inside `&b [...]`, 400
    times: the event stream's depth counts an alias as one node)."""
    memo: dict[int, int] = {}
    depths: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        children: list[yaml.Node] = []
        if isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        if done:
            open_nodes.discard(key)
            total = 1 + sum(memo[id(c)] for c in children)
            memo[key] = min(total, MAX_EXPANDED_NODES + 1)
            if children:
                depths[key] = 1 + max(depths[id(c)] for c in children)
                if depths[key] > MAX_DEPTH:
                    line, col = _mark(current)
                    raise SpecError(f"nesting deeper than {MAX_DEPTH} levels once aliases are "
                                    "expanded; flatten the spec or use named blocks",
                                    Location(file=file, line=line, column=col))
            else:
                depths[key] = 1 if isinstance(current, yaml.CollectionNode) else 0
            continue
        if key in memo:
            continue
        open_nodes.add(key)
        stack.append((current, True))
        for c in children:
            if id(c) in open_nodes:
                line, col = _mark(c)
                raise SpecError("an alias refers to a collection that contains it (an endless "
                                "document)", Location(file=file, line=line, column=col))
            if id(c) not in memo:
                stack.append((c, False))
    return memo[id(node)]


def _yaml_error(e: yaml.YAMLError, file: str | None, text: str | None = None) -> SpecError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    if text is not None and mark is not None and "${" in text and "flow" in str(
            getattr(e, "context", "") or "") + str(problem) + str(e):
        lines = text.splitlines()
        around = lines[max(0, mark.line - 1):mark.line + 1]
        if any(_UNQUOTED_EXPR.search(line) for line in around):
            problem = (f"{problem} (an expression inside {{…}} or […] must be quoted, "
                       "e.g. {out: \"${520 / 33}\"}: YAML reads its braces and commas)")
    if "could not determine a constructor" in str(e):
        problem = "tags such as !!python/... are not allowed (safe YAML only)"
    loc = Location(file=file, line=mark.line + 1 if mark else None,
                   column=mark.column + 1 if mark else None)
    if "maximum nesting depth" in str(problem):
        # libyaml (PyYAML ≥ 6.0.4) stops at its own depth limit while scanning ahead
        return SpecError(f"nesting deeper than {MAX_DEPTH} levels; flatten the spec or use named "
                         "blocks", loc)
    return SpecError(f"not valid YAML: {problem}", loc)


def load_yaml_text(text: str, file: str | None = None) -> Any:
    """Parse one YAML document safely, within the limits."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise SpecError(f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
                        Location(file=file))
    if not text.strip():
        raise SpecError("the file is empty; a network needs at least 'input' and 'layers'",
                        Location(file=file))
    # the event pass bounds nesting before the recursive composer runs and counts aliases;
    # skip it when a cheap scan proves the text shallow and alias-free
    aliases = 0 if _surely_shallow(text) and "*" not in text else _check_shape(text, file)
    try:
        loader = _Loader(text)
        loader.file = file
        loader.alias_free = not aliases
        try:
            node = loader.get_single_node()
            if node is None:
                raise SpecError("the file holds no document", Location(file=file))
            if aliases and _expanded_size(node, file) > MAX_EXPANDED_NODES:
                raise SpecError(f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                                "(an alias bomb?)", Location(file=file))
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise _yaml_error(e, file, text) from None
    except RecursionError:
        raise SpecError(f"nesting too deep (limit {MAX_DEPTH})", Location(file=file)) from None


def check_data(data: Any, file: str | None = None) -> None:
    """Refuse a spec given as Python objects (the API's mapping) that nests deeper than YAML may
    (MAX_DEPTH), holds itself (a dict inside itself: endless), or whose shared parts expand
    past MAX_EXPANDED_NODES: the same limits as a YAML file, checked by iteration (memoised
    per object: linear in the distinct objects)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_ids: set[int] = set()
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        value, done = stack.pop()
        key = id(value)
        children = [c for c in ([*value.keys(), *value.values()] if isinstance(value, dict)
                                else value) if isinstance(c, dict | list | tuple)]
        if done:
            open_ids.discard(key)
            size[key] = min(len(value) + sum(size[id(c)] for c in children),
                            MAX_EXPANDED_NODES + 1)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if depth[key] > MAX_DEPTH:
                raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", Location(file=file))
            if size[key] > MAX_EXPANDED_NODES:
                raise SpecError(f"more than {MAX_EXPANDED_NODES:,} values once shared parts are "
                                "counted each time they are used", Location(file=file))
            continue
        if key in size:
            continue
        open_ids.add(key)
        if len(open_ids) > MAX_DEPTH:
            raise SpecError(f"nesting deeper than {MAX_DEPTH} levels", Location(file=file))
        stack.append((value, True))
        for c in children:
            if id(c) in open_ids:
                raise SpecError("a mapping or list contains itself (an endless spec)",
                                Location(file=file))
            if id(c) not in size:
                stack.append((c, False))


def read_capped(stream: IO[bytes], name: str) -> bytes:
    """At most MAX_FILE_BYTES bytes; one byte more means the file is too large (a device such as
    /dev/zero or an endless pipe is refused after reading that much, not read for ever)."""
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB (reading "
                        "stopped there)", Location(file=name))
    return data


def load_yaml_file(path: str | Path) -> Any:
    """A YAML file's document; `-` reads standard input."""
    name = str(path)
    if not name:
        raise SpecError("the file name is empty; name a spec file, a bundled example "
                        "(convcalc examples) or - for standard input", Location(file="''"))
    try:
        if name == "-":
            raw = read_capped(sys.stdin.buffer, "<stdin>")
            name = "<stdin>"
        else:
            p = Path(path)
            if p.is_dir():
                raise SpecError("is a directory, not a spec file", Location(file=name))
            with p.open("rb") as handle:
                raw = read_capped(handle, name)
    except FileNotFoundError:
        from convcalc.bundled import names
        from convcalc.spec import suggest

        hint = suggest(Path(name).stem, names())
        raise SpecError(f"no such file{hint.replace('did you mean', 'did you mean the example')}"
                        " (bundled examples: convcalc examples)", Location(file=name)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", Location(file=name)) from None
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", Location(file=name)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", Location(file=name)) from None
    return load_yaml_text(text, name)
