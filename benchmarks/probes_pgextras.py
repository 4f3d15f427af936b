"""Median probe time of issue 17's postgres aspects and load per core, through the real probes.

    python -m benchmarks.probes_pgextras [--runs 15]

A throwaway cluster (tests/pg_servers.py) with 200 sequences (one near its max, one bigint
behind an integer column), archive_mode=on with a failing archive_command and one failed
segment, 12 requested checkpoints; load per core on local:// (this machine's cgroup).
Each probe reuses the cached connection, as in a run after the first check of a DSN.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pg_servers import Cluster, admin, dsn  # noqa: E402

from conftest import free_port  # noqa: E402
from opscheck import registry  # noqa: E402
from opscheck.inventory.model import Inventory  # noqa: E402
from opscheck.judging import evaluate  # noqa: E402
from opscheck.measuring import probe_once  # noqa: E402
from opscheck.probes.postgres.session import close_all  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    node = Cluster(free_port(), {"archive_mode": "on"})
    try:
        with admin(node.port) as conn:
            conn.execute("ALTER SYSTEM SET archive_command = 'false'")
            conn.execute("SELECT pg_reload_conf()")
            for i in range(200):
                conn.execute(f"CREATE SEQUENCE s{i} MAXVALUE 1000")
            conn.execute("SELECT setval('s7', 960)")
            conn.execute("CREATE TABLE t (id integer)")
            conn.execute("CREATE SEQUENCE t_id_seq AS bigint OWNED BY t.id")
            conn.execute("SELECT pg_switch_wal()")
            for _ in range(12):
                conn.execute("CHECKPOINT")
            deadline = time.monotonic() + 30
            while not conn.execute("SELECT 1 FROM pg_stat_archiver WHERE failed_count > 0").fetchone():
                if time.monotonic() > deadline:
                    raise SystemExit("the archiver never failed")
                time.sleep(0.2)
        inventory = Inventory.model_validate({
            "postgres": [{"name": "bench", "dsn": dsn("postgres", port=node.port), "only": ["sequences", "archiver", "checkpoints"]}],
            "system": [{"load_per_core": {"warn": 1000, "crit": 2000}}],
        })
        print(f"{'kind':<16} {'median ms':>9}  verdict: summary ({args.runs} runs)")
        for kind in ("pg_sequences", "pg_archiver", "pg_checkpoints", "load_per_core"):
            (target,) = registry.get(kind).targets(inventory)
            probe_once(target)  # the first probe of a DSN connects; runs time the cached connection
            times, last = [], None
            for _ in range(args.runs):
                m = probe_once(target)
                times.append(m.duration_s * 1000)
                last = evaluate(m)
            print(f"{kind:<16} {statistics.median(times):>9.1f}  {last.verdict.name}: {last.summary[:110]}")
    finally:
        close_all()
        node.stop()


if __name__ == "__main__":
    main()
