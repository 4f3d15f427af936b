"""opscheck next to the Monitoring Plugins: `python -m benchmarks.vs_plugins [--rounds 5]`.

The same 200 targets checked three ways, in interleaved rounds (the machine is shared:
each round runs every way once, so load swings hit them alike), min and median printed:
- the Monitoring Plugins one process per check, one after another (cron's way);
- the same command lines under `xargs -P 8` (a parallel Nagios);
- `opscheck run daily` over an inventory of the same targets, every report written.

Targets, all on loopback and started here: 100 HTTP checks on `latency_server.py` answering
after 50 ms, 40 TCP connects, 40 TLS certificate-days checks on a local TLS server, 10 disk
checks (5 local hosts x `/` and `/dev/shm`), 10 file ages. Also measured: the CPU per added
check (slope between 200 and 2,000 checks of the same mix, plugins and opscheck), the
start-up before the first probe, the report folder for 5,000 checks, and peak memory at
20,000 checks (`--no-large` skips the last two).

It installs nothing: without Debian's monitoring-plugins-basic/-standard
(`apt-get install monitoring-plugins-basic monitoring-plugins-standard`) the plugin
columns are left out. Bytecode caching is on (PYTHONDONTWRITEBYTECODE removed), as on an
ops box; `--no-bytecode` keeps it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = Path("/usr/lib/nagios/plugins")
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
MIX = {"http": 100, "tcp": 40, "tls": 40, "disk": 10, "file_age": 10}
MOUNTS = ("/", "/dev/shm")


@contextlib.contextmanager
def http_server(latency: float):
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "latency_server.py"), "--latency", str(latency)],
                            stdout=subprocess.PIPE, text=True)
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def tls_server(folder: Path):
    """A TLS listener with a self-signed certificate for `localhost`, valid 200 days: the handshake is the check."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "200", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0), backlog=512)
    stop = threading.Event()

    def serve(conn):
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True) as tls:
            tls.settimeout(5)
            with contextlib.suppress(OSError):
                data = tls.recv(4096)
                if data.startswith((b"GET", b"HEAD")):  # check_http -S sends a request after the handshake
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], cert
    finally:
        stop.set()
        thread.join()
        listener.close()


