"""Load an inventory file: YAML with line numbers, validation, one line per problem.

Every problem reads `file:line: key.path: what was expected, what was found`,
so an SRE can fix a whole inventory from one run.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import stat
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from opscheck.errors import InventoryError
from opscheck.inventory.compose import compose, needs_compose
from opscheck.inventory.hosts import ALL, host_name, unknown_selectors
from opscheck.inventory.model import Inventory
from opscheck.inventory.types import Secret
from opscheck.units import describe_input

Loc = tuple  # a key path: ("postgres", 1, "dsn")


# libyaml's parser when PyYAML has it: the pure-Python one takes about 1 s for 1,000 entries.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Bounds on what a file may make the loader do (issue 14: a billion-laughs file took 61 s,
# then MemoryError; a FIFO hung the run forever).
MAX_BYTES = 8 * 1024 * 1024
MAX_NODES = 100_000  # nodes after alias expansion; a 5,000-entry inventory has about 60,000
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
# YAML 1.2 core schema, the README's promise: `1:30` and `2030-02-30` are strings, `0777` is 777.
_CORE = {
    "bool": (r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    "null": (r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    "int": (r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    "float": (
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    "merge": (r"^(?:<<)$", "<"),
}
# Explicit tags a file may carry; anything else (!!python/object, !vault, !!timestamp, !!binary) is refused.
ALLOWED_TAGS = {_TAG + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge")}


class InventoryLoader(_Base):
    """SafeLoader reading YAML 1.2 core scalars: `on:` stays a key, `no` a string, `0777` 777."""

    yaml_implicit_resolvers: dict = {}

    def construct_yaml_int(self, node) -> int:
        text = self.construct_scalar(node)
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text, 10)

    def construct_yaml_float(self, node) -> float:
        text = self.construct_scalar(node).lower()
        if text.endswith(".inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        if text == ".nan":
            return float("nan")
        return float(text)


for _name, (_regexp, _first) in _CORE.items():
    InventoryLoader.add_implicit_resolver(_TAG + _name, re.compile(_regexp), list(_first))
InventoryLoader.add_constructor(_TAG + "int", InventoryLoader.construct_yaml_int)
InventoryLoader.add_constructor(_TAG + "float", InventoryLoader.construct_yaml_float)


def read_file(path: Path, what: str) -> bytes:
    """The bytes of a regular file, or one line saying why not: a FIFO, device or directory
    is refused before it is opened (reading a FIFO blocks until someone writes to it)."""
    shown = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InventoryError([f"{shown}: {what} file not found"]) from None
    except OSError as exc:
        raise InventoryError([f"{shown}: cannot read {what} file ({exc.strerror or exc})"]) from None
    if stat.S_ISDIR(info.st_mode):
        raise InventoryError([f"{shown}: is a directory, expected {_article(what)} YAML file"]) from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file"
        raise InventoryError([f"{shown}: is {kind}, expected {_article(what)} YAML file"])
    if info.st_size > MAX_BYTES:
        raise InventoryError([f"{shown}: {what} file is {info.st_size} bytes, more than the {MAX_BYTES // 1024 // 1024} MiB allowed"])
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except PermissionError:
        raise InventoryError([f"{shown}: cannot read {what} (permission denied)"]) from None
    except OSError as exc:
        raise InventoryError([f"{shown}: cannot read {what} file ({exc.strerror or exc})"]) from None
    if len(raw) > MAX_BYTES:
        raise InventoryError([f"{shown}: {what} file is more than the {MAX_BYTES // 1024 // 1024} MiB allowed"])
    return raw


def _article(what: str) -> str:
    return f"an {what}" if what[0] in "aeiou" else f"a {what}"


def decode(raw: bytes, shown: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InventoryError([f"{shown}: not UTF-8 text (byte {exc.start})"]) from None


def load_inventory(path: str | Path) -> Inventory:
    """The validated inventory at `path`, or InventoryError listing every problem, sorted by line."""
    path = Path(path)
    shown = str(path)
    raw = read_file(path, "inventory")
    text = decode(raw, shown)
    data, lines, problems = parse_yaml(text, shown, partial=True)
    if not problems and needs_compose(data):  # include: and vars: (inventory/compose.py); lines become file:line
        data, lines = compose(data, lines, path)
    if data is None and not problems:
        raise InventoryError([f"{shown}: empty inventory (expected a mapping with environment, hosts and check sections)"])
    if not isinstance(data, dict):
        if problems:
            raise InventoryError(sort_problems(problems))
        raise InventoryError([f"{_line(shown, lines, ())}expected a mapping at the top level, found {describe_input(data)}"])
    problems += [_line(shown, lines, loc) + msg for loc, msg in raw_cross_check(data)]
    try:
        inventory = Inventory.model_validate(data, context={"base_dir": str(path.parent)})
    except ValidationError as exc:
        raise InventoryError(sort_problems(problems + format_errors(exc, shown, lines))) from None
    problems += [_line(shown, lines, loc) + msg for loc, msg in cross_check(inventory)]
    if problems:
        raise InventoryError(sort_problems(problems))
    inventory._path = shown
    inventory._lines = lines  # for checks of later layers that name a line (registry.load_inventory)
    inventory._sha256 = hashlib.sha256(raw + b"".join(getattr(lines, "included", ()))).hexdigest()  # includes count
    return inventory


def sort_problems(problems: list[str]) -> list[str]:
    """Each problem once, by line: a whole file's problems in the order an editor shows them."""

    def line_of(problem: str) -> tuple[int, int]:
        match = re.match(r"^.*?:(\d+)(?::(\d+))?: ", problem)
        return (int(match.group(1)), int(match.group(2) or 0)) if match else (0, 0)

    return sorted(dict.fromkeys(problems), key=line_of)


