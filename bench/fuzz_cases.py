"""Tool calls for the protocol fuzz (bench/fuzz.py, tests/server/test_fuzz.py): arguments drawn with
hypothesis from each tool's own input schema (as tools/list gives it), and mutations of them: wrong
types, huge values, odd Unicode (NUL, lone surrogates, direction overrides, combining marks), unknown keys,
arguments that are not an object. ``verdict`` says whether an answer is acceptable: an answer or a clear
error, never "failed unexpectedly", a traceback, a server path or an HTTP 5xx.

Generation is derandomized (the same seed gives the same calls), so a finding can be replayed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "mal-1\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202egnirts",
    "e\u0301\u0301\u0301",
    "\ufeff\uffff",
    "🙂" * 40,
    "\n\r\t\x0b\x0c",
    "%s%n%x{0}",
    "../../etc/passwd",
    "file:///etc/passwd",
    "mal-99999999999999999999999",
    "mal--1",
    "NaN",
    "null",
    "x" * 100_000,
]
HUGE = [10**30, -(10**30), 2**63, -(2**63) - 1, 1e308, -1e308, 5e-324, ["a"] * 5000, {"k" * 1000: 1}]
WRONG_TYPES = [None, True, False, 0, -1, 1.5, "", "1", [], {}, [[]], [None], {"a": {"b": {}}}]
ODD_CHARS = st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\u0301", "\uffff", "\U0010ffff", "🙂", "ß", "ア"])
odd_text = st.text(ODD_CHARS | st.characters(), max_size=40)
odd_value = st.sampled_from(ODD_STRINGS + HUGE + WRONG_TYPES) | odd_text | st.integers() | st.floats(allow_nan=False)

#: What no answer may contain: the generic failure, a traceback, a path of this server.
FORBIDDEN = re.compile(r"failed unexpectedly|Traceback|File \"|site-packages|\.py\"|/work/|/home/|/tmp/|/usr/lib")


def schema_strategy(schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> st.SearchStrategy:
    """Values valid for ``schema``, for the JSON Schema that pydantic writes for tool inputs ($defs/$ref,
    anyOf, enum, const, bounds, lengths, items, properties/required). hypothesis-jsonschema would do
    this but its latest release (0.23.1) calls a hypothesis internal that 6.170 removed (many.more)."""
    root = root if root is not None else schema
    if depth > 8:
        return st.none()
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return schema_strategy(root.get("$defs", {}).get(name, {}), root, depth + 1)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([schema_strategy(s, root, depth + 1) for s in schema[key]])
    if "allOf" in schema:
        return schema_strategy({k: v for s in schema["allOf"] for k, v in s.items()}, root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([schema_strategy({**schema, "type": k}, root, depth) for k in kind])
    if kind == "string":
        return st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 60))
    if kind in ("integer", "number"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + (1 if kind == "integer" else 1e-9)
        if "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - (1 if kind == "integer" else 1e-9)
        if kind == "integer":
            return st.integers(min_value=low, max_value=high)
        return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = schema_strategy(schema.get("items", {}), root, depth + 1)
        return st.lists(items, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = {k: schema_strategy(v, root, depth + 1) for k, v in properties.items()}
        return st.fixed_dictionaries(
            {k: v for k, v in fields.items() if k in required},
            optional={k: v for k, v in fields.items() if k not in required},
        )
    return st.none() | st.booleans() | st.integers() | st.text(max_size=20)  # {}: any JSON value


def mutate(args: Any, schema: dict[str, Any], data: st.DataObject) -> Any:
    """One mutation of valid ``args``: a property (or a nested one) replaced by an odd value, an unknown key added."""
    if not isinstance(args, dict):
        return args
    args = dict(args)
    keys = sorted(schema.get("properties", {})) + ["unknown_key"]
    key = data.draw(st.sampled_from(keys))
    current = args.get(key)
    if isinstance(current, dict) and current and data.draw(st.booleans()):
        inner = dict(current)
        inner[data.draw(st.sampled_from(sorted(inner)))] = data.draw(odd_value)
        args[key] = inner
    elif isinstance(current, list) and current and data.draw(st.booleans()):
        args[key] = [data.draw(odd_value), *current[1:]]
    else:
        args[key] = data.draw(odd_value)
    return args


def generate(tools: list[dict[str, Any]], count: int) -> list[tuple[str, Any, str]]:
    """About ``count`` calls (tool name, arguments, kind: valid / mutated / junk), the same number per tool."""
    cases: list[tuple[str, Any, str]] = []
    per_tool = max(1, count // max(1, len(tools)))
    for tool in sorted(tools, key=lambda t: t["name"]):
        cases += _generate_for(tool["name"], tool.get("inputSchema") or {}, per_tool)
    return cases


def _generate_for(name: str, schema: dict[str, Any], count: int) -> list[tuple[str, Any, str]]:
    cases: list[tuple[str, Any, str]] = []
    valid = schema_strategy(schema)

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,  # the same calls every run: a finding can be replayed
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["valid", "mutated", "mutated", "junk"]))
        if kind == "junk":
            args = data.draw(st.sampled_from([None, [], "x", 1, {"": None}]) | st.dictionaries(odd_text, odd_value))
        else:
            args = data.draw(valid)
            if kind == "mutated":
                args = mutate(args, schema, data)
        cases.append((name, args, kind))

    draw()
    return cases[:count]


def encodable(args: Any) -> bool:
    """Whether ``args`` can travel as JSON text (lone surrogates and infinities cannot: JSON has no form for them)."""
    try:
        json.dumps(args, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (UnicodeEncodeError, ValueError):
        return False
    return True


def verdict(status: int | None, body: str) -> str | None:
    """None when the answer is acceptable, else why not."""
    if status is not None and status >= 500:
        return f"HTTP {status}"
    found = FORBIDDEN.search(body)
    if found:
        return f"answer contains {found.group(0)!r}"
    return None