def scaled(total: int) -> dict[str, int]:
    """The mix for `total` checks (200 is MIX itself)."""
    counts = {kind: n * total // 200 for kind, n in MIX.items()}
    counts["http"] += total - sum(counts.values())
    return counts


def inventory(folder: Path, total: int, http_port: int, tls_port: int, ca: Path, files: list[Path]) -> Path:
    n = scaled(total)
    hosts = max(1, n["disk"] // len(MOUNTS))
    lines = ["environment: benchmark", "defaults: {timeout: 10s}",
             "hosts: {" + ", ".join(f"h{i}: ['local://']" for i in range(hosts)) + "}", "http:"]
    lines += [f"  - {{name: ep{i}, url: 'http://127.0.0.1:{http_port}/ep/{i}', expect: {{status: 200}}}}" for i in range(n["http"])]
    lines += ["tcp:"] + [f"  - {{name: port{i}, endpoint: '127.0.0.1:{http_port}'}}" for i in range(n["tcp"])]
    lines += ["tls:"] + [f"  - {{name: cert{i}, endpoint: '127.0.0.1:{tls_port}', servername: localhost, ca_file: '{ca}', days: {{warn: 30, crit: 7}}}}"
                         for i in range(n["tls"])]
    lines += ["system:"] + [f"  - {{on: h{i}, disk: [" + ", ".join(f"{{mount: '{m}', warn: 99%, crit: 100%}}" for m in MOUNTS) + "]}"
                            for i in range(hosts)]
    lines += ["backups:"] + [f"  - {{name: dump{i}, on: h0, path: '{f.parent}', pattern: '{f.name}', max_age: 5h}}"
                             for i, f in enumerate(files[: n["file_age"]])]
    path = folder / f"mix{total}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def plugin_commands(total: int, http_port: int, tls_port: int, files: list[Path]) -> list[str]:
    """The plugin command line for each check of the mix, as a Nagios service definition would run it."""
    n = scaled(total)
    p = PLUGINS
    cmds = [f"{p}/check_http -H 127.0.0.1 -p {http_port} -u /ep/{i} -e 200 -w 1 -c 2 -t 10" for i in range(n["http"])]
    cmds += [f"{p}/check_tcp -H 127.0.0.1 -p {http_port} -t 10" for _ in range(n["tcp"])]
    cmds += [f"{p}/check_http -H localhost -I 127.0.0.1 -p {tls_port} --sni -S -C 30,7 -t 10" for _ in range(n["tls"])]
    cmds += [f"{p}/check_disk -w 1% -c 0% -p {MOUNTS[i % len(MOUNTS)]}" for i in range(n["disk"])]
    cmds += [f"{p}/check_file_age -w 18000 -c 36000 -f {files[i % len(files)]}" for i in range(n["file_age"])]
    return cmds


def timed(argv: list[str], **kwargs) -> dict:
    """Wall and CPU (user + system of the child and everything it waited for: os.times' children fields)."""
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=kwargs.get("cwd", ROOT), env=kwargs.get("env") or CHILD_ENV,
                            stdin=subprocess.PIPE if kwargs.get("stdin") else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = proc.communicate(kwargs.get("stdin"))
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return {"wall": wall, "cpu": cpu, "rc": proc.returncode, "output": output}


def run_plugins(commands: list[str], parallel: int) -> dict:
    script = "\n".join(commands) + "\n"
    if parallel == 1:
        return timed(["sh", "-c", "while IFS= read -r c; do $c >/dev/null; done"], stdin=script)
    return timed(["sh", "-c", f"xargs -d '\\n' -P {parallel} -I{{}} sh -c '{{}} >/dev/null; true'"], stdin=script)


def run_opscheck(inv: Path, reports: Path | None, src: str | None = None) -> dict:
    argv = [sys.executable, "-m", "opscheck", "run", "daily", f"--inventory={inv}", "--no-notify"]
    argv += [f"--reports-dir={reports}"] if reports else ["--no-reports"]
    result = timed(argv, env={**CHILD_ENV, "PYTHONPATH": src} if src else None)
    last = [line for line in result["output"].splitlines() if line.strip()][-1:]
    result["tail"] = last[0] if last else ""
    return result


def startup(inv: Path, src: str | None = None) -> float:
    """From `opscheck run` starting to its first probe reaching the wire: one TCP check at a listener
    here that notes when the connection arrives."""
    listener = socket.create_server(("127.0.0.1", 0))
    one = inv.parent / "one.yml"
    one.write_text(f"environment: benchmark\ntcp:\n  - {{name: first, endpoint: '127.0.0.1:{listener.getsockname()[1]}'}}\n")
    arrived = []

    def accept():
        conn, _ = listener.accept()
        arrived.append(time.perf_counter())
        conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    start = time.perf_counter()
    timed([sys.executable, "-m", "opscheck", "run", "daily", f"--inventory={one}", "--no-notify", "--no-reports"],
          env={**CHILD_ENV, "PYTHONPATH": src} if src else None)
    thread.join(5)
    listener.close()
    return arrived[0] - start if arrived else float("nan")


def stats(values: list[float]) -> dict:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3)}


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--large-rounds", type=int, default=2, help="rounds for 2,000 checks, 5,000 reports, 20,000 memory")
    parser.add_argument("--no-large", action="store_true", help="skip the 5,000-check report and 20,000-check memory runs")
    parser.add_argument("--large-only", action="store_true", help="only the 5,000-check report and 20,000-check memory runs")
    parser.add_argument("--also-src", metavar="DIR", help="also run opscheck from this src/ (e.g. a checkout of the previous version's src), interleaved")
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "vs_plugins.json"))
    args = parser.parse_args()
    if args.no_bytecode:
        CHILD_ENV["PYTHONDONTWRITEBYTECODE"] = "1"
    have_plugins = all((PLUGINS / p).exists() for p in ("check_http", "check_tcp", "check_disk", "check_file_age"))
    if not have_plugins:
        print(f"Monitoring Plugins not found in {PLUGINS}: measuring opscheck only "
              "(apt-get install monitoring-plugins-basic monitoring-plugins-standard)")
    report = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
              "load_at_start": load()}, "mix": MIX, "bytecode_cache": "PYTHONDONTWRITEBYTECODE" not in CHILD_ENV}
    print(f"{report['date']}, {os.cpu_count()} cores, load {load()}", flush=True)
    if not args.large_only:
        side_by_side(args, report, have_plugins)
    if not args.no_large:
        # Memory first: RUSAGE_CHILDREN's peak is over every child waited for so far, and the
        # side-by-side children are far smaller than 20,000 checks.
        report["memory_20000"] = large_memory()
        report["report_5000"] = large_reports(args.large_rounds)
    report["machine"]["load_at_end"] = load()
    if "200" in report:
        print_table(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"written {out}")


