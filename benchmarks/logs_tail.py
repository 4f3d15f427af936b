"""How long counting the last hour of a ≥1 GB log takes, against reading the whole file.

    python benchmarks/logs_tail.py [--size-gb 1.0] [--dir /tmp]

Generates a log of ISO-timestamped lines spanning a week (written in large blocks),
then measures: the scanner in-process for a 1h and a 24h window, the same 1h count
through the probe (`python3 -c` on the host via testinfra, as checks run it), and a
whole-file scan (8d window) as the baseline; `grep -c` for reference (it counts no window). The file is deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from opscheck.probes.logs.scan import scan

BODY = " INFO GET /api/v1/orders?page=2 HTTP/1.1 200 served in 12ms by worker-7 request_id=0123456789abcdef\n"
ERROR = " ERROR payment gateway timed out for order 8812 (retrying)\n"


def generate(path: Path, size: int, now: float) -> int:
    """Lines at a steady rate over 7 days up to `now`, one ERROR per minute."""
    span = 7 * 86400
    line = len("2024-01-01T00:00:00Z") + len(BODY)
    per_second = max(1, size // (span * line) + 1)
    start = now - span
    written = 0
    with open(path, "w", buffering=1 << 22) as f:
        buffer = []
        for s in range(span):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start + s)) + "Z"
            block = (stamp + BODY) * per_second
            if s % 60 == 0:
                block += stamp + ERROR
            buffer.append(block)
            if len(buffer) == 4096:
                chunk = "".join(buffer)
                f.write(chunk)
                written += len(chunk)
                buffer.clear()
        chunk = "".join(buffer)
        f.write(chunk)
        written += len(chunk)
    os.utime(path, (now, now))
    return written


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def through_probe(path: Path) -> float:
    from opscheck import registry
    from opscheck.inventory.loader import load_inventory
    from opscheck.judging import evaluate
    from opscheck.measuring import probe_once

    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp) / "inventory.yml"
        inventory.write_text(textwrap.dedent(f"""
            defaults: {{timeout: 120s}}
            logs:
              - {{name: bench, path: {path}, window: 1h, patterns: {{errors: {{regex: ERROR, warn: 100}}}}}}
        """))
        (target,) = registry.get("log_pattern").targets(load_inventory(inventory))
        m, seconds = timed(lambda: probe_once(target))
        result = evaluate(m)
        print(f"  probe (python3 -c via testinfra local://): {seconds:.3f}s -> {result.verdict.value}: {result.summary}")
        return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    path = Path(args.dir) / f"opscheck-bench-{os.getpid()}.log"
    now = float(int(time.time()))  # whole seconds, like the stamps: the window's edge falls on a line
    try:
        written, seconds = timed(lambda: generate(path, int(args.size_gb * 1e9), now))
        size = path.stat().st_size
        print(f"generated {size / 1e9:.2f} GB ({written // 1_000_000} MB written) in {seconds:.1f}s: {path}")
        patterns = {"errors": ("ERROR", False)}
        # 8d covers the whole week: the scanner reading everything, the cost a forward reader pays.
        for label, window in (("1h", 3600), ("24h", 86400), ("8d (whole file)", 8 * 86400)):
            result, seconds = timed(lambda w=window: scan(str(path), patterns, w, now=now))
            print(f"  scan last {label}: {seconds:.3f}s, read {result['bytes_read'] / 1e6:.1f} MB "
                  f"({100 * result['bytes_read'] / size:.2f}% of the file), {result['lines_read']} lines, "
                  f"errors={result['counts']['errors']} (expected {min(int(window / 60), 7 * 1440)})")
        through_probe(path)
        _, seconds = timed(lambda: subprocess.run(["grep", "-c", "ERROR", str(path)], capture_output=True, check=False))
        print(f"  reference: grep -c over the whole (page-cached) file: {seconds:.2f}s, counting no window")
    finally:
        path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
