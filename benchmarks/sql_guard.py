"""What read-only by construction costs: `python -m benchmarks.sql_guard [--dsn DSN]`.

- the static guard (pglast parse + tree walk) per statement, and pglast's import;
- validating an inventory of 1,000 assertions;
- one assertion probe on a pooled connection with the session reset after it, next to
  the same probe ending in a bare ROLLBACK (the behaviour before the reset), interleaved
  so both see the same machine load. Best of 5 rounds of 300 probes.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", default="host=127.0.0.1 port=5432 dbname=test user=postgres")
    args = parser.parse_args()

    started = time.perf_counter()
    import pglast  # noqa: F401

    print(f"pglast import: {(time.perf_counter() - started) * 1000:.0f} ms")
    from opscheck.inventory import sqlguard
    from opscheck.inventory.model import Inventory
    from opscheck.measuring import probe_once
    from opscheck.probes.postgres import session as pg_session
    from opscheck.registry import get

    statements = [f"SELECT count(*) FROM t{i} t JOIN u ON u.id = t.id WHERE x < {i} ORDER BY 1" for i in range(1000)]
    started = time.perf_counter()
    for sql in statements:
        sqlguard._problem.__wrapped__(sql)
    print(f"guard per statement: {(time.perf_counter() - started) / len(statements) * 1000:.3f} ms")

    entry = {"name": "m", "dsn": "host=db", "assertions": [{"name": f"a{i}", "sql": s, "expect": 0} for i, s in enumerate(statements)]}
    sqlguard._problem.cache_clear()
    started = time.perf_counter()
    Inventory.model_validate({"postgres": [entry]})
    print(f"validate 1,000 assertions: {(time.perf_counter() - started) * 1000:.0f} ms")

    inventory = Inventory.model_validate({"postgres": [{"name": "m", "dsn": args.dsn, "assertions": [
        {"name": f"a{i}", "sql": f"SELECT count(*) FROM pg_class WHERE oid < {i}", "expect": {"rows": 1}} for i in range(300)]}]})
    targets = get("pg_assertion").targets(inventory)
    reset = pg_session._RESET
    best = {"reset": float("inf"), "rollback only": float("inf")}
    for _ in range(5):
        for label, batch in (("reset", reset), ("rollback only", "ROLLBACK; SELECT name FROM pg_prepared_statements WHERE false")):
            pg_session._RESET = batch
            probe_once(targets[0])
            started = time.perf_counter()
            for target in targets:
                probe_once(target)
            best[label] = min(best[label], (time.perf_counter() - started) / len(targets) * 1000)
    pg_session._RESET = reset
    for label, ms in best.items():
        print(f"assertion probe, {label}: {ms:.3f} ms")


if __name__ == "__main__":
    main()
