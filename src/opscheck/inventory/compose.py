"""`include:` and `vars:`: one inventory built from shared files and per-environment values.

staging.yml and production.yml each `include: common.yml` and set their own `vars:`;
`${name}` in any string of the file or its includes is replaced by the value. Merging
is plain and predictable: sections (lists) are concatenated, the included file's
entries first; mappings (hosts, defaults, vars) are merged key by key; for a scalar
the including file wins. Every key keeps the file and line it came from, so a problem
in a shared file is reported as `common.yml:12: …`, never against the including file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opscheck.errors import InventoryError
from opscheck.units import describe_input

Loc = tuple
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_DEPTH = 10


def needs_compose(data: Any) -> bool:
    return isinstance(data, dict) and ("include" in data or "vars" in data)


class Located(dict):
    """key path -> `file:line`, and the bytes of every included file (for the inventory's sha256)."""

    included: list[bytes]


def compose(data: dict, lines: dict[Loc, int], path: Path) -> tuple[dict, Located]:
    """The merged, substituted data; `lines` maps each key path to its `file:line`."""
    included: list[bytes] = []
    merged, where = _expand(data, lines, path, chain=(), included=included)
    where = Located(where)
    where.included = included
    variables = merged.pop("vars", {}) or {}
    merged.pop("include", None)
    problems: list[str] = []
    merged = _substitute(merged, (), variables, where, problems)
    if problems:
        raise InventoryError(problems)
    return merged, where


def _expand(data: dict, lines: dict[Loc, int], path: Path, chain: tuple, included: list) -> tuple[dict, dict[Loc, str]]:
    from opscheck.inventory.loader import decode, parse_yaml, read_file

    shown = str(path)
    own = {loc: f"{shown}:{line}" for loc, line in lines.items()}
    includes = data.get("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) and i for i in includes):
        raise InventoryError([f"{own.get(('include',), shown)}: include: expected a file path or a list of them, found {describe_input(includes)}"])
    _check_vars(data.get("vars"), own, shown)
    merged: dict = {}
    where: dict[Loc, str] = {}
    for i, name in enumerate(includes):
        at = own.get(("include", i), own.get(("include",), shown))
        target = (path.parent / name).resolve()
        if target in chain or target == path.resolve():
            raise InventoryError([f"{at}: include: {name} includes itself (through {' -> '.join(p.name for p in (*chain, path.resolve(), target))})"])
        if len(chain) >= MAX_DEPTH:
            raise InventoryError([f"{at}: include: nested more than {MAX_DEPTH} deep"])
        if not target.exists():
            raise InventoryError([f"{at}: include: {name}: file not found ({target})"])
        shown_inc = str(path.parent / name)
        # The loader's own reading: a FIFO, device or oversized file is refused, not read.
        raw = read_file(target, "included inventory")
        text = decode(raw, shown_inc)
        included.append(raw)
        sub, sub_lines = parse_yaml(text, shown_inc)
        if sub is None:
            continue
        if not isinstance(sub, dict):
            raise InventoryError([f"{shown_inc}:1: expected a mapping at the top level, found {describe_input(sub)}"])
        sub_data, sub_where = _expand(sub, sub_lines, target, (*chain, path.resolve()), included)
        merged, where = _merge(merged, where, sub_data, sub_where)
    body = {k: v for k, v in data.items() if k != "include"}
    return _merge(merged, where, body, own)


def _check_vars(variables: Any, where: dict, shown: str) -> None:
    if variables is None:
        return
    if not isinstance(variables, dict):
        raise InventoryError([f"{where.get(('vars',), shown)}: vars: expected a mapping of name: value, found {describe_input(variables)}"])
    for name, value in variables.items():
        if not isinstance(value, (str, int, float, bool)):
            raise InventoryError([f"{where.get(('vars', name), shown)}: vars.{name}: expected a string or number, found {describe_input(value)}"])


def _merge(base: dict, base_where: dict, top: dict, top_where: dict) -> tuple[dict, dict]:
    """`top` over `base`: lists concatenated (base first), mappings merged, scalars from top."""
    out = dict(base)
    where = dict(base_where)
    for key, value in top.items():
        old = out.get(key)
        if isinstance(old, list) and isinstance(value, list):
            shift = len(old)
            out[key] = old + value
            for loc, at in top_where.items():
                if loc[:1] == (key,) and len(loc) > 1 and isinstance(loc[1], int):
                    where[(key, loc[1] + shift, *loc[2:])] = at
            where.setdefault((key,), top_where.get((key,), ""))
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = {**old, **value}
        else:
            out[key] = value
            # The key's whole subtree now comes from `top`.
            where = {loc: at for loc, at in where.items() if loc[:1] != (key,)}
        where.update({loc: at for loc, at in top_where.items() if loc[:1] == (key,)})
    return out, where


def _substitute(value: Any, loc: Loc, variables: dict, where: dict, problems: list) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, (*loc, k), variables, where, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), variables, where, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in variables:
            at = _where(where, loc)
            known = ", ".join(sorted(variables)) or "none"
            problems.append(f"{at}: {_dotted(loc)}: unknown variable ${{{name}}} (vars: {known})")
            return match.group(0)
        return str(variables[name]).lower() if isinstance(variables[name], bool) else str(variables[name])

    whole = _VAR.fullmatch(value)
    if whole and whole.group(1) in variables and not isinstance(variables[whole.group(1)], str):
        return variables[whole.group(1)]  # `port: ${pg_port}` stays a number
    return _VAR.sub(replace, value)


def _where(where: dict, loc: Loc) -> str:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in where:
            return where[loc[:cut]]
    return "?"


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
