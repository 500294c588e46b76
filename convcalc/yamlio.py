"""Safe YAML loading with limits, keeping the line and column of every mapping key and list item.

Safe loading only (python tags refused); alias bombs bounded by counting the expanded size of the
document; file size and nesting depth bounded before anything is built; duplicate keys refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from convcalc.errors import Location, SpecError

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 2_000_000


class MarkedDict(dict[Any, Any]):
    """A mapping that remembers where each key stood: marks[key] = (line, column), 1-based."""

    marks: dict[Any, tuple[int, int]]
    start: tuple[int, int]


class MarkedList(list[Any]):
    """A list that remembers where each item stood."""

    marks: list[tuple[int, int]]
    start: tuple[int, int]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


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

    def _child(self, node: yaml.Node) -> Any:
        """construct_object(node, deep=True), short-cut for plain text and decimal integers
        (immutable, so an alias to one needs no memo) and, in an alias-free document, for
        mappings and lists; everything else takes the full path."""
        tag = node.tag
        cls = type(node)
        if cls is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            value = node.value
            if tag == _INT and value.isascii() and value.isdigit() and (
                    value[0] != "0" or value == "0"):
                return int(value)
        elif self.alias_free:
            if isinstance(node, yaml.MappingNode) and tag == _MAP:
                return self.construct_mapping(node)
            if isinstance(node, yaml.SequenceNode) and tag == _SEQ:
                return self.construct_sequence(node)
        return self.construct_object(node, deep=True)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        result = MarkedDict()
        result.marks = {}
        result.start = _mark(node)
        self.flatten_mapping(node)
        for key_node, value_node in node.value:
            key = self._child(key_node)
            if not isinstance(key, str | int | float | bool) and key is not None:
                line, col = _mark(key_node)
                raise SpecError("a mapping key must be text",
                                Location(file=self.file, line=line, column=col))
            if key in result:
                line, col = _mark(key_node)
                raise SpecError(f"duplicate key '{key}' (first at line {result.marks[key][0]})",
                                Location(file=self.file, line=line, column=col))
            result[key] = self._child(value_node)
            result.marks[key] = _mark(key_node)
        return result

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> list[Any]:
        result = MarkedList([self._child(child) for child in node.value])
        result.marks = [_mark(child) for child in node.value]
        result.start = _mark(node)
        return result


_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _Loader.construct_sequence)


_BRACKETS = re.compile(r"[^\[\]{}]+")
_INDENT = re.compile(r"^[ -]*", re.MULTILINE)


def _surely_shallow(text: str) -> bool:
    """True when the text cannot nest deeper than MAX_DEPTH: every level needs one more
    bracket or one more column of indentation (quoted brackets only make this stricter)."""
    depth = deepest = 0
    for ch in _BRACKETS.sub("", text):
        depth = depth + 1 if ch in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    indent = max((len(m) for m in _INDENT.findall(text)), default=0)
    return deepest + indent < MAX_DEPTH


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
        raise _yaml_error(e, file) from None
    return aliases


def _expanded_size(node: yaml.Node) -> int:
    """Nodes in the document once every alias is expanded (memoised: linear in the graph)."""
    memo: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        key = id(current)
        if key in memo:
            continue
        children: list[yaml.Node] = []
        if isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        elif isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        if done:
            total = 1 + sum(memo[id(c)] for c in children)
            memo[key] = min(total, MAX_EXPANDED_NODES + 1)
            continue
        stack.append((current, True))
        stack.extend((c, False) for c in children if id(c) not in memo)
    return memo[id(node)]


def _yaml_error(e: yaml.YAMLError, file: str | None) -> SpecError:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    if "could not determine a constructor" in str(e):
        problem = "tags such as !!python/... are not allowed (safe YAML only)"
    if "maximum nesting depth" in str(problem):
        # libyaml (PyYAML ≥ 6.0.4) stops at its own depth limit while scanning ahead
        return SpecError(f"nesting deeper than {MAX_DEPTH} levels; flatten the spec or use named "
                         "blocks", Location(file=file, line=mark.line + 1 if mark else None,
                                            column=mark.column + 1 if mark else None))
    loc = Location(file=file, line=mark.line + 1 if mark else None,
                   column=mark.column + 1 if mark else None)
    return SpecError(f"not valid YAML: {problem}", loc)


def load_yaml_text(text: str, file: str | None = None) -> Any:
    """Parse one YAML document safely, within the limits."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
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
            if aliases and _expanded_size(node) > MAX_EXPANDED_NODES:
                raise SpecError(f"aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                                "(an alias bomb?)", Location(file=file))
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise _yaml_error(e, file) from None
    except RecursionError:
        raise SpecError(f"nesting too deep (limit {MAX_DEPTH})", Location(file=file)) from None


def load_yaml_file(path: str | Path) -> Any:
    p = Path(path)
    name = str(path)
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SpecError(f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB "
                            f"({size:,} bytes)", Location(file=name))
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SpecError("no such file", Location(file=name)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", Location(file=name)) from None
    except OSError as e:
        raise SpecError(f"cannot read: {e.strerror}", Location(file=name)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("not UTF-8 text", Location(file=name)) from None
    return load_yaml_text(text, name)