def parse_yaml(text: str, shown: str, partial: bool = False):
    """Data and the line of every key path; duplicate keys, unknown tags and alias bombs are errors.

    With `partial`, returns (data, lines, problems) so that the caller can add the validation's
    problems to those of the file's structure (duplicate keys) and report all of them at once.
    """
    loader = InventoryLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
            raise InventoryError([f"{where}: YAML syntax error: {exc.problem or exc}"]) from None
        except yaml.YAMLError as exc:
            raise InventoryError([f"{shown}: YAML error: {str(exc).splitlines()[0]}"]) from None
        except RecursionError:
            raise InventoryError([f"{shown}: YAML nested too deeply"]) from None
        if node is None:
            return (None, {}, []) if partial else (None, {})
        lines: dict[Loc, int] = {}
        problems: list[str] = []
        fatal: list[str] = []
        _Walk(shown, lines, problems, fatal).visit(node, (), ())
        if fatal or (problems and not partial):
            raise InventoryError(sort_problems(fatal + problems))
        try:
            data = loader.construct_document(node)  # from the same node tree: parsed once
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = f"{shown}:{mark.line + 1}" if mark else shown
            raise InventoryError([f"{where}: YAML error: {exc.problem or exc}"]) from None
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise InventoryError([f"{shown}: YAML error: {str(exc).splitlines()[0]}"]) from None
    finally:
        loader.dispose()
    return (data, lines, problems) if partial else (data, lines)


