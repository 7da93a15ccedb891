"""The tool list as clients receive it: light schemas, clean descriptions (issue 20: 73k characters before).

Pydantic writes full JSON schemas; an assistant pays for every character of `tools/list` before the user says
anything. Listed instead:
- input schemas with their definitions inlined and no pydantic titles, null defaults, size caps or ``anyOf [X, null]``
  for an optional argument (leaving it out is how a caller says "none"); the server still validates with the full
  model;
- output schemas as deep as clients validate: an object schema with its top-level properties typed, nested
  objects and arrays by their JSON type only (structuredContent still validates against it);
- descriptions without the docstring's source indentation.
"""

from __future__ import annotations

import inspect
from typing import Any

from mcp_types import Tool

_NULL = {"type": "null"}
# Not listed: pydantic's titles (the property name says it), the inlined definitions, and caps on list and text
# sizes that only guard the server (it still enforces them, naming the argument, in one line).
_UNLISTED = frozenset({"title", "$defs", "maxItems", "maxLength"})


def clean_description(text: str | None) -> str | None:
    """A docstring as one readable text: no source indentation, no blank lines around it."""
    return inspect.cleandoc(text) if text else text


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = {k: v for k, v in defs[ref.removeprefix("#/$defs/")].items() if k != "description"}
        return {**target, **{k: v for k, v in schema.items() if k != "$ref"}}  # the using property describes it
    return schema


def _light(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """One schema node, references inlined, titles and null defaults dropped, ``X | None`` read as X."""
    if not isinstance(schema, dict) or depth > 20:  # the input models are not recursive; the bound is a guard
        return schema
    node = _resolve(schema, defs)
    options = node.get("anyOf")
    if isinstance(options, list) and _NULL in options and len(options) == 2 and node.get("default") is None:
        (only,) = [o for o in options if o != _NULL]
        rest = {k: v for k, v in node.items() if k not in ("anyOf", "default")}
        node = {**_resolve(only, defs), **rest}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _UNLISTED or (key == "default" and value in (None, [])):
            continue
        if key == "properties":
            out[key] = {name: _light(sub, defs, depth + 1) for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _light(value, defs, depth + 1)
        elif key in ("anyOf", "oneOf", "allOf"):
            out[key] = [_light(sub, defs, depth + 1) for sub in value]
        else:
            out[key] = value
    return out


def light_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return _light(schema, schema.get("$defs", {}))


def _json_types(schema: dict[str, Any], defs: dict[str, Any]) -> list[str]:
    """The JSON types a value of this schema can have ([] when any)."""
    node = _resolve(schema, defs)
    if "anyOf" in node or "oneOf" in node:
        types: list[str] = []
        for sub in node.get("anyOf") or node.get("oneOf") or []:
            sub_types = _json_types(sub, defs)
            if not sub_types:
                return []
            types += [t for t in sub_types if t not in types]
        return types
    kind = node.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return list(kind)
    if "properties" in node:
        return ["object"]
    if "enum" in node and all(isinstance(v, str) for v in node["enum"]):
        return ["string"]
    return []


def shallow_output_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """An object schema with each top-level property's JSON type(s); nested structure is left to the text and
    to get_anime's documentation. Required stays required only where the value can never be null."""
    if not schema:
        return schema
    defs = schema.get("$defs", {})
    properties: dict[str, Any] = {}
    for name, sub in (schema.get("properties") or {}).items():
        types = _json_types(sub, defs)
        properties[name] = {"type": types[0] if len(types) == 1 else types} if types else {}
    required = [n for n in schema.get("required", []) if "null" not in _json_types(schema["properties"][n], defs)]
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def light_tool(tool: Tool) -> Tool:
    """The tool as listed: light input schema, shallow output schema, clean description, no per-tool icon (the
    server's icon is on its implementation info, once)."""
    return tool.model_copy(
        update={
            "description": clean_description(tool.description),
            "input_schema": light_input_schema(tool.input_schema),
            "output_schema": shallow_output_schema(tool.output_schema),
            "icons": None,
        }
    )
