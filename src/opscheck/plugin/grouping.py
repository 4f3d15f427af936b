"""Keep the checks of one host on one xdist worker (`opscheck run -n auto`).

Checks of one host share its testinfra connection and should not hammer it from
several workers at once, so each host becomes an xdist group and the run uses
`--dist loadgroup`. xdist appends `@group` to the node ids of grouped items; the
records keep the plain id so results.json, state files and notifications do not
change with the number of workers.
"""

from __future__ import annotations

import pytest

from opscheck.plugin.collection import targets_of

GROUP = pytest.StashKey[str]()


def host_group(item: pytest.Item) -> str | None:
    hosts = sorted({t.host.name for t in targets_of(item) if t.host is not None})
    return hosts[0] if hosts else None


class HostGrouping:
    """Registered on every process; acts only on xdist workers of a loadgroup run."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        if not getattr(config.option, "loadgroup", False):
            return
        for item in items:
            group = host_group(item)
            if group is not None and item.get_closest_marker("xdist_group") is None:
                item.add_marker(pytest.mark.xdist_group(name=group))
                item.stash[GROUP] = group
                _suffix_node_id(item, group)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        group = item.stash.get(GROUP, None)
        record = getattr(report, "opscheck", None)
        if group and record and str(record.get("id", "")).endswith(f"@{group}"):
            record["id"] = record["id"][: -len(group) - 1]
        return report


def _suffix_node_id(item: pytest.Item, group: str) -> None:
    """The `@group` suffix xdist's loadgroup scheduler reads, where xdist's own cannot land.

    pytest-xdist (3.8) appends it by assigning `item._nodeid`; pytest 9.2 keeps the node id in
    `item._id` (a structured NodeId), so that assignment is ignored, no item carries a group,
    and a host's checks were spread over workers at random. On such a pytest the suffix is
    set here; on older ones xdist's assignment works and nothing is done.
    """
    if "_nodeid" in vars(item) or not hasattr(item, "_id"):
        return
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:
        return
    item._id = coerce_node_id(f"{item.nodeid}@{group}")
