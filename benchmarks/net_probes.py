"""Median probe time of the issue-17 kinds on loopback targets this script starts (dns, tls_protocols,
listeners, audit). `python -m benchmarks.net_probes [--runs N]` from the project root.

Each probe runs alone (no concurrency), so the figure is one target's cost: for dns the
query's round trip, for tls_protocols two s_client processes, for listeners one `ss`,
for audit one `npm audit` (against a local advisory endpoint: tests/data/audits) or pip-audit.
"""

from __future__ import annotations

import argparse
import getpass
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from opscheck import registry  # noqa: E402
from opscheck.inventory import load_inventory  # noqa: E402
from opscheck.judging import evaluate  # noqa: E402
from opscheck.measuring import probe_once  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_tcp(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)


def timed(folder: Path, kind: str, section: str, entry: str, runs: int) -> tuple[float, str]:
    path = folder / f"{kind}.yml"
    path.write_text(f"{section}:\n  - {entry}\n")
    (target,) = registry.get(kind).targets(load_inventory(path))
    times, verdict = [], ""
    for _ in range(runs):
        m = probe_once(target)
        times.append(m.duration_s)
        verdict = evaluate(m).verdict.value
    return statistics.median(times), verdict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    from http_tls_servers import Pki
    from test_audits_tools import AdvisoryRegistry

    rows, procs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            (folder / "hosts").write_text("203.0.113.10 api.example.test\n")
            dns_port = free_port()
            procs.append(subprocess.Popen(
                ["dnsmasq", "--no-daemon", f"--port={dns_port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                 "--no-hosts", f"--addn-hosts={folder / 'hosts'}", "--local=/example.test/", f"--pid-file={folder / 'pid'}",
                 f"--user={getpass.getuser()}"], stderr=subprocess.DEVNULL))
            cert, key = Pki(folder).leaf("bench")
            tls_ports = {}
            for name, flags in {"legacy": ["-min_protocol", "TLSv1", "-cipher", "DEFAULT:@SECLEVEL=0"], "modern": []}.items():
                tls_ports[name] = port = free_port()
                procs.append(subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
                                               "-www", *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                wait_tcp(port)
            time.sleep(0.3)
            import threading
            from http.server import ThreadingHTTPServer
            server = ThreadingHTTPServer(("127.0.0.1", 0), AdvisoryRegistry)
            threading.Thread(target=server.serve_forever, daemon=True).start()
            project = folder / "frontend"
            shutil.copytree(ROOT / "tests" / "data" / "audits" / "npm-vulnerable", project)
            (project / ".npmrc").write_text(f"registry=http://127.0.0.1:{server.server_address[1]}/\n")
            (folder / "requirements.txt").write_text("opscheck-no-such-package-zz==1.0\n")

            plan = [
                ("dns", "dns", f"{{query: api.example.test, expect: [203.0.113.10], server: '127.0.0.1:{dns_port}'}}", runs),
                ("dns", "dns", f"{{query: nope.example.test, server: '127.0.0.1:{dns_port}'}}", runs),
                ("tls_protocols", "tls", f"{{endpoint: '127.0.0.1:{tls_ports['legacy']}'}}", runs),
                ("tls_protocols", "tls", f"{{endpoint: '127.0.0.1:{tls_ports['modern']}'}}", runs),
                ("listeners", "services", "{only: ['1-1023', '127.0.0.1:1024-65535', '[::1]:1024-65535']}", runs),
                ("audit", "audits", f"{{tool: npm, path: {project}, timeout: 60s, critical: {{crit: 0}}}}", max(3, runs // 3)),
                ("audit", "audits", f"{{tool: pip-audit, path: {folder}, timeout: 60s}}", max(3, runs // 3)),
            ]
            for kind, section, entry, n in plan:
                median, verdict = timed(folder, kind, section, entry, n)
                rows.append((kind, entry[:70], verdict, median, n))
            server.shutdown()
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait()
    print(f"{'kind':<14} {'verdict':<8} {'median':>9} runs  entry")
    for kind, entry, verdict, median, n in rows:
        print(f"{kind:<14} {verdict:<8} {median * 1000:>7.1f}ms {n:>4}  {entry}")


if __name__ == "__main__":
    main()
