"""Validate an inventory without its secrets: for pre-commit hooks and the inventory repo's CI.

A CI job or a laptop has neither production's environment variables nor its secret
files. Offline, every `env:NAME` whose variable is unset and every `file:/path` that
does not exist is taken as present: problems at exactly those key paths are dropped,
every other problem (types, thresholds, unknown keys, `on:` naming no group) is still
reported. Matching on the key path, not the message, keeps this independent of how
the loader words a missing secret. No host is contacted: loading never does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from opscheck.errors import InventoryError

Loc = tuple


def check_offline(path: str | Path) -> list[str]:
    """Every problem of the inventory at `path` except secrets that are not at hand."""
    from opscheck.inventory import loader
    from opscheck.inventory.compose import compose, needs_compose
    from opscheck.inventory.hosts import unknown_selectors
    from opscheck.inventory.model import Inventory

    path = Path(path)
    shown = str(path)
    try:  # the loader's reading: a FIFO or device is refused before it is opened, not read (it would hang)
        text = loader.decode(loader.read_file(path, "inventory"), shown)
        data, lines = loader.parse_yaml(text, shown)
        if needs_compose(data):
            data, lines = compose(data, lines, path)
    except InventoryError as exc:
        return list(exc.problems)
    if not isinstance(data, dict):
        try:  # the loader's own words for empty and non-mapping files
            loader.load_inventory(path)
        except InventoryError as exc:
            return list(exc.problems)
        return []
    absent = set(absent_secrets(data, (), path.parent))
    context = {"base_dir": str(path.parent)}
    try:
        inventory = Inventory.model_validate(data, context=context)
    except ValidationError as exc:
        kept = errors_beside(exc, absent)
        if kept:
            return loader.format_errors(ValidationError.from_exception_data(exc.title, kept), shown, lines)
        # Only secrets failed: check the rest of the file without the list entries that hold them
        # (postgres[0], notify.webhooks[1]), so that `on:` groups are still cross-checked.
        trimmed = _without(data, absent)
        try:
            inventory = Inventory.model_validate(trimmed, context=context)
        except ValidationError:
            return []  # nothing but secrets was wrong; renumbered entries would mislead
        problems = []
        for section, value in data.items():  # the loader's cross-check, on the untrimmed indices
            for index, entry in enumerate(value if isinstance(value, list) else []):
                on = entry.get("on", ["all"]) if isinstance(entry, dict) else ["all"]
                for name in unknown_selectors(inventory.hosts, [on] if isinstance(on, str) else on or []):
                    at = loader._line(shown, lines, (section, index, "on"))
                    problems.append(f"{at}{section}[{index}].on: unknown group or host {name!r}")
        return problems
    # raw_cross_check finds unknown `on:` groups (cross_check only does with Ansible groups).
    found = loader.raw_cross_check(data) + loader.cross_check(inventory)
    return loader.sort_problems([loader._line(shown, lines, loc) + msg for loc, msg in found])


def errors_beside(exc: ValidationError, absent: set) -> list:
    """The validation errors that are not about a secret in `absent`."""
    return [e for e in exc.errors(include_url=False) if not _under(_clean(e["loc"]), absent)]


def absent_secrets(value: Any, loc: Loc, base: Path):
    """Key paths of `env:NAME` with NAME unset and `file:PATH` that does not exist."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from absent_secrets(item, (*loc, key), base)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from absent_secrets(item, (*loc, i), base)
    elif isinstance(value, str):
        if value.startswith("env:") and value[4:] not in os.environ:
            yield loc
        elif value.startswith("file:"):
            file = Path(value[5:]).expanduser()
            file = file if file.is_absolute() else base / file
            if not os.access(file, os.R_OK):
                yield loc


def _clean(loc) -> Loc:
    return tuple(p for p in loc if not (isinstance(p, str) and "[" in p))


def _under(loc: Loc, absent: set) -> bool:
    """An error at a secret's key path, or on the entry holding it (its after-validators)."""
    return any(loc[: len(a)] == a for a in absent)


def _without(data: Any, absent: set) -> Any:
    """A copy of `data` without the innermost list entry (or top-level key) around each absent secret."""
    import copy

    out = copy.deepcopy(data)
    cuts = set()
    for loc in absent:
        ints = [i for i, part in enumerate(loc) if isinstance(part, int)]
        cuts.add(loc[: ints[-1] + 1] if ints else loc[:1])
    # Deepest first, and higher indices first, so earlier cuts do not shift later ones.
    for loc in sorted(cuts, key=lambda c: (-len(c), [-p if isinstance(p, int) else 0 for p in c]), reverse=False):
        parent = out
        try:
            for part in loc[:-1]:
                parent = parent[part]
            del parent[loc[-1]]
        except (KeyError, IndexError, TypeError):
            continue
    return out
