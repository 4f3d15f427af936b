"""Median probe time of the issue-17 kinds on this machine (local://), through the real probes.

    python -m benchmarks.probes_17 [--runs 15]

- command: a sh script printing a value, argv without a shell; and `sh -c` with a pipe;
- journal: a real journal file of 20,000 entries over 24 h (systemd-journal-remote),
  the last hour of one unit at priority err, read by journalctl and counted;
- rotations: the last 4.5 days of a log with dateext rotations compressed by xz, bzip2
  and zstd (10,000 lines a day), through the scanner as `python3 -c` on the host.

Each run clears the logs probe's per-entry cache, so every probe reads afresh.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from journal_files import entry, write_journal  # noqa: E402

from opscheck import registry  # noqa: E402
from opscheck.inventory.loader import load_inventory  # noqa: E402
from opscheck.measuring import probe_once  # noqa: E402
from opscheck.probes import logs  # noqa: E402


def median_ms(target, runs: int) -> tuple[float, str]:
    times, verdict = [], ""
    for _ in range(runs):
        logs._cache.clear()
        m = probe_once(target)
        verdict = m.error or f"value {m.value}"
        times.append(m.duration_s * 1000)
    return statistics.median(times), verdict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="opscheck-bench17-"))
    now = time.time()
    script = folder / "status.sh"
    script.write_text("#!/bin/sh\necho 'mode: PAPER'\necho '3 high severity vulnerabilities'\n")
    script.chmod(0o755)
    units = ["nginx.service", "app.service", "cron.service", "ssh.service"]
    prios = ["info", "info", "info", "warning", "err"]
    write_journal(folder / "journal", [
        entry(i * 86400 / 20000, f"request {i} upstream timed out" if i % 7 == 0 else f"request {i} served",
              unit=units[i % 4], priority=prios[i % 5], now=now) for i in range(20000)])
    log = folder / "app.log"
    day = 86400
    for n, tool in enumerate([None, None, "xz", "bzip2", "zstd"]):
        name = log if n == 0 else folder / f"app.log-{time.strftime('%Y%m%d', time.gmtime(now - (n - 1) * day))}"
        lines = "".join(
            f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now - n * day - k * 8.64))} {'ERROR x' if k % 9 == 0 else 'INFO y'}\n"
            for k in range(10000, 0, -1))
        name.write_text(lines)
        if tool:
            subprocess.run([tool, "-q", "-f", str(name)], check=True)
            name = Path(f"{name}.{ {'xz': 'xz', 'bzip2': 'bz2', 'zstd': 'zst'}[tool] }")
        os.utime(name, (now - n * day, now - n * day))
    inv = folder / "inventory.yml"
    inv.write_text(textwrap.dedent(f"""
        commands:
          - {{name: argv, command: ["{script}"], read_only: true, expect: {{stdout: PAPER}}, value: {{regex: "(\\\\d+) high", crit: 5}}}}
          - {{name: shell, shell: "{script} | grep -q PAPER", read_only: true}}
        logs:
          - {{name: journal, journal: {{unit: nginx, priority: err, directory: {folder}/journal}}, window: 1h, pattern: "timed out"}}
          - {{name: rotations, path: {log}, window: 108h, pattern: ERROR}}
    """))
    inventory = load_inventory(inv)
    rows = []
    for kind in ("command", "log_pattern"):
        for target in registry.get(kind).targets(inventory):
            ms, seen = median_ms(target, args.runs)
            rows.append((target.id, ms, seen))
    print(f"runs per probe: {args.runs}; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}")
    for name, ms, seen in rows:
        print(f"{name:60} median {ms:8.1f} ms   ({seen})")
    subprocess.run(["rm", "-rf", str(folder)], check=False)


if __name__ == "__main__":
    main()
