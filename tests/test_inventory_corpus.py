"""Malformed inventories: each gives exactly one clear line naming file, line and key; never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory

CORPUS = sorted((Path(__file__).parent / "data" / "bad_inventories").glob("*.yml"))


def expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} lacks its '# expect:' line"
    return first.removeprefix("# expect: ")


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_loader_gives_one_line(path: Path):
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    problems = caught.value.problems
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{path}:"), problems[0]
    assert expected(path) in problems[0]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_pytest_stops_before_any_check(suite, path: Path):
    suite.inventory.write_bytes(path.read_bytes())
    result = suite.run("-m", "daily")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    errors = [line for line in result.stderr.lines if line.startswith("ERROR: ")]
    assert len(errors) == 1, output
    assert errors[0].startswith("ERROR: inventory.yml:")
    assert expected(path) in errors[0]
    assert "Traceback" not in output
    assert not suite.reports.exists(), "no run may start on a bad inventory"


def test_cli_lists_every_problem_and_exits_3():
    proc = subprocess.run(
        [sys.executable, "-m", "opscheck.cli", "inventory", "check", "-q", *map(str, CORPUS)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == len(CORPUS), proc.stderr
    for path, line in zip(CORPUS, lines, strict=True):
        assert line.startswith(f"{path}:") and expected(path) in line
    assert "Traceback" not in proc.stderr


def test_several_problems_are_all_listed(tmp_path: Path):
    path = tmp_path / "many.yml"
    path.write_text("system:\n  - disk: {mount: /, warn: 95%, crit: 90%}\n    memroy: {}\n  - load_per_core: {crit: x}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    assert [p.split(": ", 1)[1].split(":")[0] for p in caught.value.problems] == [
        "system[0].disk[0]", "system[0].memroy", "system[1].load_per_core.crit",
    ]


def test_missing_file_and_directory(tmp_path: Path):
    with pytest.raises(InventoryError, match=r"nope.yml: inventory file not found"):
        load_inventory(tmp_path / "nope.yml")
    with pytest.raises(InventoryError, match=r"is a directory"):
        load_inventory(tmp_path)


def test_missing_default_inventory_is_a_usage_error(suite):
    result = suite.pytester.runpytest("-m", "daily", f"--reports-dir={suite.reports}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: inventories/local.yml: inventory file not found (the checks need one: pass --inventory PATH)"])


def test_inventory_path_with_space_outside_suite_is_explained(suite, tmp_path):
    outside = tmp_path / "elsewhere" / "inv.yml"
    outside.parent.mkdir()
    # The path is what this test is about: a generous timeout so a loaded machine cannot make the run UNKNOWN.
    outside.write_text("system: [{timeout: 60s, memory: {}}]\n")
    result = suite.pytester.runpytest("-m", "daily", "--inventory", str(outside))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --inventory {outside}: pytest took this path for a test path*write --inventory={outside}*"])
    result = suite.pytester.runpytest("-m", "daily", f"--inventory={outside}", f"--reports-dir={suite.reports}")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert (suite.reports / "latest" / "results.json").exists()
