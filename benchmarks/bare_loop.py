"""The floor: the same probes as the suite, called from a plain Python loop (no pytest).

Prints one JSON line: wall seconds for building targets and measuring them all.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

from opscheck import registry
from opscheck.inventory import load_inventory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("inventory")
    parser.add_argument("--kinds", default="http")
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    start = time.perf_counter()
    inventory = load_inventory(args.inventory)
    targets = [t for kind in args.kinds.split(",") for t in registry.get(kind).targets(inventory)]
    loaded = time.perf_counter()
    probe = lambda t: registry.get(t.kind).run(t)  # noqa: E731
    if args.concurrency > 1:
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(probe, targets))
    else:
        results = [probe(t) for t in targets]
    end = time.perf_counter()
    failed = sum(1 for m in results if m.error or m.problems)
    print(json.dumps({"checks": len(targets), "wall_s": end - start, "measure_s": end - loaded, "failed": failed}))


if __name__ == "__main__":
    main()
