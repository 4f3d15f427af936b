"""Issue 14 §3: hostile and broken input gives one line per problem naming file(:line) and key.

The corpus in tests/data/malformed/ holds inventories and waiver files, each starting with the
exact lines expected (`# expect:`, `{file}` standing for its path) and the environment it needs
(`# env: NAME=value`), and command lines with the one line each must give. Every file is checked
at the loader (fast); a sample goes through pytest (exit 4, no run folder) and `opscheck`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from opscheck.errors import InventoryError
from opscheck.plugin import waivers as waiver_file
from opscheck.registry import load_inventory  # the loader plus the check-id clash check

DATA = Path(__file__).parent / "data" / "malformed"
INVENTORIES = sorted((DATA / "inventories").glob("*.yml"))
WAIVERS = sorted((DATA / "waivers").glob("*.yml"))
COMMAND_LINES = [line.split("\t") for line in (DATA / "command_lines.txt").read_text().splitlines() if not line.startswith("#")]
# Not files one can commit: made by the test.
SPECIAL = ["fifo", "device", "directory", "not_utf8"]
VALID_INVENTORY = "system:\n  - memory: {}\n"


def header(path: Path) -> tuple[list[str], dict[str, str]]:
    expects, env = [], {}
    for line in path.read_text().splitlines():
        if line.startswith("# expect: "):
            expects.append(line.removeprefix("# expect: ").replace("{file}", str(path)))
        elif line.startswith("# env: "):
            name, _, value = line.removeprefix("# env: ").partition("=")
            env[name] = value
    assert expects, f"{path.name} lacks its '# expect:' line"
    return expects, env


def problems_of(load, path: Path) -> list[str]:
    with pytest.raises(InventoryError) as caught:
        load(path)
    return caught.value.problems


def test_corpus_is_large_enough():
    total = len(INVENTORIES) + len(WAIVERS) + len(COMMAND_LINES) + 2 * len(SPECIAL)
    assert total >= 120, total


@pytest.mark.parametrize("path", INVENTORIES, ids=lambda p: p.stem)
def test_inventory_gives_its_exact_lines(path: Path, monkeypatch):
    expects, env = header(path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert problems_of(load_inventory, path) == expects


@pytest.mark.parametrize("path", WAIVERS, ids=lambda p: p.stem)
def test_waiver_file_gives_its_exact_lines(path: Path):
    expects, _ = header(path)
    assert problems_of(waiver_file.load, path) == expects


def special(kind: str, tmp_path: Path) -> Path:
    if kind == "fifo":
        path = tmp_path / "pipe.yml"
        os.mkfifo(path)  # nobody writes: reading it would block forever
    elif kind == "device":
        path = Path("/dev/zero")  # endless: reading it would fill memory
    elif kind == "directory":
        path = tmp_path / "folder.yml"
        path.mkdir()
    else:
        path = tmp_path / "latin1.yml"
        path.write_bytes("environment: caf\xe9\n".encode("latin-1"))
    return path


SPECIAL_LINES = {
    "fifo": "{file}: is a FIFO, expected {a} {what} YAML file",
    "device": "{file}: is a device, expected {a} {what} YAML file",
    "directory": "{file}: is a directory, expected {a} {what} YAML file",
    "not_utf8": "{file}: not UTF-8 text (byte 16)",
}


@pytest.mark.timeout(20)  # a FIFO used to hang the run forever
@pytest.mark.parametrize("kind", SPECIAL)
@pytest.mark.parametrize(("what", "load"), [("inventory", load_inventory), ("waiver", waiver_file.load)], ids=["inventory", "waivers"])
def test_special_files_are_refused_without_reading(kind, what, load, tmp_path):
    path = special(kind, tmp_path)
    line = SPECIAL_LINES[kind].format(file=path, a="an" if what == "inventory" else "a", what=what)
    assert problems_of(load, path) == [line]


# --- a sample through pytest and opscheck ----------------------------------------------------------

SAMPLE = ["001_alias_bomb", "008_tag_python_object", "023_sexagesimal_timeout", "054_nan_load", "062_timeout_zero",
          "072_same_http_name", "078_log_pattern_bad_regex", "099_all_problems_sorted"]


def _sample(stem: str) -> Path:
    (path,) = [p for p in INVENTORIES if p.stem == stem]
    return path


def _stderr_errors(result) -> list[str]:
    return [line.removeprefix("ERROR: ") for line in result.stderr.lines if line.startswith("ERROR: ")]


@pytest.mark.parametrize("stem", SAMPLE)
def test_pytest_stops_with_the_same_lines(suite, stem):
    path = _sample(stem)
    expects, _ = header(path)
    suite.inventory.write_bytes(path.read_bytes())
    result = suite.run("-m", "daily")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert _stderr_errors(result) == [e.replace(str(path), "inventory.yml") for e in expects]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not suite.reports.exists(), "no run may start on a bad input"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("stem", ["001_impossible_date", "010_tag_vault", "013_alias_bomb", "019_two_problems_sorted", "fifo"])
def test_pytest_stops_on_a_bad_waiver_file(suite, stem, tmp_path):
    if stem == "fifo":
        path = special("fifo", tmp_path)
        expects = [SPECIAL_LINES["fifo"].format(file=path, a="a", what="waiver")]
    else:
        (path,) = [p for p in WAIVERS if p.stem == stem]
        expects, _ = header(path)
    suite.write_inventory(VALID_INVENTORY)
    result = suite.run("-m", "daily", f"--waivers={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert _stderr_errors(result) == expects
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not suite.reports.exists()


@pytest.mark.parametrize(("args", "line"), [(a, expected) for runner, a, expected in COMMAND_LINES if runner == "pytest"], ids=lambda v: v if isinstance(v, str) and v.startswith("--") else "")
def test_pytest_command_lines(suite, args, line):
    suite.write_inventory(VALID_INVENTORY)
    result = suite.run("-m", "daily", *shlex.split(args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [f"ERROR: {e}" for e in _stderr_errors(result)] == [line]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert not suite.reports.exists()


@pytest.mark.parametrize(("args", "line"), [(a, expected) for runner, a, expected in COMMAND_LINES if runner == "opscheck"], ids=lambda v: v if isinstance(v, str) and v.startswith("--") else "")
def test_opscheck_run_command_lines(tmp_path, args, line, capsys):
    from opscheck.cli import main

    inventory = tmp_path / "inv.yml"
    inventory.write_text(VALID_INVENTORY)
    code = main(["run", "daily", f"--inventory={inventory}", f"--reports-dir={tmp_path / 'reports'}", *shlex.split(args)])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err.splitlines() == [line]
    assert not (tmp_path / "reports").exists()


def test_opscheck_inventory_check_lists_the_sample_and_exits_3(tmp_path):
    paths = [_sample(stem) for stem in SAMPLE]
    fifo = special("fifo", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "opscheck.cli", "inventory", "check", "-q", *map(str, paths), str(fifo)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 3, proc.stderr
    expected = [line for path in paths for line in header(path)[0]]
    expected.append(SPECIAL_LINES["fifo"].format(file=fifo, a="an", what="inventory"))
    assert proc.stderr.splitlines() == expected
    assert "Traceback" not in proc.stderr


def test_yaml_12_scalars(tmp_path):
    """Decided: YAML 1.2 core schema for every scalar (README): 1:30, dates and 0777 as 1.2 reads them."""
    from opscheck.inventory.loader import parse_yaml

    data, _ = parse_yaml("a: 1:30\nb: 0777\nc: 2030-02-30\nd: 0o17\ne: 0x1F\nf: yes\ng: on\nh: ~\ni: 1_000\nj: .inf\nk: 1e3\non: x\n", "t.yml")
    assert data == {"a": "1:30", "b": 777, "c": "2030-02-30", "d": 15, "e": 31, "f": "yes", "g": "on", "h": None,
                    "i": "1_000", "j": float("inf"), "k": 1000.0, "on": "x"}
