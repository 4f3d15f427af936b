"""Backup sets by their listing: age, count, retention and size, on real files with real mtimes."""

from __future__ import annotations

import gzip
import os
import random
import textwrap
import time
from pathlib import Path

import pytest

from opscheck import registry
from opscheck.inventory.loader import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once

HOUR = 3600
DAY = 86400


def run_kind(tmp_path: Path, kind: str, inventory: str):
    """(result, measurement) of every target of `kind` in `inventory`, measured for real."""
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(inventory))
    out = []
    for target in registry.get(kind).targets(load_inventory(path)):
        m = probe_once(target)
        out.append((evaluate(m), m))
    return out


def one(tmp_path: Path, kind: str, inventory: str):
    results = run_kind(tmp_path, kind, inventory)
    assert len(results) == 1, results
    return results[0]


def dump(directory: Path, name: str, age_s: float, size: int = 20000) -> Path:
    """A real gzip file of about `size` compressed bytes, last written `age_s` ago."""
    rnd = random.Random(name)
    path = directory / name
    path.write_bytes(gzip.compress(rnd.randbytes(size)))
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def dumps(tmp_path: Path) -> Path:
    directory = tmp_path / "db"
    directory.mkdir()
    for day in range(3):
        dump(directory, f"db_{day}.sql.gz", age_s=HOUR + (2 - day) * DAY)
    return directory


def entry(directory: Path, **keys) -> str:
    extra = "".join(f", {k}: {v}" for k, v in keys.items())
    return f"backups:\n  - {{name: db, path: {directory}, pattern: 'db_*.sql.gz'{extra}}}\n"


def test_good_set_is_ok_on_every_listing_check(tmp_path, dumps):
    inv = entry(dumps, max_age="1d", keep_days=7, min_count=3)
    age, m = one(tmp_path, "backup_age", inv)
    assert (age.verdict.value, m.value) == ("OK", pytest.approx(HOUR, abs=60))
    assert age.summary == "newest db_2.sql.gz 1h old (warn 25h, crit 49h)"  # 1d and 2d, plus 1h grace
    assert m.evidence["newest"]["file"] == "db_2.sql.gz" and m.evidence["count"] == 3
    count, m = one(tmp_path, "backup_count", inv)
    assert (count.verdict.value, m.value) == ("OK", 3)
    assert count.summary.endswith("3 backups (crit below 3)")
    retention, m = one(tmp_path, "backup_retention", inv)
    assert (retention.verdict.value, m.value, m.evidence["past_retention"]) == ("OK", 0, [])
    size, m = one(tmp_path, "backup_size", inv)
    assert size.verdict.value == "OK" and m.value == (dumps / "db_2.sql.gz").stat().st_size
    assert m.evidence["previous"]["file"] == "db_1.sql.gz"


def test_stale_newest_warns_after_one_missed_run_and_is_crit_after_two(tmp_path, dumps):
    # max_age 1d with the default 1h grace: warn past 25h, crit past 49h.
    for day in range(3):
        stamp = time.time() - 30 * HOUR - (2 - day) * DAY
        os.utime(dumps / f"db_{day}.sql.gz", (stamp, stamp))
    result, m = one(tmp_path, "backup_age", entry(dumps, max_age="1d"))
    assert (result.verdict.value, m.value) == ("WARN", pytest.approx(30 * HOUR, abs=60))
    assert result.summary == "newest db_2.sql.gz 30h old (warn 25h, crit 49h)"
    for f in dumps.iterdir():
        stamp = time.time() - 3 * DAY - f.stat().st_size % 100
        os.utime(f, (stamp, stamp))
    result, m = one(tmp_path, "backup_age", entry(dumps, max_age="1d"))
    assert result.verdict.value == "CRIT" and m.value > 49 * HOUR
    assert "d old (warn 25h, crit 49h)" in result.summary


def test_explicit_age_limits_and_grace(tmp_path, dumps):
    inv = entry(dumps, max_age="{warn: 30m, crit: 2h}", grace="0s")
    result, m = one(tmp_path, "backup_age", inv)
    assert (result.verdict.value, m.value) == ("WARN", pytest.approx(HOUR, abs=60))
    assert "(warn 30m, crit 2h)" in result.summary