class _Walk:
    """One pass over the node tree: lines of key paths, duplicate keys, tags, alias expansion."""

    def __init__(self, shown: str, lines: dict, problems: list, fatal: list):
        self.shown, self.lines, self.problems, self.fatal = shown, lines, problems, fatal
        self.count = 0
        self.stop = False  # an alias bomb or recursion: walking on would not end

    def visit(self, node, loc: Loc, path: tuple) -> None:
        if self.stop:
            return
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_NODES:
            top = loc[:1]
            self.fatal.append(
                f"{self.shown}:{self.lines.get(top, line)}: {_dotted(top) or 'document'}: more than {MAX_NODES} values once YAML aliases are "
                "expanded (an alias bomb?): write the values out or use fewer aliases"
            )
            self.stop = True
            return
        if any(node is seen for seen in path):
            self.fatal.append(f"{self.shown}:{line}: {_dotted(loc) or 'document'}: a YAML alias refers to itself (recursive data)")
            self.stop = True
            return
        if len(path) > MAX_DEPTH:
            self.fatal.append(f"{self.shown}:{line}: {_dotted(loc[:2]) or 'document'}: nested more than {MAX_DEPTH} levels deep")
            self.stop = True
            return
        if node.tag not in ALLOWED_TAGS:
            self.fatal.append(
                f"{self.shown}:{line}: {_dotted(loc) or 'document'}: unsupported YAML tag {node.tag.replace(_TAG, '!!')!r} "
                "(opscheck files hold plain values; secrets come from env:NAME or file:/path)"
            )
            return
        self.lines.setdefault(loc, line)
        path = path + (node,)
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for key, value in node.value:
                if key.tag not in ALLOWED_TAGS:
                    self.visit(key, loc, path)
                    continue
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
                if key.tag == _TAG + "int" and isinstance(name, str) and name.lstrip("-+").isdigit():
                    name = int(name, 10) if not name.startswith(("0o", "0x")) else name
                if isinstance(key, yaml.ScalarNode) and key.tag == _TAG + "merge":
                    self.visit(value, loc, path)
                    continue
                if name in seen:
                    where = _dotted(loc + (name,))
                    self.problems.append(f"{self.shown}:{key.start_mark.line + 1}: {where}: duplicate key (the later one would silently win)")
                seen.add(name)
                self.lines[loc + (name,)] = key.start_mark.line + 1
                self.visit(value, loc + (name,), path)
                self.lines[loc + (name,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, value in enumerate(node.value):
                self.visit(value, loc + (i,), path)


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
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(error.get("ctx", {}).values()), "")
        words = {"greater_than_equal": "of {} or more", "greater_than": "above {}", "less_than_equal": "of at most {}", "less_than": "below {}"}
        return f"{where}: expected a number {words[kind].format(bound)}, found {describe_input(found)}"
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
        "finite_number": "a finite number",
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
            field = _field(annotation, part) if isinstance(part, str) else None
            if field is None:
                return []
            annotation = field.annotation
        else:
            args = typing.get_args(annotation)
            annotation = args[-1] if args else None
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        # The keys a file uses: `from`, not the attribute `sender` it is stored in.
        return [field.alias or name for name, field in annotation.model_fields.items()]
    return []


def _field(model: type[BaseModel], key: str):
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


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
    """Problems only the whole, validated inventory shows: unknown `on:` (with Ansible groups),
    two entries giving one check id, secrets equal to a name used elsewhere."""
    problems = []
    if inventory.ansible_inventory:  # otherwise raw_cross_check has done it, before validation
        groups = ", ".join(sorted(inventory.hosts)) or "none"
        for section, index, item in inventory.items():
            for name in unknown_selectors(inventory.hosts, item.on):
                problems.append(((section, index, "on"), f"{section}[{index}].on: unknown group or host {name!r} (groups: {groups})"))
    problems += secrets_named_like_names(inventory)
    return problems


_RUNNER_SIDE = {"http", "tcp"}  # `on:` is an error of its own there


def raw_cross_check(data: dict) -> list[tuple[Loc, str]]:
    """`on:` naming no group or host, found on the raw data so that it shows with the other problems."""
    if data.get("ansible_inventory"):
        return []
    hosts = data.get("hosts", {"local": ["local://"]})
    if not isinstance(hosts, dict):
        return []
    known = {ALL, *map(str, hosts)}
    for specs in hosts.values():
        for spec in specs if isinstance(specs, list) else [specs]:
            if isinstance(spec, str) and "://" in spec:
                known.add(host_name(spec.strip()))
            elif isinstance(spec, dict) and isinstance(spec.get("name"), str):
                known.add(spec["name"])
    groups = ", ".join(sorted(map(str, hosts))) or "none"
    problems = []
    for section in Inventory.model_fields:
        entries = data.get(section)
        if section in _RUNNER_SIDE or entries is None:
            continue
        for index, entry in enumerate([entries] if isinstance(entries, dict) else entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict) or "on" not in entry or (section == "tls" and "file" not in entry):
                continue
            selectors = [entry["on"]] if isinstance(entry["on"], str) else entry["on"]
            if not isinstance(selectors, list):
                continue
            for name in selectors:
                if isinstance(name, str) and name not in known:
                    problems.append(((section, index, "on"), f"{section}[{index}].on: unknown group or host {name!r} (groups: {groups})"))
    return problems


def secrets_named_like_names(inventory: Inventory) -> list[tuple[Loc, str]]:
    """A secret equal to a name of the inventory would mask that name in every report."""
    names = {inventory.environment: "the environment name"}
    for group, hosts in inventory.hosts.items():
        names.setdefault(group, f"the host group {group!r}")
        for host in hosts:
            names.setdefault(host.name, f"the host name {host.name!r}")
    for section, index, item in inventory.items():
        if item.name:
            names.setdefault(item.name, f"the name of {section}[{index}]")
    problems = []
    for loc, secret in _secrets(inventory, ()):
        value = secret.reveal()
        clash = names.get(value) or next((what for name, what in names.items() if value in name), None)
        if clash:
            problems.append((loc, f"{_dotted(loc)}: the secret from {secret.source} equals or is part of {clash}: "
                                  "masking it would mask that name in every report; choose a longer secret"))
    return problems


def _secrets(value: Any, loc: Loc):
    if isinstance(value, Secret):
        if value.sensitive:
            yield loc, value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secrets(getattr(value, name), loc + (name,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _secrets(item, loc + (key,))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _secrets(item, loc + (i,))


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
