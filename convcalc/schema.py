"""JSON Schema of the network spec format, generated from the layer models (for editors)."""

from __future__ import annotations

from typing import Any

from convcalc.layers import KIND_ALIASES, KINDS

PARAM = {"type": "string", "pattern": r"^\$", "description": "a parameter: $name or ${expr}"}
COND = {"anyOf": [{"type": "boolean"}, PARAM], "description": "keep the entry only when true"}
TRAINABLE = {"type": "boolean", "description": "false: the parameters of every layer inside "
             "get no gradient in a training step (as --freeze)"}
NAME = {"type": "string", "description": "one level of the layer's path (may hold ${…}; a "
                                         "dotted name is deprecated: it reads as nested "
                                         "levels)"}


def _fields_schema(kind: str) -> dict[str, Any]:
    """The fields of one kind (without `kind`), each also accepting a $parameter."""
    model = KINDS[kind]
    raw = model.model_json_schema(mode="validation")
    defs = raw.get("$defs", {})
    props: dict[str, Any] = {}
    for name, raw_prop in raw.get("properties", {}).items():
        if name == "kind":
            continue
        prop = defs[raw_prop["$ref"].split("/")[-1]] if "$ref" in raw_prop else raw_prop
        props[name] = {"anyOf": [prop, PARAM]} if name != "name" else NAME
    return {"type": "object", "properties": props, "additionalProperties": False}


def network_schema() -> dict[str, Any]:
    kinds = sorted({*KINDS, *KIND_ALIASES})
    entry_ref = {"$ref": "#/$defs/entry"}
    layer_list = {"type": "array", "items": entry_ref}
    with_kind = []
    short_forms = []
    for kind in kinds:
        fields = _fields_schema(KIND_ALIASES.get(kind, kind))
        inner = {**fields, "properties": {**fields["properties"], "if": COND, "trainable": TRAINABLE}}
        full = {**fields, "properties": {"kind": {"const": kind}, **fields["properties"],
                                         "if": COND, "trainable": TRAINABLE}, "required": ["kind"]}
        with_kind.append(full)
        short_forms.append({"type": "object", "properties": {
            kind: {"anyOf": [inner, {"type": "null"}]}, "name": NAME, "if": COND, "trainable": TRAINABLE},
            "required": [kind], "additionalProperties": False})
    count = {"anyOf": [{"type": "integer", "minimum": 0}, PARAM]}
    size = {"anyOf": [{"type": "integer", "minimum": 1}, PARAM]}
    by_param = {"type": "object", "required": ["kind"], "description": "a layer or block whose "
                "kind a parameter names", "properties": {"kind": PARAM, "name": NAME, "if": COND,
                                                          "trainable": TRAINABLE}}
    blocks = [
        {"type": "object", "required": ["repeat"], "additionalProperties": False,
         "properties": {"repeat": count, "body": layer_list, "layers": layer_list,
                        "name": NAME, "if": COND, "trainable": TRAINABLE}},
        {"type": "object", "required": ["sequence"], "additionalProperties": False,
         "properties": {"sequence": {"anyOf": [layer_list, {
             "type": "object", "additionalProperties": False,
             "properties": {"layers": layer_list, "name": NAME, "if": COND, "trainable": TRAINABLE}}]},
             "name": NAME, "if": COND, "trainable": TRAINABLE}},
        {"type": "object", "required": ["residual"], "additionalProperties": False,
         "properties": {"name": NAME, "if": COND, "trainable": TRAINABLE, "residual": {
             "type": "object", "additionalProperties": False, "required": ["body"],
             "properties": {"name": NAME, "if": COND, "trainable": TRAINABLE, "body": layer_list, "add": COND,
                            "shortcut": {"anyOf": [
                                layer_list, {"enum": ["auto", "identity"]}, {"type": "null"}]}}}}},
        {"type": "object", "required": ["branches"], "additionalProperties": False,
         "properties": {"name": NAME, "if": COND, "trainable": TRAINABLE, "branches": {
             "type": "object", "additionalProperties": False, "required": ["paths"],
             "properties": {"name": NAME, "if": COND, "trainable": TRAINABLE,
                            "paths": {"type": "array", "items": layer_list, "minItems": 1},
                            "merge": {"enum": ["concat", "add", "mul", "first"]}}}}},
        {"type": "object", "required": ["split"], "additionalProperties": False,
         "properties": {"name": NAME, "if": COND, "trainable": TRAINABLE, "split": {
             "type": "object", "additionalProperties": False, "required": ["paths"],
             "properties": {"name": NAME, "if": COND, "trainable": TRAINABLE,
                            "paths": {"type": "array", "items": layer_list, "minItems": 1},
                            "sizes": {"type": "array", "items": size}}}}},
    ]
    block_use = {"type": "object", "minProperties": 1, "maxProperties": 4,
                 "description": "a block from 'blocks:' used by name: {block: {param: value}}",
                 "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                 "properties": {"name": NAME, "if": COND, "trainable": TRAINABLE}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "convcalc network spec",
        "type": "object",
        "required": ["layers"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "input": {"anyOf": [
                {"type": "string", "description": "H×W×C such as 224x224x3"},
                {"type": "object", "required": ["channels"], "additionalProperties": False,
                 "properties": {"channels": {"type": "integer", "minimum": 1},
                                "spatial": {"type": "array", "maxItems": 3,
                                            "items": {"type": "integer", "minimum": 1}}}}]},
            "channels_first": {"type": "boolean"},
            "params": {"type": "object", "description": "the network's parameters and their "
                       "defaults (null = required); set with --set name=value",
                       "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}},
            "defaults": {"type": "object"},
            "blocks": {"type": "object", "additionalProperties": {"anyOf": [
                layer_list,
                {"type": "object", "required": ["layers"], "additionalProperties": False,
                 "properties": {"params": {"type": "object"}, "layers": layer_list}}]}},
            "layers": layer_list,
        },
        "$defs": {
            "entry": {"anyOf": [
                {"type": "string", "description": "a kind with no fields (relu, bn) or a block"},
                *with_kind, by_param, *short_forms, *blocks, block_use]},
        },
    }
