"""opscheck's benchmark harness: `python -m benchmarks.run [--quick] [--out FILE]`.

Starts its own loopback targets, writes the inventories, and measures in one go:
- the suite's wall time for N HTTP checks (200 ms each) at several concurrency levels,
  next to a bare Python loop running the same probes (the floor);
- per-check framework overhead (pytest + plugin) over the bare loop, from the slope
  between 100 and 1,000 instant checks, so start-up is reported apart;
- peak memory (max RSS) of each suite run;
- the time the report writers take for 5,000 checks.
Prints a table and writes JSON (default benchmarks/out/results.json).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LATENCY = 0.2
# An ops box caches bytecode; this CI machine sets PYTHONDONTWRITEBYTECODE=1, which makes every
# run recompile (and re-rewrite the asserts of) ~150 modules. --no-bytecode measures that case.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@contextlib.contextmanager
def latency_server(latency: float):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "latency_server.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        port = int(proc.stdout.readline())
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def http_inventory(folder: Path, port: int, count: int, name: str) -> Path:
    lines = ["environment: benchmark", "defaults: {timeout: 10s}", "http:"]
    lines += [f"  - {{name: ep{i}, url: 'http://127.0.0.1:{port}/ep/{i}', expect: {{status: 200}}}}" for i in range(count)]
    path = folder / f"{name}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(argv: list[str], cwd: Path = ROOT, env: dict | None = None) -> dict:
    """Wall time and peak RSS of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env or CHILD_ENV)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    return {"wall_s": round(wall, 3), "max_rss_mb": round(usage.ru_maxrss / 1024, 1), "rc": proc.returncode, "tail": output.strip().splitlines()[-1:] }


