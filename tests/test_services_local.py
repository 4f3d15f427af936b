"""Services on the local backend, against processes and listeners this test starts and stops."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from conftest import free_port


@pytest.fixture
def marker_process():
    """A process with a command line nobody else has."""
    marker = f"opscheck-h3-{uuid.uuid4().hex[:12]}"
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", marker])
    yield marker, proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture
def loopback_listeners():
    """Two listening loopback sockets owned by this test process."""
    socks = []
    for _ in range(2):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        socks.append(sock)
    yield [s.getsockname()[1] for s in socks]
    for sock in socks:
        sock.close()


def test_processes_ports_and_allow_list(suite, marker_process, loopback_listeners):
    marker, pid = marker_process
    open_port, extra_port = loopback_listeners
    closed = free_port()
    result = suite.run("-m", "daily", inventory=f"""
        services:
          - processes:
              - {{pattern: "{marker}", min: 1, max: 1}}
              - {{pattern: "python.*{marker}$", min: 2}}
              - {{pattern: "{marker}", user: nobody-h3, min: 0, max: 0}}
            listening: [{open_port}, {closed}]
            only: [{open_port}]
        """)
    verdicts = suite.verdicts()
    assert verdicts == {
        f"test_process_running[local:{marker}]": "OK",
        f"test_process_running[local:python.*{marker}$]": "CRIT",
        f"test_process_running[local:{marker} as nobody-h3]": "OK",
        f"test_port_listening[local:{open_port}]": "OK",
        f"test_port_listening[local:{closed}]": "CRIT",
        "test_only_expected_listeners[local]": "CRIT",
    }
    result.assert_outcomes(passed=3, failed=3)

    ok = suite.check(f"test_process_running[local:{marker}]")
    assert ok["value"] == 1 and ok["summary"] == f"/{marker}/ 1 process running (min 1, max 1)"
    (row,) = ok["evidence"]
    assert row["pid"] == pid and marker in row["command"] and row["user"] and row["rss"].endswith(("KiB", "MiB"))
    too_few = suite.check(f"test_process_running[local:python.*{marker}$]")
    assert too_few["value"] == 1
    assert too_few["summary"] == f"/python.*{marker}$/ 1 process running (min 2): expected at least 2"

    me = f"{Path('/proc/self/comm').read_text().strip()} pid {os.getpid()}"  # how ss names this process
    listening = suite.check(f"test_port_listening[local:{open_port}]")
    assert listening["summary"] == f"tcp/{open_port} listening on 127.0.0.1 ({me})"
    assert listening["evidence"] == [f"tcp/{open_port} on 127.0.0.1 ({me})"]
    assert suite.check(f"test_port_listening[local:{closed}]")["summary"] == f"tcp/{closed}: nothing listens on it"

    allow = suite.check("test_only_expected_listeners[local]")
    assert f"tcp/{extra_port} on 127.0.0.1 ({me})" in allow["evidence"]["unexpected"]
    assert f"tcp/{open_port} " not in " ".join(allow["evidence"]["unexpected"])
    assert allow["value"] == len(allow["evidence"]["unexpected"]) >= 1
    allowed = ", ".join(str(p) for p in sorted([open_port, closed]))
    assert allow["summary"].startswith(f"{len(allow['evidence']['all'])} TCP listeners, allowed ports {allowed}: unexpected listener tcp/")
    result.stdout.fnmatch_lines(["*unexpected listener tcp/*"])


def test_units_without_systemd_are_unknown_with_the_reason(suite):
    result = suite.run("-m", "daily", inventory="services:\n  - units: [ssh]\n")
    record = suite.check("test_unit_running[local:ssh]")
    if Path("/run/systemd/system").is_dir():  # a CI runner booted with systemd: the unit is judged
        assert record["verdict"] in ("OK", "WARN", "CRIT") and record["evidence"]["Id"]
        return
    result.assert_outcomes(errors=1)
    assert record["verdict"] == "UNKNOWN"
    pid1 = Path("/proc/1/comm").read_text().strip()
    assert record["summary"] == f"local:ssh: systemd is not running (PID 1 is {pid1}): units cannot be checked"
    result.stdout.fnmatch_lines([f"*UNKNOWN: local:ssh: systemd is not running (PID 1 is {pid1})*"])


def test_tcp_reachability_and_latency(suite, loopback_listeners):
    open_port, _ = loopback_listeners
    closed = free_port()
    result = suite.run("-m", "daily", inventory=f"""
        tcp:
          - {{endpoint: "127.0.0.1:{open_port}", latency: {{warn: 500ms, crit: 2s}}}}
          - {{name: backend ws, endpoint: "127.0.0.1:{closed}"}}
          - {{name: strict, endpoint: "localhost:{open_port}", latency: {{warn: 0s}}}}
        """)
    assert suite.verdicts() == {
        f"test_tcp_reachable[127.0.0.1:{open_port}]": "OK",
        "test_tcp_reachable[backend ws]": "CRIT",
        "test_tcp_reachable[strict]": "WARN",
    }
    result.assert_outcomes(passed=1, failed=1)
    assert result.parseoutcomes()["warned"] == 1
    ok = suite.check(f"test_tcp_reachable[127.0.0.1:{open_port}]")
    assert ok["unit"] == "s" and 0 <= ok["value"] < 0.5 and ok["warn"] == 0.5 and ok["crit"] == 2
    assert ok["summary"].startswith(f"127.0.0.1:{open_port} ") and ok["summary"].endswith("connect (warn 500ms, crit 2s)")
    assert ok["evidence"]["peer"] == f"127.0.0.1:{open_port}"
    assert suite.check("test_tcp_reachable[backend ws]")["summary"] == f"backend ws: 127.0.0.1:{closed}: connection refused"
    assert suite.check("test_tcp_reachable[strict]")["summary"].endswith("connect (warn 0ms)")
