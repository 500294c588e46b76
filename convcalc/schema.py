"""JSON Schema of the network spec format, generated from the layer models (for editors)."""

from __future__ import annotations

from typing import Any

from convcalc.layers import KIND_ALIASES, KINDS

PARAM = {"type": "string", "pattern": r"^\$", "description": "a block parameter: $name or ${expr}"}


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
        props[name] = {"anyOf": [prop, PARAM]} if name != "name" else prop
    return {"type": "object", "properties": props, "additionalProperties": False}


def network_schema() -> dict[str, Any]:
    kinds = sorted({*KINDS, *KIND_ALIASES})
    entry_ref = {"$ref": "#/$defs/entry"}
    layer_list = {"type": "array", "items": entry_ref}
    with_kind = []
    short_forms = []
    for kind in kinds:
        fields = _fields_schema(KIND_ALIASES.get(kind, kind))
        full = {**fields, "properties": {"kind": {"const": kind}, **fields["properties"]},
                "required": ["kind"]}
        with_kind.append(full)
        short_forms.append({"type": "object", "properties": {
            kind: {"anyOf": [fields, {"type": "null"}]}, "name": {"type": "string"}},
            "required": [kind], "additionalProperties": False})
    count = {"anyOf": [{"type": "integer", "minimum": 1}, PARAM]}
    blocks = [
        {"type": "object", "required": ["repeat"], "additionalProperties": False,
         "properties": {"repeat": count, "body": layer_list, "layers": layer_list,
                        "name": {"type": "string"}}},
        {"type": "object", "required": ["sequence"], "additionalProperties": False,
         "properties": {"sequence": {"anyOf": [layer_list, {
             "type": "object", "properties": {"layers": layer_list}}]},
             "name": {"type": "string"}}},
        {"type": "object", "required": ["residual"], "additionalProperties": False,
         "properties": {"name": {"type": "string"}, "residual": {
             "type": "object", "additionalProperties": False, "required": ["body"],
             "properties": {"name": {"type": "string"}, "body": layer_list, "shortcut": {"anyOf": [
                 layer_list, {"enum": ["auto", "identity"]}, {"type": "null"}]}}}}},
        {"type": "object", "required": ["branches"], "additionalProperties": False,
         "properties": {"name": {"type": "string"}, "branches": {
             "type": "object", "additionalProperties": False, "required": ["paths"],
             "properties": {"name": {"type": "string"},
                            "paths": {"type": "array", "items": layer_list, "minItems": 1},
                            "merge": {"enum": ["concat", "add"]}}}}},
        {"type": "object", "required": ["split"], "additionalProperties": False,
         "properties": {"name": {"type": "string"}, "split": {
             "type": "object", "additionalProperties": False, "required": ["paths"],
             "properties": {"name": {"type": "string"},
                            "paths": {"type": "array", "items": layer_list, "minItems": 1},
                            "sizes": {"type": "array", "items": {"type": "integer",
                                                                 "minimum": 1}}}}}},
    ]
    block_use = {"type": "object", "minProperties": 1, "maxProperties": 2,
                 "description": "a block from 'blocks:' used by name: {block: {param: value}}",
                 "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                 "properties": {"name": {"type": "string"}}}
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
                *with_kind, *short_forms, *blocks, block_use]},
        },
    }