def suite_run(inventory: Path, concurrency: int, reports: Path | None = None, extra: tuple = (), plugins: str = "all") -> dict:
    """One suite run; plugins="suite" loads only what `opscheck run` loads (autoload off)."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider", "-m", "daily",
            f"--inventory={inventory}", f"--concurrency={concurrency}", "checks/test_http.py", *extra]
    argv += [f"--reports-dir={reports}"] if reports else ["--no-reports"]
    env = dict(CHILD_ENV)
    if plugins == "suite":
        from opscheck.runner.invoke import SUITE_PLUGINS

        argv[3:3] = [arg for module in SUITE_PLUGINS for arg in ("-p", module)]
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return timed(argv, env=env)


def bare_run(inventory: Path, concurrency: int) -> dict:
    result = timed([sys.executable, str(ROOT / "benchmarks" / "bare_loop.py"), str(inventory), f"--concurrency={concurrency}"])
    result["bare"] = json.loads(result.pop("tail")[0]) if result["rc"] == 0 else None
    return result


def http_scaling(folder: Path, quick: bool) -> list[dict]:
    rows = []
    counts = (10, 100, 200) if quick else (10, 100, 200, 1000)
    with latency_server(LATENCY) as port:
        for n in counts:
            inventory = http_inventory(folder, port, n, f"http{n}")
            for c in (1, 16, 32, 64, 200):
                if n * LATENCY / c > (25 if quick else 45) or (c > n and c != 16):
                    continue  # would only show a longer sleep
                suite = suite_run(inventory, c)
                bare = bare_run(inventory, c)
                rows.append({"n": n, "concurrency": c, "suite_s": suite["wall_s"], "bare_s": bare["wall_s"],
                             "max_rss_mb": suite["max_rss_mb"], "rc": suite["rc"], "summary": suite["tail"]})
                print(f"  http n={n:<5} c={c:<4} suite {suite['wall_s']:7.2f}s  bare {bare['wall_s']:7.2f}s  rss {suite['max_rss_mb']:6.1f} MB  {suite['tail']}", flush=True)
    return rows


def overhead(folder: Path) -> dict:
    """Per-check cost of pytest + plugin over the bare loop, on instant endpoints."""
    result = {}
    with latency_server(0.0) as port:
        inventories = {n: http_inventory(folder, port, n, f"instant{n}") for n in (100, 1000)}
        bare = {n: min((bare_run(inventories[n], 1) for _ in range(3)), key=lambda r: r["wall_s"]) for n in inventories}
        bare_slope = (bare[1000]["wall_s"] - bare[100]["wall_s"]) / 900
        result["bare"] = {"100_s": bare[100]["wall_s"], "1000_s": bare[1000]["wall_s"], "per_check_ms": round(bare_slope * 1000, 3)}
        for plugins in ("suite", "all"):
            suite = {n: min((suite_run(inventories[n], 1, plugins=plugins) for _ in range(3)), key=lambda r: r["wall_s"])
                     for n in inventories}
            slope = (suite[1000]["wall_s"] - suite[100]["wall_s"]) / 900
            reports = suite_run(inventories[1000], 1, reports=folder / f"reports-{plugins}", plugins=plugins)
            result[f"plugins_{plugins}"] = {
                "100_s": suite[100]["wall_s"],
                "1000_s": suite[1000]["wall_s"],
                "per_check_ms": round(slope * 1000, 3),
                "overhead_per_check_ms": round((slope - bare_slope) * 1000, 3),
                "startup_s": round(suite[100]["wall_s"] - 100 * slope, 3),
                "1000_with_reports_s": reports["wall_s"],
                "max_rss_1000_mb": suite[1000]["max_rss_mb"],
            }
            print(f"  plugins={plugins}: {result[f'plugins_{plugins}']}", flush=True)
    print(f"  bare loop: {result['bare']}", flush=True)
    return result


def writers(count: int = 5000) -> dict:
    """Time each report writer on `count` synthetic checks."""
    sys.path.insert(0, str(ROOT / "src"))
    import importlib

    from opscheck.plugin.results import WRITERS
    from opscheck.reports.run import Run, utcnow

    verdicts = ("OK", "WARN", "CRIT", "UNKNOWN")
    run = Run(id="bench", suite="daily", environment="benchmark", started=utcnow())
    run.checks = [
        {"id": f"checks/test_http.py::test_http[ep{i}]", "check": "http", "target": f"ep{i}", "kind": "http",
         "host": None, "verdict": verdicts[i % 4], "severity": "high", "value": 0.2 + i % 7, "unit": "s",
         "warn": 0.5, "crit": 1.0, "direction": "above", "summary": f"ep{i} answered 200 in 200ms (warn 500ms, crit 1s)",
         "problems": [], "warnings": [], "evidence": {"status": 200, "body": "{\"status\": \"healthy\"}" * 4},
         "schedules": ["daily"], "runbook": None, "duration_s": 0.2}
        for i in range(count)
    ]
    run.finished = utcnow()
    run.exit_status = 1
    timings = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in WRITERS:
            module = importlib.import_module(name)
            if not hasattr(module, "write"):
                continue
            start = time.perf_counter()
            try:
                module.write(run, Path(tmp))
                timings[name.rsplit(".", 1)[-1]] = round(time.perf_counter() - start, 3)
            except Exception as exc:  # noqa: BLE001 - a writer needing a live session is reported, not fatal
                timings[name.rsplit(".", 1)[-1]] = f"n/a ({type(exc).__name__}: {exc})"
    total = sum(v for v in timings.values() if isinstance(v, float))
    print(f"  writers for {count} checks: {timings} total {total:.3f}s", flush=True)
    return {"checks": count, "seconds": timings, "total_s": round(total, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller N, for a first look (about 1 minute)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "results.json"))
    parser.add_argument("--only", choices=("http", "overhead", "writers"), action="append")
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE for the runs")
    args = parser.parse_args()
    if args.no_bytecode:
        CHILD_ENV["PYTHONDONTWRITEBYTECODE"] = "1"
    only = set(args.only or ("http", "overhead", "writers"))
    report = {"machine": {"cores": os.cpu_count(), "python": platform.python_version()}, "latency_s": LATENCY,
              "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in CHILD_ENV}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "http" in only:
            print("HTTP endpoints at 200 ms:", flush=True)
            report["http"] = http_scaling(folder, args.quick)
        if "overhead" in only:
            print("Framework overhead (instant endpoints):", flush=True)
            report["overhead"] = overhead(folder)
    if "writers" in only:
        print("Report writers:", flush=True)
        report["writers"] = writers()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
