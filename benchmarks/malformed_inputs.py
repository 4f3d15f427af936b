"""Time and peak memory of refusing each malformed input (issue 14 §3: < 5 s and < 200 MB each).

    python -m benchmarks.malformed_inputs [--redact]

Runs `opscheck inventory check` on every file of tests/data/malformed/inventories (and a FIFO,
/dev/zero and a folder), one process each, and prints the slowest and the largest (max RSS,
the whole interpreter included). `--redact` also times the redactor on 1 KB and 64 KB of the
adversarial strings of issue 14 (`"tokenx-" * n` took 53 s at 5.6 KB before).
PYTHONDONTWRITEBYTECODE is left as the environment has it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "malformed" / "inventories"


def measure(path: str) -> tuple[float, float, int, float]:
    """Seconds, max RSS in MB, exit code and CPU seconds of `opscheck inventory check -q PATH`."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "opscheck.cli", "inventory", "check", "-q", path],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "OPSCHECK_CORPUS_SECRET": "x"})
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, max(usage.ru_maxrss, before) / 1024, proc.returncode, usage.ru_utime + usage.ru_stime - cpu


def redaction() -> None:
    from opscheck.redact import redact

    for unit in ("tokenx-", "a://b:", 'cookie:"a,', "password ", "x..."):
        row = []
        for size in (1024, 65536):
            text = (unit * (size // len(unit) + 1))[:size]
            start = time.perf_counter()
            redact(text)
            row.append(time.perf_counter() - start)
        print(f"redact {unit!r:14} 1 KB {row[0] * 1000:7.2f} ms   64 KB {row[1] * 1000:7.2f} ms   ratio {row[1] / row[0]:5.0f}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fifo = Path(tmp) / "pipe.yml"
        os.mkfifo(fifo)
        paths = [*map(str, sorted(CORPUS.glob("*.yml"))), str(fifo), "/dev/zero", tmp]
        rows = []
        for path in paths:
            seconds, rss, code, cpu = measure(path)
            rows.append((seconds, rss, code, Path(path).name, cpu))
    bad = [r for r in rows if r[2] != 3]
    print(f"{len(rows)} inputs, exit 3 for {len(rows) - len(bad)}; others: {bad}")
    print("slowest (wall):", *(f"{name} {s:.2f}s" for s, _, _, name, _ in sorted(rows, reverse=True)[:3]))
    print("slowest (CPU): ", *(f"{name} {c:.2f}s" for _, _, _, name, c in sorted(rows, key=lambda r: -r[4])[:3]))
    print("largest:       ", *(f"{name} {m:.0f}MB" for _, m, _, name, _ in sorted(rows, key=lambda r: -r[1])[:3]))
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("(max RSS is cumulative over children: the largest single process so far)")
    if "--redact" in sys.argv:
        redaction()


if __name__ == "__main__":
    main()