def side_by_side(args, report: dict, have_plugins: bool) -> None:
    """200 checks each way in interleaved rounds, the CPU slope to 2,000, and the start-up."""
    with tempfile.TemporaryDirectory(prefix="opscheck-vs-") as tmp, http_server(0.05) as http_port:
        folder = Path(tmp)
        files = []
        for i in range(MIX["file_age"]):
            (folder / f"dumps{i}").mkdir()
            files.append(folder / f"dumps{i}" / "db.sql.gz")
            files[-1].write_bytes(b"\x1f\x8b" + b"0" * 64)
        with tls_server(folder) as (tls_port, ca):
            inv = {n: inventory(folder, n, http_port, tls_port, ca, files) for n in (200, 2000)}
            cmds = {n: plugin_commands(n, http_port, tls_port, files) for n in (200, 2000)}
            ways = {"opscheck": lambda: run_opscheck(inv[200], folder / "reports")}
            if args.also_src:
                ways[f"opscheck from {args.also_src}"] = lambda: run_opscheck(inv[200], folder / "reports", args.also_src)
            if have_plugins:
                ways["plugins, sequential"] = lambda: run_plugins(cmds[200], 1)
                ways["plugins, xargs -P 8"] = lambda: run_plugins(cmds[200], 8)
            samples = {name: {"wall": [], "cpu": []} for name in ways}
            for r in range(args.rounds):
                for name, way in ways.items():
                    res = way()
                    samples[name]["wall"].append(res["wall"])
                    samples[name]["cpu"].append(res["cpu"])
                    extra = f"  {res.get('tail', '')}" if name.startswith("opscheck") else ""
                    print(f"  round {r + 1} {name:<20} wall {res['wall']:6.2f}s cpu {res['cpu']:6.2f}s rc {res['rc']}{extra}  (load {load()})", flush=True)
            shutil.rmtree(folder / "reports", ignore_errors=True)
            report["200"] = {name: {k: stats(v) for k, v in s.items()} for name, s in samples.items()}
            report["rounds"] = args.rounds
            # CPU per added check: CPU slope between 200 and 2,000 checks (the minimum over rounds of each),
            # so start-up is not spread over the checks. Reports on at both points.
            slopes = {}
            big = {"opscheck": lambda: run_opscheck(inv[2000], folder / "reports")}
            if have_plugins:
                big["plugins, xargs -P 8"] = lambda: run_plugins(cmds[2000], 8)
            for name, way in big.items():
                cpu2000 = min(way()["cpu"] for _ in range(args.large_rounds))
                slopes[name] = round((cpu2000 - min(samples[name]["cpu"])) / 1800 * 1000, 2)
            if have_plugins:
                slopes["plugins, sequential"] = slopes["plugins, xargs -P 8"]  # the same processes
            shutil.rmtree(folder / "reports", ignore_errors=True)
            report["cpu_per_added_check_ms"] = slopes
            report["startup_to_first_probe_s"] = stats([startup(inv[200]) for _ in range(args.rounds)])
            if args.also_src:
                report["startup_to_first_probe_s_also_src"] = stats([startup(inv[200], args.also_src) for _ in range(args.rounds)])


