"""Parsers and rules of the host probes, on outputs captured from real tools."""

from __future__ import annotations

import pytest

from opscheck.connect import connection_failed, forget_down, known_down
from opscheck.errors import TargetDown, Unmeasurable
from opscheck.judging import evaluate
from opscheck.measurement import HostRef
from opscheck.probes.files import excess
from opscheck.probes.hygiene import parse_apt, parse_dnf
from opscheck.probes.services import judge_unit, parse_show
from opscheck.probes.services.processes import is_loopback, parse_ps, parse_ss
from opscheck.verdict import Verdict

SHOW_RUNNING = """Id=nginx.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled
Result=success
MainPID=812
ActiveEnterTimestamp=Sun 2026-11-22 06:01:02 UTC
"""


@pytest.mark.parametrize(
    ("changes", "verdict", "summary"),
    [
        ({}, Verdict.OK, "nginx.service active (running), enabled"),
        ({"UnitFileState": "disabled"}, Verdict.WARN, "nginx.service active (running), disabled: disabled: will not start at boot"),
        ({"ActiveState": "failed", "SubState": "failed", "Result": "exit-code"}, Verdict.CRIT,
         "nginx.service failed (failed), enabled: not running: failed (failed, result exit-code)"),
        ({"LoadState": "masked", "UnitFileState": "masked", "ActiveState": "inactive", "SubState": "dead"}, Verdict.CRIT,
         "nginx.service inactive (dead), masked: masked; not running: inactive (dead)"),
        ({"LoadState": "not-found", "UnitFileState": "", "ActiveState": "inactive", "SubState": "dead"}, Verdict.CRIT,
         "nginx.service inactive (dead), no unit file: unit not found"),
    ],
)
def test_units_are_judged_from_systemctl_show(changes, verdict, summary):
    props = {**parse_show(SHOW_RUNNING), **changes}
    result = evaluate(judge_unit("nginx.service", props))
    assert (result.verdict, result.summary) == (verdict, summary)
    assert result.measurement.evidence["MainPID"] == "812"


def test_ps_lines_parse_and_our_own_ps_is_left_out():
    text = (
        "    1 root             9123   4321 /sbin/init\n"
        "  812 www-data         3600  20480 node /srv/app/server.js --port 8081\n"
        "  900 root                0   1024 timeout -k 2 10 sh -c LC_ALL=C ps -ww -eo pid=,user:32=,etimes=,rss=,args=\n"
    )
    procs = parse_ps(text)
    assert [p["pid"] for p in procs] == [1, 812]
    assert procs[1] == {"pid": 812, "user": "www-data", "etimes": 3600, "rss_kib": 20480, "args": "node /srv/app/server.js --port 8081"}


def test_ss_lines_give_port_address_and_owner():
    text = (
        'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=812,fd=6),("nginx",pid=813,fd=6))\n'
        'LISTEN 0 4096 [::1]:6379 [::]:*\n'
        'LISTEN 0 128 127.0.0.53%lo:53 0.0.0.0:* users:(("systemd-resolve",pid=5,fd=14))\n'
    )
    assert parse_ss(text) == [
        {"port": 53, "address": "127.0.0.53%lo", "loopback": True, "process": "systemd-resolve pid 5"},
        {"port": 80, "address": "0.0.0.0", "loopback": False, "process": "nginx pid 812, nginx pid 813"},
        {"port": 6379, "address": "[::1]", "loopback": True, "process": None},
    ]
    assert not is_loopback("*") and not is_loopback("[::]")


def test_apt_simulation_counts_updates_and_security_ones():
    text = (
        "Reading package lists...\n"
        "Inst libssl3 [3.0.19-1~deb12u2] (3.0.22-1~deb12u2 Debian-Security:12/stable-security [amd64])\n"
        "Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.12/stable [amd64])\n"
        "Inst newpkg (1.0 Debian:12.12/stable [amd64])\n"
        "Conf libssl3 (3.0.22-1~deb12u2 Debian-Security:12/stable-security [amd64])\n"
    )
    assert parse_apt(text) == [
        {"package": "libssl3", "from": "3.0.19-1~deb12u2", "to": "3.0.22-1~deb12u2", "security": True},
        {"package": "bash", "from": "5.2.15-2+b8", "to": "5.2.15-2+b13", "security": False},
        {"package": "newpkg", "from": None, "to": "1.0", "security": False},
    ]


def test_dnf_check_update_and_security_advisories():
    text = (
        "\nopenssl-libs.x86_64              1:3.0.7-27.el9          baseos\n"
        "kernel.x86_64                    5.14.0-427.el9          baseos\n"
        "Obsoleting Packages\n"
        "DNF-RC 100\n"
        "SECURITY\n"
        "RHSA-2024:1234 Important/Sec. openssl-libs-1:3.0.7-27.el9.x86_64\n"
    )
    assert parse_dnf(text) == [
        {"package": "openssl-libs.x86_64", "from": None, "to": "1:3.0.7-27.el9", "security": True},
        {"package": "kernel.x86_64", "from": None, "to": "5.14.0-427.el9", "security": False},
    ]


@pytest.mark.parametrize(
    ("mode", "limit", "text"),
    [(0o644, 0o600, "group r, other r"), (0o777, 0o750, "group w, other rwx"), (0o4755, 0o755, "setuid")],
)
def test_excess_permissions_are_spelled_out(mode, limit, text):
    assert excess(mode, limit) == text


@pytest.mark.parametrize(
    ("stderr", "error", "text"),
    [
        ("Host key verification failed.\r\n", Unmeasurable, "web-1: SSH host key not trusted"),
        ("@@@@@@@\n@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @\n", Unmeasurable, "web-1: SSH host key not trusted"),
        ("root@127.0.0.1: Permission denied (publickey).\n", Unmeasurable, "web-1: cannot log in over SSH: root@127.0.0.1: Permission denied"),
        ("ssh: connect to host 10.0.0.9 port 22: Connection refused\n", TargetDown, "web-1: unreachable: ssh: connect to host"),
        ("Connection timed out during banner exchange\n", TargetDown, "web-1: unreachable: Connection timed out"),
    ],
)
def test_ssh_failures_are_classified_and_remembered(stderr, error, text):
    ref = HostRef("web-1", f"ssh://root@web-1?case={abs(hash(stderr))}")
    forget_down()
    try:
        failure = connection_failed(ref, stderr)
        assert isinstance(failure, error) and str(failure).startswith(text)
        again = known_down(ref)
        assert type(again) is error and str(again).startswith(text) and "not retried" in str(again)
    finally:
        forget_down()
    assert known_down(ref) is None


def test_paramiko_is_refused_because_it_skips_host_keys():
    from opscheck.host import run

    with pytest.raises(Unmeasurable, match="paramiko backend accepts unknown host keys: use ssh://"):
        run(HostRef("old-1", "paramiko://root@127.0.0.1:1"), "true", 2)
