"""`--shard I/N`: this runner's share of a fleet, for runs split over several runners.

Every check of a host lands in the same shard: hosts are sorted by name and dealt
round-robin (host i goes to shard i mod N + 1), so N shards differ by at most one host
and every runner, reading the same inventory, computes the same split without talking
to the others. Checks bound to no host (tcp, http, …) are dealt the same way by id.
The shard is recorded in the run's manifest; `opscheck merge` puts the parts together.
"""

from __future__ import annotations

import re

import pytest

from opscheck.plugin.collection import targets_of

_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse(text: str) -> tuple[int, int]:
    """'2/3' -> (2, 3); a usage error naming the expected form otherwise."""
    match = _SHARD.match(text.strip())
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise pytest.UsageError(f"--shard {text}: expected I/N with 1 <= I <= N (e.g. --shard 2/3)")
    return int(match[1]), int(match[2])


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("shard"):
        parse(config.getoption("shard"))  # fail before collecting


def key(item: pytest.Item) -> str:
    """What is dealt: the host's name, or the check's id for checks bound to no host."""
    for target in targets_of(item):
        if target.host is not None:
            return f"host:{target.host.name}"
    return f"check:{item.nodeid}"


def split(items: list[pytest.Item], index: int, count: int) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, deselected) for shard `index` of `count`."""
    keys = sorted({key(item) for item in items})
    mine = {k for position, k in enumerate(keys) if position % count == index - 1}
    kept = [item for item in items if key(item) in mine]
    return kept, [item for item in items if key(item) not in mine]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    text = config.getoption("shard")
    if not text:
        return
    index, count = parse(text)
    kept, deselected = split(items, index, count)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    from opscheck.plugin.state import LISTENER

    listener = config.stash.get(LISTENER, None)
    if listener is not None:
        listener.run.shard = f"{index}/{count}"
