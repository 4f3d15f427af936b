"""Races between probe threads and pytest: `python -m benchmarks.soak [--runs 50]`.

One inventory of mixed checks that are all healthy by construction (HTTP, TCP,
Redis, PostgreSQL, memcached, backups and disk on this machine, a file's age),
run again and again at the default concurrency. Every verdict that is not OK is
spurious: a probe thread tripping over pytest's `PYTEST_CURRENT_TEST`, a teardown
that failed (`previous item was not torn down properly`), anything. Prints each
one and the tally; exit status 1 if there was any.

Starts its own targets (latency_server.py for HTTP, memcached when installed);
Redis and PostgreSQL are the machine's shared ones, used read-only.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.latency import ROOT, suite, targets

SELECT = ("test_http_endpoint or test_tcp_reachable or test_redis_ping or test_redis_memory or test_pg_connect"
          " or test_memcached_reachable or test_backup_age or test_backup_count or test_backup_size"
          " or test_backup_retention or test_backup_integrity or test_disk_usage")
CHECK_FILES = ("checks/test_http.py", "checks/test_services.py", "checks/test_redis.py", "checks/test_postgres.py",
               "checks/test_memcached.py", "checks/test_backups.py", "checks/test_system.py")


def backup_sets(folder: Path, sets: int) -> list[Path]:
    """`sets` folders of three healthy gzip dumps each, the newest made now."""
    made = []
    for index in range(sets):
        path = folder / f"set{index}"
        path.mkdir(parents=True, exist_ok=True)
        for age_h in (8, 4, 0):
            dump = path / f"db_{age_h}.sql.gz"
            dump.write_bytes(gzip.compress(b"-- PostgreSQL database dump\nSELECT 1;\n" * 200))
            stamp = time.time() - age_h * 3600
            os.utime(dump, (stamp, stamp))
        made.append(path)
    return made


def inventory(path: Path, ports: dict, backups: list[Path], memcached: bool) -> Path:
    lines = ["environment: soak", "defaults: {timeout: 10s}", "hosts:", "  local: ['local://']", "http:"]
    lines += [f"  - {{name: web{i}, url: 'http://127.0.0.1:{ports['http']}/ep/{i}', latency: {{warn: 2s, crit: 5s}},"
              f" expect: {{json: {{status: healthy}}}}}}" for i in range(30)]
    lines.append("tcp:")
    lines += [f"  - {{name: port{i}, endpoint: '127.0.0.1:{ports['http']}', latency: {{warn: 2s, crit: 5s}}}}" for i in range(10)]
    lines.append("redis:")
    lines += [f"  - {{name: cache{i}, url: 'redis://127.0.0.1:6379/{i}', latency: {{warn: 2s, crit: 5s}}, memory: {{warn: 99%, crit: 100%}}}}"
              for i in range(5)]
    lines.append("postgres:")
    lines += [f"  - {{name: db{i}, dsn: 'host=127.0.0.1 port=5432 dbname=test user=postgres application_name=soak{i}', run_as: pg_monitor,"
              f" latency: {{warn: 2s, crit: 5s}}}}" for i in range(5)]
    if memcached:
        lines.append("memcached:")
        lines += [f"  - {{name: mc{i}, address: '127.0.0.1:{ports['memcached']}', latency: {{warn: 2s, crit: 5s}}}}" for i in range(5)]
    lines.append("backups:")
    lines += [f"  - {{name: dumps{i}, on: local, path: '{p}', pattern: 'db_*.sql.gz', max_age: 4h, keep_days: 7,"
              f" integrity: [gzip]}}" for i, p in enumerate(backups)]
    lines.append("system:")
    lines.append("  - {on: local, disk: [{mount: /, warn: 99%, crit: 100%}]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def soak(runs: int, folder: Path, quiet: bool = False) -> tuple[int, list[str]]:
    """Run the soak inventory `runs` times; (checks per run, every spurious verdict)."""
    spurious: list[str] = []
    per_run = 0
    memcached = bool(shutil.which("memcached"))
    with targets(0.005, memcached) as ports:
        inv = inventory(folder / "soak.yml", ports, backup_sets(folder / "backups", 4), memcached)
        for number in range(1, runs + 1):
            checks = suite(inv, folder / "reports", None, select=SELECT, files=CHECK_FILES)
            per_run = max(per_run, len(checks))
            bad = [f"run {number}: {c['verdict']} {c['id']}: {c['summary']}" for c in checks if c["verdict"] != "OK"]
            spurious += bad
            if not quiet:
                print(f"  run {number:>2}: {len(checks)} checks, {len(bad)} spurious", flush=True)
    return per_run, spurious


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        per_run, spurious = soak(args.runs, Path(tmp))
    print(f"soak: {args.runs} runs of {per_run} mixed checks in {time.monotonic() - started:.0f}s "
          f"(default concurrency, PYTHONPATH={ROOT / 'src'}): {len(spurious)} spurious verdicts")
    for line in spurious[:30]:
        print("  " + line)
    return 1 if spurious else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