def test_shrink_by_80_percent_is_crit(tmp_path):
    directory = tmp_path / "db"
    directory.mkdir()
    dump(directory, "db_1.sql.gz", age_s=DAY, size=100_000)
    dump(directory, "db_2.sql.gz", age_s=HOUR, size=20_000)
    result, m = one(tmp_path, "backup_size", entry(directory))
    assert result.verdict.value == "CRIT"
    assert m.evidence["shrink_percent"] == pytest.approx(80, abs=0.5)
    assert "shrank 80" in result.summary and "from 97.7KiB (db_1.sql.gz)" in result.summary
    assert "(crit 50%)" in result.summary
    # A 30 % shrink passes the default 50 % but warns at an explicit warn: 25%.
    dump(directory, "db_2.sql.gz", age_s=HOUR, size=70_000)
    result, m = one(tmp_path, "backup_size", entry(directory, max_shrink="{warn: 25%, crit: 50%}"))
    assert result.verdict.value == "WARN" and m.evidence["shrink_percent"] == pytest.approx(30, abs=0.5)


def test_newest_below_min_size_is_crit(tmp_path, dumps):
    result, m = one(tmp_path, "backup_size", entry(dumps, min_size="1MB"))
    assert result.verdict.value == "CRIT" and m.value < 1_000_000
    assert result.summary.startswith("newest db_2.sql.gz ") and "(crit below 1MB)" in result.summary


def test_retention_broken_warns_with_the_oldest_file(tmp_path, dumps):
    dump(dumps, "db_old.sql.gz", age_s=10 * DAY)
    result, m = one(tmp_path, "backup_retention", entry(dumps, keep_days=7))
    assert (result.verdict.value, m.value) == ("WARN", 1)
    assert "rotation looks broken: oldest db_old.sql.gz is 10d old" in result.summary
    assert [f["file"] for f in m.evidence["past_retention"]] == ["db_old.sql.gz"]


def test_too_few_backups_is_crit_and_sidecars_do_not_count(tmp_path, dumps):
    (dumps / "db_2.sql.gz.sha256").write_text("0" * 64 + "  db_2.sql.gz\n")
    result, m = one(tmp_path, "backup_count", entry(dumps, min_count="{warn: 7, crit: 5}", keep_days=7, max_age="1d"))
    assert (result.verdict.value, m.value) == ("CRIT", 3)
    assert result.summary.endswith("3 backups (warn below 7, crit below 5)")
    assert m.evidence["expected_from_schedule"] == 7


def test_missing_directory_and_empty_set_are_crit(tmp_path):
    result, _ = one(tmp_path, "backup_age", entry(tmp_path / "nowhere", max_age="4h"))
    assert result.verdict.value == "CRIT"
    assert result.summary == f"local:db: backup directory {tmp_path}/nowhere does not exist"
    (tmp_path / "empty").mkdir()
    result, _ = one(tmp_path, "backup_age", entry(tmp_path / "empty", max_age="4h"))
    assert result.verdict.value == "CRIT" and "no backup matches" in result.summary
    result, m = one(tmp_path, "backup_count", entry(tmp_path / "empty"))
    assert (result.verdict.value, m.value) == ("CRIT", 0)


def test_directory_dumps_are_sized_with_du(tmp_path):
    directory = tmp_path / "db"
    (directory / "db_1.dir").mkdir(parents=True)
    (directory / "db_1.dir" / "toc.dat").write_bytes(b"x" * 50_000)
    result, m = one(tmp_path, "backup_size", entry(directory, pattern="'db_*'").replace("pattern: 'db_*.sql.gz', ", ""))
    assert result.verdict.value == "OK"
    assert m.value >= 50_000 and m.evidence["newest"]["file"] == "db_1.dir"


def test_backup_checks_end_to_end(suite, tmp_path, dumps):
    dump(dumps, "db_old.sql.gz", age_s=10 * DAY)
    result = suite.run("-m", "daily", inventory=f"""
        backups:
          - {{name: db, path: {dumps}, pattern: "db_*.sql.gz", max_age: 1d, keep_days: 7, min_count: 3, integrity: gzip}}
    """)
    assert result.ret == 0, result.stdout.str()
    assert suite.verdicts() == {
        "test_backup_age[local:db]": "OK",
        "test_backup_count[local:db]": "OK",
        "test_backup_retention[local:db]": "WARN",
        "test_backup_size[local:db]": "OK",
        "test_backup_integrity[local:db]": "OK",
    }
    record = suite.check("test_backup_retention[local:db]")
    assert record["value"] == 1 and "db_old.sql.gz" in record["summary"]
    result.stdout.fnmatch_lines(["*4 passed*1 warned*"])
