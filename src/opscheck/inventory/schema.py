"""A JSON Schema (draft 2020-12) of the inventory, generated from the pydantic models.

Editors (yaml-language-server, PyCharm) and CI linters read it for completion and
validation. It is derived, never written by hand, so it follows whatever models the
inventory is assembled from. The models accept more than their Python types say:
`BeforeValidator`s turn `85%` into a float, `on: app` into a list, `disk: {…}` into
a one-entry list. The generator below describes what such a validator *accepts*:
known ones precisely (durations, sizes and percentages as patterns, severities and
schedules as enums), unknown ones permissively, so the schema never rejects a file
the loader accepts; the loader stays the authority on value rules (warn below crit,
`on:` naming a known group).
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from opscheck import units
from opscheck.verdict import SCHEDULES, SEVERITIES

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://opscheck.dev/schema/inventory.json"

NUMBER = r"\d+(?:\.\d+)?"
DURATION = {
    "type": "string",
    "pattern": rf"^\s*{NUMBER}\s*(ms|s|m|h|d|w)\s*$",
    "description": f"{units.DURATION_HINT} (ms, s, m, h, d, w); a bare number is refused",
}
PERCENT = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*(100(\.0+)?|\d{1,2}(\.\d+)?)\s*%\s*$"},
        {"type": "number", "minimum": 0, "maximum": 100},
    ],
    "description": f"{units.PERCENT_HINT}, 0% to 100%",
}
SIZE = {
    "anyOf": [
        {"type": "string", "pattern": rf"^\s*{NUMBER}\s*([kKmMgGtTpP]i?[bB]?|[bB])?\s*$"},
        {"type": "integer", "minimum": 0},
    ],
    "description": f"{units.SIZE_HINT}; a bare integer is bytes",
}
SECRET = {"type": "string", "pattern": r"^(env:.+|file:.+)$", "description": "env:NAME or file:/path; never the secret itself"}
MAYBE_SECRET = {"type": "string", "minLength": 1, "description": "a value, or env:NAME / file:/path to read it from outside the inventory"}
HOST = {
    "anyOf": [
        {"type": "string", "pattern": "://", "description": "a testinfra host spec: local://, ssh://user@host, docker://name"},
        {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1}, "spec": {"type": "string", "pattern": "://"}},
            "required": ["name", "spec"],
            "additionalProperties": False,
        },
    ]
}
ANY = {"description": "validated by opscheck when the inventory loads"}

# Validators that only check their input: it already has the inner type.
# `_plain_types` is every model's YAML 1.2 guard (types.Strict): it refuses, never converts.
_NARROWING = {"_regex", "_port", "_unit", "_name", "_endpoint", "_read_only", "_not_empty", "_plain_types", "_absolute"}


class InventoryJsonSchema(GenerateJsonSchema):
    """pydantic's generator, taught the inventory's own field types."""

    def is_instance_schema(self, schema):
        from opscheck.inventory.types import Secret

        if schema.get("cls") is Secret:
            return dict(MAYBE_SECRET)
        return super().is_instance_schema(schema)

    def function_wrap_schema(self, schema):
        # A secret field's validator says whether a literal is allowed (`literal_ok`).
        literal_ok = _closure(schema["function"]["function"]).get("literal_ok")
        if literal_ok is False:
            return dict(SECRET)
        return super().function_wrap_schema(schema)

    def function_before_schema(self, schema):
        function = schema["function"]["function"]
        name = getattr(function, "__name__", "")
        closure = _closure(function)
        if function is units.parse_duration:
            return dict(DURATION)
        if function is getattr(units, "parse_timeout", None):  # a duration above 0s, at most a day
            return {**DURATION, "description": f"{DURATION['description']}; above 0s, at most 1d"}
        if function is units.parse_percent:
            return dict(PERCENT)
        if function is units.parse_size:
            return dict(SIZE)
        if name == "parse_host":
            return dict(HOST)
        allowed = closure.get("allowed")
        if name == "check" and isinstance(allowed, tuple):
            return {"enum": list(allowed), "description": f"one of {', '.join(allowed)}"}
        inner = self.generate_inner(schema["schema"])
        if name in _NARROWING or schema["schema"].get("type") in ("model-fields", "dataclass-args"):
            # A model's own `mode="before"` validator normalises; the model describes its input.
            return inner
        if name in ("as_list", "str_or_list", "_words", "_switch", "_days", "_patterns", "convert", "control_tags", "_exit_codes"):
            return _widened(name, inner)
        return dict(ANY)


def _closure(function) -> dict[str, Any]:
    try:
        return dict(inspect.getclosurevars(function).nonlocals)
    except (TypeError, ValueError):
        return {}


def _widened(name: str, inner: dict) -> dict:
    """What the shorthand validators accept besides their inner type."""
    items = _items_of(inner)
    if name == "as_list":  # a single mapping stands for a one-entry list; null for none
        extra = [items] if items is not None else []
        return {"anyOf": [inner, *extra, {"type": "null"}]}
    if name in ("str_or_list", "_words"):  # `on: app`, `integrity: gzip`
        return {"anyOf": [inner, {"type": "string"}, {"type": "null"}]}
    if name == "_switch":  # Aspect: false turns it off, true keeps the defaults
        return {"anyOf": [inner, {"type": "boolean"}]}
    if name == "_days":  # keep_days: 7 or 36h
        return {"anyOf": [inner, dict(DURATION)]}
    if name == "convert":  # `max_age: 4h` or `min_count: 3` stand for their limits
        return {"anyOf": [inner, {"type": ["string", "number"]}]}
    if name == "control_tags":  # `tags: [pci]` or `tags: {cis: 5.2.1}`
        return {"anyOf": [{"type": "array", "items": {"type": "string"}},
                          {"type": "object", "additionalProperties": {"type": ["string", "number", "null"]}}]}
    if name == "_exit_codes":  # `exit: 0` stands for `exit: [0]`
        return {"anyOf": [inner, {"type": "integer", "minimum": 0, "maximum": 255}]}
    if name == "_patterns":  # `patterns: {error: "ERROR|CRITICAL"}`
        return {"type": "object", "additionalProperties": {"anyOf": [{"type": "string"}, _values_of(inner)]}}
    return dict(ANY)


def _items_of(schema: dict) -> dict | None:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "array" and "items" in option:
            return option["items"]
    return None


def _values_of(schema: dict) -> dict:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "object" and isinstance(option.get("additionalProperties"), dict):
            return option["additionalProperties"]
    return {}


def inventory_schema(model=None) -> dict:
    """The JSON Schema of `model` (the Inventory by default), ready to print."""
    if model is None:
        from opscheck.inventory.model import Inventory as model
    schema = model.model_json_schema(schema_generator=InventoryJsonSchema, mode="validation")
    _describe_sections(model, schema)
    _add_file_keys(schema)
    return {"$schema": DRAFT, "$id": SCHEMA_ID, **schema}


# The keys every entry shares (sections/common.py), as the README explains them.
COMMON = {
    "name": "how this entry reads in check ids and reports",
    "on": "host groups or host names this entry applies to (default: all)",
    "severity": "overrides the check's default severity",
    "schedule": "extra schedules this entry runs in besides the check's own (e.g. smoke)",
    "runbook": "a link or hint shown with the result",
    "timeout": "per probe; default defaults.timeout",
}


def _describe_sections(model, schema: dict) -> None:
    """Each section's description is its module's docstring (`system:` — per host: disk, …)."""
    import sys
    import typing

    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        annotation = field.annotation
        while typing.get_args(annotation):
            args = [a for a in typing.get_args(annotation) if isinstance(a, type) and hasattr(a, "model_fields")]
            if args:
                annotation = args[0]
                break
            annotation = typing.get_args(annotation)[0]
        module = sys.modules.get(getattr(annotation, "__module__", ""), None)
        doc = (module.__doc__ or "").strip().split("\n\n")[0] if module is not None and hasattr(annotation, "model_fields") else ""
        if name in properties and doc and "description" not in properties[name]:
            properties[name]["description"] = " ".join(doc.split())
    for definition in schema.get("$defs", {}).values():
        for key, text in COMMON.items():
            prop = definition.get("properties", {}).get(key)
            if prop is not None and "description" not in prop and "severity" in definition.get("properties", {}):
                prop["description"] = text


def _add_file_keys(schema: dict) -> None:
    """Keys the loader handles before validation (inventory/compose.py): include: and vars:."""
    properties = schema.setdefault("properties", {})
    properties.setdefault("include", {
        "description": "inventory files merged under this one (paths relative to this file); this file's keys win",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
    })
    properties.setdefault("vars", {
        "description": "variables for ${name} in any string of this file and its includes",
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    })
    hosts = properties.get("hosts")
    if isinstance(hosts, dict):  # `all` selects every host: never a group name
        hosts["propertyNames"] = {"not": {"const": "all"}}


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


__all__ = ["SCHEDULES", "SEVERITIES", "InventoryJsonSchema", "dumps", "inventory_schema"]
