"""Turn inventory entries into check items: parametrize, mark, select.

A check asks for a kind by naming it as a parameter (`def test_disk_usage(disk)`);
every target of that kind in the inventory becomes one item, with an id that
reads like the runbook (`test_disk_usage[app-1:/var]`), the inventory's extra
schedules as markers, and one effective severity.

Only opscheck checks are touched, so other suites in the same environment run as
if opscheck were not installed: a kind name is filled from the inventory only in
a test whose module uses opscheck or that carries a schedule marker, and never
when a fixture or a `parametrize` of that name already provides it (`port`,
`file` and `memory` are common fixture names).
"""

from __future__ import annotations

from types import ModuleType

import pytest

from opscheck import registry
from opscheck.measurement import Target
from opscheck.verdict import DEFAULT_SEVERITY, SCHEDULES, SEVERITIES, Severity

INVENTORY = pytest.StashKey["object"]()
EMPTY_CHECKS = pytest.StashKey[set]()
SEVERITY = pytest.StashKey[str]()
NEEDS_INVENTORY = pytest.StashKey[bool]()


def generate_tests(metafunc: pytest.Metafunc) -> None:
    kinds = [name for name in metafunc.fixturenames if name in registry.names() and not _provided(metafunc, name)]
    if not kinds or not _is_opscheck_check(metafunc):
        return
    config = metafunc.config
    inventory = config.stash.get(INVENTORY, None)
    if inventory is None:
        config.stash[NEEDS_INVENTORY] = True
    for name in kinds:
        targets = registry.get(name).targets(inventory) if inventory is not None else []
        if not targets:
            config.stash.setdefault(EMPTY_CHECKS, set()).add((str(metafunc.definition.path), metafunc.definition.name))
        metafunc.parametrize(
            name,
            [pytest.param(t, id=t.id, marks=[getattr(pytest.mark, s) for s in t.schedules]) for t in targets],
        )


def _provided(metafunc: pytest.Metafunc, name: str) -> bool:
    """A fixture or a parametrize marker of this name feeds the test: it is not ours to fill."""
    # pytest has no public "is there a fixture named X here" for a Metafunc; _arg2fixturedefs is
    # the mapping pytest builds for this very test (pytest-cases and others read it as well).
    if name in getattr(metafunc, "_arg2fixturedefs", {}):
        return True
    for marker in metafunc.definition.iter_markers("parametrize"):
        argnames = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if isinstance(argnames, str):
            argnames = [n.strip() for n in argnames.split(",")]
        if name in argnames:
            return True
    return False


def _is_opscheck_check(metafunc: pytest.Metafunc) -> bool:
    """The test's module uses opscheck (judge, measure, …) or the test has a schedule marker."""
    if any(m.name in SCHEDULES for m in metafunc.definition.iter_markers()):
        return True
    module = metafunc.module
    return module is not None and any(_from_opscheck(value) for value in vars(module).values())


def _from_opscheck(value: object) -> bool:
    name = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", None)
    return isinstance(name, str) and (name == "opscheck" or name.startswith("opscheck."))


def is_check(item: pytest.Item) -> bool:
    """Checks are items fed by the inventory or marked with a schedule; anything else is a plain test."""
    if targets_of(item):
        return True
    return any(marker.name in SCHEDULES for marker in item.iter_markers())


def without_empty(collector: pytest.Collector, name: str, made):
    """The items of a check, less the placeholder pytest makes for a kind with no target.

    Not collected at all rather than deselected: "N deselected" would count kinds the
    inventory never mentions, which a user reads as checks they chose not to run.
    """
    if not isinstance(made, list):
        return made
    empty = collector.config.stash.get(EMPTY_CHECKS, set())
    return [
        item for item in made
        if not (isinstance(item, pytest.Item) and (str(item.path), getattr(item, "originalname", item.name)) in empty
                and not targets_of(item))
    ]


def modify_items(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Settle severities, select by --severity; plain tests untouched."""
    keep, dropped = [], []
    minimum = Severity(config.getoption("severity")).rank if config.getoption("severity") else None
    for item in items:
        if not is_check(item):
            keep.append(item)
            continue
        severity = effective_severity(item)
        item.stash[SEVERITY] = severity
        if minimum is not None and Severity(severity).rank < minimum:
            dropped.append(item)
            continue
        keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def effective_severity(item: pytest.Item) -> str:
    """Inventory entry's severity, else the check's marker, else medium; one marker left on the item."""
    from_inventory = next((t.severity for t in targets_of(item) if t.severity), None)
    marker = next((m.name for m in item.iter_markers() if m.name in SEVERITIES), None)
    severity = from_inventory or marker or DEFAULT_SEVERITY.value
    if hasattr(item, "own_markers"):
        # So that `-m critical` selects by the effective severity, not the check's default.
        item.own_markers[:] = [m for m in item.own_markers if m.name not in SEVERITIES]
        item.add_marker(getattr(pytest.mark, severity))
    return severity


def targets_of(item: pytest.Item) -> list[Target]:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return []
    return [value for value in callspec.params.values() if isinstance(value, Target)]
