"""Write: spec items as YAML in the examples' style.

Takes: spec items and untrusted text (a model's names, a file's name). Gives: YAML lines
(`yaml_items`), one mapping per item (`item_mapping`), and the encoders every key, value and
comment goes through (`quoted`, `scalar`, `key`, `flow`, `comment`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from fractions import Fraction
from typing import Any

import yaml

from convcalc.bridges.items import BlockUse, Branches, Leaf, Repeat, Residual, Sequence, Split
from convcalc.bridges.naming import HIDDEN

# --- YAML in the examples' style ---------------------------------------------------------------
# Every key, value and comment goes through these functions: a model's names and a file's name
# are untrusted text, and must read back exactly as they were (never as YAML of their own).

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}
_TEMPLATE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")


def quoted(text: str) -> str:
    """`text` as a one-line double-quoted YAML scalar, by PyYAML's own emitter: line breaks
    (\\n, \\r, U+0085, U+2028, U+2029), controls and what YAML cannot hold raw are escaped."""
    out = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=math.inf)
    out = out.rstrip("\n").removesuffix("\n...").rstrip("\n")
    # what the emitter leaves raw but a reader cannot see (U+00A0, other spaces, format
    # characters) is escaped too: inside double quotes every escape is ASCII, so a raw
    # character is never part of one
    return "".join(c if c.isprintable() else
                   f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
                   for c in out)


def scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ".nan"
        return repr(v) if math.isfinite(v) else ".inf" if v > 0 else "-.inf"
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        exact = v.denominator & (v.denominator - 1) == 0  # a power of two: exact in binary
        return repr(float(v)) if exact else quoted(f"{v.numerator}/{v.denominator}")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(scalar(x) for x in v) + "]"
    text = str(v)
    if _TEMPLATE.fullmatch(text) or (_PLAIN.fullmatch(text) and text.lower() not in _RESERVED):
        return text
    return quoted(text)


def comment(text: str) -> str:
    """`text` for a `# …` comment: one line, every control, format or line-break character
    written as its Python escape (`\\n`, `\\u2028`), so nothing in it can end the comment."""
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if ch == "\\" or unicodedata.category(ch) in HIDDEN else ch
                   for ch in str(text))


def key(k: Any) -> str:
    """A mapping key: as a scalar, except that `y` and `n` stay plain (a parameter `n`; every
    YAML 1.2 reader, PyYAML and convcalc's take them as text)."""
    return k if k in ("y", "n") else scalar(k)


def flow(d: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{key(k)}: {scalar(v)}" for k, v in d.items()) + "}"


def item_mapping(x: Any) -> Any:
    """The spec mapping (what the YAML loads to) of one item."""
    if isinstance(x, Leaf):
        if x.fields.get("name") == x.kind:
            del x.fields["name"]
        return {x.kind: dict(x.fields)} if x.fields else x.kind
    if isinstance(x, Sequence):
        return {"sequence": {"name": x.name, "layers": [item_mapping(y) for y in x.items]}}
    if isinstance(x, Residual):
        body: dict[str, Any] = {"body": [item_mapping(y) for y in x.body]}
        if x.shortcut:
            body["shortcut"] = [item_mapping(y) for y in x.shortcut]
        return {"residual": body}
    if isinstance(x, Branches):
        return {"branches": {"merge": x.merge, "paths": [[item_mapping(y) for y in p]
                                                         for p in x.paths]}}
    if isinstance(x, Split):
        sp: dict[str, Any] = {"paths": [[item_mapping(y) for y in p] for p in x.paths]}
        if x.sizes is not None:
            sp = {"sizes": x.sizes, **sp}
        return {"split": sp}
    if isinstance(x, BlockUse):
        args = {"name": x.name, **x.args} if x.name is not None else dict(x.args)
        return {x.block: args} if args else x.block
    if isinstance(x, Repeat):
        out: dict[str, Any] = {"repeat": x.count}
        if x.name is not None:
            out["name"] = x.name
        out["body"] = [item_mapping(y) for y in x.body]
        return out
    raise TypeError(type(x))


def yaml_items(items: list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for x in items:
        if isinstance(x, Leaf):
            if x.fields.get("name") == x.kind:
                del x.fields["name"]
            kind = key(x.kind)
            text = f"{pad}- {kind}: {flow(x.fields)}" if x.fields else f"{pad}- {kind}"
            if x.comment:
                text += f"  # {comment(x.comment)}"
            lines.append(text)
        elif isinstance(x, BlockUse):
            args = {"name": x.name, **x.args} if x.name is not None else dict(x.args)
            block = key(x.block)
            lines.append(f"{pad}- {block}: {flow(args)}" if args else f"{pad}- {block}")
        elif isinstance(x, Sequence):
            lines += [f"{pad}- sequence:", f"{pad}    name: {scalar(x.name)}",
                      f"{pad}    layers:", *yaml_items(x.items, indent + 6)]
        elif isinstance(x, Residual):
            lines += [f"{pad}- residual:", f"{pad}    body:", *yaml_items(x.body, indent + 6)]
            if x.shortcut:
                lines += [f"{pad}    shortcut:", *yaml_items(x.shortcut, indent + 6)]
        elif isinstance(x, Branches | Split):
            head = "branches" if isinstance(x, Branches) else "split"
            lines.append(f"{pad}- {head}:")
            if isinstance(x, Branches):
                lines.append(f"{pad}    merge: {scalar(x.merge)}")
            elif x.sizes is not None:
                lines.append(f"{pad}    sizes: {scalar(x.sizes)}")
            lines.append(f"{pad}    paths:")
            for p in x.paths:
                if not p:
                    lines.append(f"{pad}      - []")
                    continue
                inner = yaml_items(p, indent + 8)
                inner[0] = f"{pad}      - " + inner[0].lstrip()
                lines += inner
        elif isinstance(x, Repeat):
            lines.append(f"{pad}- repeat: {scalar(x.count)}")
            if x.name is not None:
                lines.append(f"{pad}  name: {scalar(x.name)}")
            lines += [f"{pad}  body:", *yaml_items(x.body, indent + 4)]
    return lines
