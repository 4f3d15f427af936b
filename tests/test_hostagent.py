"""The host agent over a real sshd on loopback: same answers as per-command SSH, one session, timeouts kill."""

from __future__ import annotations

import subprocess
import time

import hosts_sshd
import pytest

from opscheck import connect, host, hostagent
from opscheck.errors import Unmeasurable
from opscheck.measurement import HostRef

sshd = hosts_sshd.sshd


@pytest.fixture(autouse=True)
def _fresh():
    connect.forget_down()
    yield
    connect.close_masters()
    connect.forget_down()


COMMANDS = [
    "echo out; echo err >&2; exit 3",
    "printf 'caf\\303\\251\\n'",  # not ascii: decoded with the host's encoding, as testinfra does
    "test -e /nonexistent",
    "cat /proc/loadavg >/dev/null && echo $((6*7))",
]


def test_agent_answers_exactly_as_per_command_ssh(sshd, monkeypatch):
    ref = HostRef("web-1", sshd.spec())
    with_agent = [host.run(ref, c, 5) for c in COMMANDS]
    assert len([s for s in hostagent._sessions.values() if s is not None]) == 1  # one session carried them all
    connect.close_masters()
    monkeypatch.setenv("OPSCHECK_HOST_AGENT", "off")
    per_command = [host.run(ref, c, 5) for c in COMMANDS]
    assert with_agent == per_command
    assert (with_agent[0].rc, with_agent[0].stdout, with_agent[0].stderr) == (3, "out\n", "err\n")
    assert with_agent[1].stdout == "café\n" and with_agent[3].stdout == "42\n"


def test_a_command_past_its_timeout_is_unknown_and_killed_on_the_host(sshd):
    ref = HostRef("web-1", sshd.spec())
    marker = f"opscheck-agent-test-{time.monotonic_ns()}"
    with pytest.raises(Unmeasurable, match=r"web-1: `sleep 30 # .*` timed out after 1s"):
        host.run(ref, f"sleep 30 # {marker}", 1)
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    assert left.stdout == ""
    assert host.run(ref, "echo still here", 5).stdout == "still here\n"  # the session outlives the timeout


def test_the_session_ends_with_close_and_its_commands_with_it(sshd):
    ref = HostRef("web-1", sshd.spec())
    assert host.run(ref, "echo up", 5).stdout == "up\n"
    session = hostagent._sessions[ref.spec]
    connect.close_masters()
    assert session._proc.poll() is not None and ref.spec not in hostagent._sessions
