"""Load an inventory file: YAML with line numbers, validation, one line per problem.

Every problem reads `file:line: key.path: what was expected, what was found`,
so an SRE can fix a whole inventory from one run.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from opscheck.errors import InventoryError
from opscheck.inventory.compose import compose, needs_compose
from opscheck.inventory.hosts import unknown_selectors
from opscheck.inventory.model import Inventory
from opscheck.units import describe_input

Loc = tuple  # a key path: ("postgres", 1, "dsn")


# libyaml's parser when PyYAML has it: the pure-Python one takes about 1 s for 1,000 entries.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InventoryLoader(_Base):
    """SafeLoader with YAML 1.2 booleans: only true/false, so `on:` stays a key and `no` a string."""


InventoryLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
InventoryLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_inventory(path: str | Path) -> Inventory:
    """The validated inventory at `path`, or InventoryError listing every problem."""
    path = Path(path)
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InventoryError([f"{shown}: inventory file not found"]) from None
    except IsADirectoryError:
        raise InventoryError([f"{shown}: is a directory, expected an inventory YAML file"]) from None
    except PermissionError:
        raise InventoryError([f"{shown}: cannot read inventory (permission denied)"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError([f"{shown}: not UTF-8 text (byte {exc.start})"]) from None
    data, lines = parse_yaml(text, shown)
    if needs_compose(data):  # include: and vars: (inventory/compose.py); lines become file:line
        data, lines = compose(data, lines, path)
    if data is None:
        raise InventoryError([f"{shown}: empty inventory (expected a mapping with environment, hosts and check sections)"])
    if not isinstance(data, dict):
        raise InventoryError([f"{_line(shown, lines, ())}expected a mapping at the top level, found {describe_input(data)}"])
    try:
        inventory = Inventory.model_validate(data, context={"base_dir": str(path.parent)})
    except ValidationError as exc:
        raise InventoryError(format_errors(exc, shown, lines)) from None
    problems = [_line(shown, lines, loc) + msg for loc, msg in cross_check(inventory)]
    if problems:
        raise InventoryError(problems)
    inventory._path = shown
    inventory._sha256 = hashlib.sha256(raw + b"".join(getattr(lines, "included", ()))).hexdigest()  # includes count
    return inventory


def parse_yaml(text: str, shown: str) -> tuple[Any, dict[Loc, int]]:
    """Data and the line of every key path; duplicate keys are errors, not silent overrides."""
    loader = InventoryLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        raise InventoryError([f"{where}: YAML syntax error: {exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise InventoryError([f"{shown}: YAML error: {exc}"]) from None
    if node is None:
        return None, {}
    lines: dict[Loc, int] = {}
    duplicates: list[str] = []
    _index(node, (), lines, duplicates, shown)
    if duplicates:
        raise InventoryError(duplicates)
    try:
        data = loader.construct_document(node)  # from the same node tree: parsed once
    except yaml.YAMLError as exc:
        raise InventoryError([f"{shown}: YAML error: {exc}"]) from None
    finally:
        loader.dispose()
    return data, lines


def _index(node, loc: Loc, lines: dict, duplicates: list, shown: str) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if name in seen:
                where = _dotted(loc + (name,))
                duplicates.append(f"{shown}:{key.start_mark.line + 1}: {where}: duplicate key (the later one would silently win)")
            seen.add(name)
            _index(value, loc + (name,), lines, duplicates, shown)
            lines[loc + (name,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _index(value, loc + (i,), lines, duplicates, shown)


def format_errors(exc: ValidationError, shown: str, lines: dict[Loc, int]) -> list[str]:
    out: list[tuple[int, str]] = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and "[" in part))
        out.append((_lineno(lines, loc), _line(shown, lines, loc) + _message(error, loc)))
    # In the file's order: the model's field order is the order sections were declared in.
    out.sort(key=lambda pair: pair[0])
    return list(dict.fromkeys(text for _, text in out))


def _lineno(lines: dict[Loc, int], loc: Loc) -> int:
    return next((lines[loc[:cut]] for cut in range(len(loc), -1, -1) if loc[:cut] in lines), 0)


def _message(error: dict, loc: Loc) -> str:
    kind, found = error["type"], error.get("input")
    where = _dotted(loc)
    if kind == "missing":
        return f"{where}: required"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = ""
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            hint = f"; did you mean {close[0]!r}?"
        listing = f" (expected one of: {', '.join(allowed)})" if allowed else ""
        return f"{where}: unknown key{listing}{hint}"
    if kind in ("value_error", "assertion_error"):
        message = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return f"{where}: {message}" if where else message
    expected = {
        "string_type": "a string",
        "list_type": "a list",
        "dict_type": "a mapping",
        "model_type": "a mapping",
        "model_attributes_type": "a mapping",
        "int_type": "a whole number",
        "int_parsing": "a whole number",
        "int_from_float": "a whole number",
        "float_type": "a number",
        "float_parsing": "a number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
    }.get(kind)
    if expected is None:
        if kind == "literal_error":
            expected = f"one of {error['ctx']['expected']}"
        else:
            return f"{where}: {error['msg']}, found {describe_input(found)}"
    return f"{where}: expected {expected}, found {describe_input(found)}"


def _allowed_keys(loc: Loc) -> list[str]:
    """Field names of the model at `loc`, found by walking the annotations from the root."""
    annotation: Any = Inventory
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            annotation = field.annotation
        else:
            args = typing.get_args(annotation)
            annotation = args[-1] if args else None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def cross_check(inventory: Inventory) -> list[tuple[Loc, str]]:
    """Problems only the whole inventory shows: `on:` naming no group or host."""
    problems = []
    groups = ", ".join(sorted(inventory.hosts)) or "none"
    for section, index, item in inventory.items():
        for name in unknown_selectors(inventory.hosts, item.on):
            problems.append(((section, index, "on"), f"{section}[{index}].on: unknown group or host {name!r} (groups: {groups})"))
    return problems


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line(shown: str, lines: dict[Loc, int], loc: Loc) -> str:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            at = lines[loc[:cut]]
            return f"{at}: " if isinstance(at, str) else f"{shown}:{at}: "  # str: file:line of an include
    return f"{shown}: "