def large_reports(rounds: int) -> dict:
    """5,000 instant HTTP checks, with every report written and with none: the difference is the report folder."""
    with tempfile.TemporaryDirectory(prefix="opscheck-vs-") as tmp, http_server(0.0) as port:
        folder = Path(tmp)
        lines = ["environment: benchmark", "defaults: {timeout: 10s}", "http:"]
        lines += [f"  - {{url: 'http://127.0.0.1:{port}/ep/{i}'}}" for i in range(5000)]
        inv = folder / "http5000.yml"
        inv.write_text("\n".join(lines) + "\n")
        on, off = [], []
        for _ in range(rounds):
            on.append(run_opscheck(inv, folder / "reports")["wall"])
            off.append(run_opscheck(inv, None)["wall"])
            shutil.rmtree(folder / "reports", ignore_errors=True)
        result = {"with_reports_s": stats(on), "no_reports_s": stats(off), "report_folder_s": round(min(on) - min(off), 3)}
        print(f"  5,000 checks: {result}", flush=True)
        return result


def large_memory() -> dict:
    """20,000 instant HTTP checks with reports: peak RSS of the pytest process (the largest child)."""
    with tempfile.TemporaryDirectory(prefix="opscheck-vs-") as tmp, http_server(0.0) as port:
        folder = Path(tmp)
        lines = ["environment: benchmark", "defaults: {timeout: 10s}", "http:"]
        # Two values an entry: the loader refuses inventories of more than 100,000 values (alias bombs).
        lines += [f"  - {{url: 'http://127.0.0.1:{port}/ep/{i}'}}" for i in range(20000)]
        inv = folder / "http20000.yml"
        inv.write_text("\n".join(lines) + "\n")
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "opscheck", "run", "daily", f"--inventory={inv}", "--no-notify",
                                 f"--reports-dir={folder / 'reports'}"], cwd=ROOT, env=CHILD_ENV,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output, _ = proc.communicate()
        wall = time.perf_counter() - start
        import resource

        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        result = {"wall_s": round(wall, 1), "max_rss_mb": round(rss, 1), "rc": proc.returncode,
                  "tail": [line for line in output.splitlines() if line.strip()][-1:]}
        print(f"  20,000 checks: {result}", flush=True)
        return result


def print_table(report: dict) -> None:
    rows = report["200"]
    print(f"\n200 checks ({', '.join(f'{n} {k}' for k, n in MIX.items())}), {report['rounds']} rounds, min/median:")
    print("| | wall min | wall median | CPU min | CPU per added check |")
    print("| --- | --- | --- | --- | --- |")
    slopes = report.get("cpu_per_added_check_ms", {})
    for name, s in rows.items():
        print(f"| {name} | {s['wall']['min']:.2f} s | {s['wall']['median']:.2f} s | {s['cpu']['min']:.2f} s | {slopes.get(name, '–')} ms |")
    if "plugins, xargs -P 8" in rows:
        o = rows["opscheck"]["wall"]
        for name in ("plugins, sequential", "plugins, xargs -P 8"):
            p = rows[name]["wall"]
            print(f"opscheck / {name}: {o['min'] / p['min']:.2f}x (min), {o['median'] / p['median']:.2f}x (median)")
    print(f"start-up to the first probe: {report['startup_to_first_probe_s']}")
    if "startup_to_first_probe_s_also_src" in report:
        print(f"start-up to the first probe, --also-src: {report['startup_to_first_probe_s_also_src']}")


if __name__ == "__main__":
    main()
