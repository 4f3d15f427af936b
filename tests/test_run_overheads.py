"""Start-up and per-check overheads (issue 18): the collector tuning of a run (plugin/__init__.py),
which a run's own process gets and a pytester run inside another session does not; and the
runner reading the inventory beside pytest's start-up (cli/run.py)."""

from __future__ import annotations

import gc
import json

INVENTORY = """\
environment: gc
system:
  - {on: all, disk: {mount: /, warn: 99%, crit: 100%}}
"""

PROBE = """\
import gc, json, pathlib

def pytest_sessionfinish(session):
    pathlib.Path("gc-state.json").write_text(json.dumps({"young": gc.get_threshold()[0], "frozen": gc.get_freeze_count()}))
"""


def test_a_run_in_its_own_process_freezes_what_start_up_built(suite):
    (suite.path / "gcprobe.py").write_text(PROBE)
    result = suite.run("-m", "daily", "-p", "gcprobe", "-k", "disk_usage", inventory=INVENTORY, subprocess=True)
    result.assert_outcomes(passed=1)
    state = json.loads((suite.path / "gc-state.json").read_text())
    assert state["young"] == 20_000, state
    assert state["frozen"] > 10_000, state  # modules, models and items: tens of thousands of objects


def test_a_pytester_run_leaves_the_outer_collector_alone(suite):
    threshold = gc.get_threshold()
    gc.set_threshold(701, *threshold[1:])  # a value nobody else sets: the outer session may be tuned itself
    frozen = gc.get_freeze_count()
    try:
        result = suite.run("-m", "daily", "-k", "disk_usage", inventory=INVENTORY)
        assert gc.get_threshold()[0] == 701
        # Frozen objects that die leave the count; a freeze by the inner run would add tens of thousands.
        assert gc.get_freeze_count() <= frozen
    finally:
        gc.set_threshold(*threshold)
    result.assert_outcomes(passed=1)
    assert suite.verdicts() == {"test_disk_usage[local:/]": "OK"}


def test_the_runner_reads_the_inventory_beside_pytest_and_raises_its_problems_after():
    from opscheck.cli.run import _InBackground, _Stop

    loading = _InBackground(lambda path: f"read {path}", "inventory.yml")
    loading.start()
    assert loading.result() == "read inventory.yml"

    def bad(path):
        raise _Stop(3, [f"{path}:2: http[0].url: missing"])

    failing = _InBackground(bad, "inventory.yml")
    failing.start()
    try:
        failing.result()
    except _Stop as stop:
        assert stop.code == 3 and stop.lines == ["inventory.yml:2: http[0].url: missing"]
    else:
        raise AssertionError("the thread's _Stop was not raised on the caller's thread")
    # pytest never spawned (a failure before the fork): result() makes the call itself.
    assert _InBackground(lambda path: path.upper(), "x.yml").result() == "X.YML"
