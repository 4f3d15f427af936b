"""The daily suite on a fleet of namespace hosts: `python -m benchmarks.fleet [--sizes 50,200]`.

Builds the largest fleet once (tests/fleet_netns.py: one network namespace, address and
sshd per host, the runner in its own namespace), then for each size runs `opscheck run
daily` on the first N hosts twice: before = per-command SSH (OPSCHECK_HOST_AGENT=off,
testinfra with one ControlMaster per host), after = one agent session per host.

Runner CPU is everything the run's processes used (opscheck, pytest, ssh clients and the
ControlMasters they leave behind), read from a cpuacct cgroup made for each run; per-host
cost is that divided by the hosts. The hosts' sshds are not the runner and not counted.
`--kex curve25519-sha256` adds `KexAlgorithms` to the fleet's ssh_config (OpenSSH 9.2's
default sntrup761x25519 costs the client ~60 ms CPU per handshake; see the README).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import fleet_netns  # noqa: E402

CGROUP = Path("/sys/fs/cgroup/cpuacct")


def _child_env(agent: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["OPSCHECK_HOST_AGENT"] = "on" if agent else "off"
    return env


def run_suite(fleet, size: int, agent: bool, files, workdir: Path, extra: list[str] = ()) -> dict:
    hosts = fleet.hosts[:size]
    inventory = fleet_netns.daily_inventory(fleet, hosts, files, workdir / f"fleet-{size}.yml")
    reports = workdir / f"reports-{size}-{'agent' if agent else 'percmd'}"
    group = CGROUP / f"opscheck-bench-{os.getpid()}-{size}-{int(agent)}"
    group.mkdir()
    argv = fleet.in_runner([sys.executable, "-m", "opscheck", "run", "daily", "--suite-dir", str(ROOT),
                            f"--inventory={inventory}", "--reports-dir", str(reports), "--no-notify", *extra])
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=_child_env(agent), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, preexec_fn=lambda: (group / "tasks").write_text(str(os.getpid())))
        output = proc.communicate()[0]
        wall = time.perf_counter() - start
        time.sleep(0.5)  # let ControlMasters exit (ControlPersist) so their CPU is in
        cpu = int((group / "cpuacct.usage").read_text()) / 1e9
    finally:
        _empty(group)
    results = json.loads(next(reports.glob("*-daily/results.json")).read_text())
    verdicts = {c["id"]: c["verdict"] for c in results["checks"]}
    return {
        "hosts": size, "checks": len(verdicts), "mode": "agent" if agent else "per-command", "exit": proc.returncode,
        "wall_s": round(wall, 1), "runner_cpu_s": round(cpu, 2), "cpu_per_host_ms": round(cpu / size * 1000, 1),
        "verdicts": {v: list(verdicts.values()).count(v) for v in sorted(set(verdicts.values()))},
        "tail": output.strip().splitlines()[0] if output.strip() else "",
    }


def _empty(group: Path) -> None:
    for pid in (group / "tasks").read_text().split():  # ControlMasters still lingering: they are ours
        with contextlib.suppress(OSError):
            os.kill(int(pid), 15)
    for _ in range(50):
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="50,200", help="fleet sizes (default 50,200)")
    parser.add_argument("--modes", default="per-command,agent", help="per-command, agent or both")
    parser.add_argument("--kex", help="KexAlgorithms for the fleet's ssh_config (default: OpenSSH's own)")
    parser.add_argument("--run-arg", action="append", default=[], help="more arguments for opscheck run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "fleet.json"))
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    rows = []
    started = time.perf_counter()
    with fleet_netns.build(max(sizes)) as fleet:
        built = time.perf_counter() - started
        if args.kex:
            with fleet.ssh_config.open("a") as config:
                config.write(f"  KexAlgorithms {args.kex}\n")
        files = fleet_netns.daily_files(fleet.dir / "data")
        for size in sizes:
            for mode in modes:
                row = run_suite(fleet, size, mode == "agent", files, fleet.dir, args.run_arg)
                row["kex"] = args.kex or "default"
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\nfleet of {max(sizes)} built in {built:.1f}s; load average {os.getloadavg()[0]:.1f}")
    print("| hosts | checks | path | wall | runner CPU | per host |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['hosts']} | {r['checks']} | {r['mode']} | {r['wall_s']} s | {r['runner_cpu_s']} s | {r['cpu_per_host_ms']} ms |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
