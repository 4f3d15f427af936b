"""Files, env flags and hygiene on the local backend, against files and processes the tests create."""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

SECRET = "h3-planted-" + uuid.uuid4().hex[:21]        # what the host really holds (32 chars)
EXPECTED = "h3-expected-" + uuid.uuid4().hex[:20]     # what the inventory expects, via env:


@pytest.fixture
def tree(tmp_path):
    """An app folder with the usual mistakes: a readable .env, world-writable files, an open key dir."""
    app = tmp_path / "app"
    (app / "public" / "uploads").mkdir(parents=True)
    env = app / ".env"
    env.write_text(f"PAPER_TRADING=true\nexport NODE_ENV=\"production\"\nJWT_SECRET='{SECRET}'\nALLOW_REAL_TRADING=TRUE\n")
    env.chmod(0o644)
    key = app / "server.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o600)
    for name in ("public/uploads/a.txt", "public/b.txt"):
        (app / name).write_text("x")
        (app / name).chmod(0o666)
    (app / "public" / "link").symlink_to(app / "server.key")   # symlinks are 0777 by nature: not counted
    keys = tmp_path / "private"
    keys.mkdir(mode=0o700)
    (keys / "site.key").write_text("k")
    (keys / "site.key").chmod(0o644)
    (keys / "ok.key").write_text("k")
    (keys / "ok.key").chmod(0o600)
    return tmp_path


def _owner(path: Path) -> tuple[str, str]:
    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def test_files_and_permissions(suite, tree):
    user, group = _owner(tree / "app" / ".env")
    app = tree / "app"
    result = suite.run("-m", "daily", inventory=f"""
        files:
          - {{path: {app}/.env, owner: {user}, group: {group}, max_mode: "0600"}}
          - {{path: {app}/server.key, owner: {user}, mode: "0600"}}
          - {{path: {app}/server.key, name: key mode exact, mode: "0400", on: local}}
          - {{path: {app}/.env.backup, exists: false}}
          - {{path: {app}/config.yml}}
          - {{path: {app}, no_world_writable: true}}
          - {{path: {tree}/private, not_world_readable: true}}
        """)
    assert suite.verdicts() == {
        f"test_file_permissions[local:{app}/.env]": "CRIT",
        f"test_file_permissions[local:{app}/server.key]": "OK",
        "test_file_permissions[local:key mode exact]": "CRIT",     # `name:` names the check
        f"test_file_permissions[local:{app}/.env.backup]": "OK",
        f"test_file_permissions[local:{app}/config.yml]": "CRIT",
        f"test_no_world_writable[local:{app}]": "CRIT",
        f"test_not_world_readable[local:{tree}/private]": "CRIT",
    }
    records = {r["id"].split("::")[1]: r for r in suite.results()["checks"]}
    env = records[f"test_file_permissions[local:{app}/.env]"]
    assert env["verdict"] == "CRIT" and env["value"] == "0644"
    assert env["summary"] == f"{app}/.env (regular file, 0644 {user}:{group}): mode 0644 is more permissive than 0600 (group r, other r)"
    assert env["evidence"]["permissions"] == "rw-r--r--"
    assert records["test_file_permissions[local:key mode exact]"]["summary"].endswith("): mode 0600, expected exactly 0400")
    assert records[f"test_file_permissions[local:{app}/server.key]"]["summary"] == f"{app}/server.key (regular file, 0600 {user}:{group})"
    assert records[f"test_file_permissions[local:{app}/.env.backup]"]["summary"] == f"{app}/.env.backup absent, as required"
    assert records[f"test_file_permissions[local:{app}/config.yml]"]["summary"] == f"local:{app}/config.yml: {app}/config.yml does not exist"

    writable = records[f"test_no_world_writable[local:{app}]"]
    assert writable["value"] == 2 and writable["crit"] == 0
    assert writable["evidence"]["first 20"] == [f"{app}/public/b.txt", f"{app}/public/uploads/a.txt"]
    # The offender by name: the first path in sorted order, and how many more.
    assert writable["summary"] == f"{app} 2 files world-writable, first {app}/public/b.txt (crit 0 files)"
    readable = records[f"test_not_world_readable[local:{tree}/private]"]
    assert readable["value"] == 1 and readable["evidence"]["first 20"] == [f"{tree}/private/site.key"]
    assert readable["summary"] == f"{tree}/private 1 file readable by others: {tree}/private/site.key (crit 0 files)"
    result.assert_outcomes(passed=2, failed=5)
    result.stdout.fnmatch_lines(["*CRIT: *.env (regular file, 0644 *): mode 0644 is more permissive than 0600 (group r, other r)"])


def test_env_flags_never_show_values(suite, tree, monkeypatch):
    monkeypatch.setenv("H3_JWT_EXPECTED", EXPECTED)
    env_file = tree / "app" / ".env"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "h3-trading-backend"],
        env={"PATH": os.environ["PATH"], "PAPER_TRADING": "true", "JWT_SECRET": SECRET, "NODE_ENV": "production"},
    )
    try:
        result = suite.run("-m", "daily", "-rA", "-vv", inventory=f"""
            env_flags:
              - file: {env_file}
                expect: {{PAPER_TRADING: "true", NODE_ENV: production, JWT_SECRET: "env:H3_JWT_EXPECTED"}}
                present: [JWT_SECRET]
                absent: [DEBUG]
                not_true: [ALLOW_REAL_TRADING]
              - process: "h3-trading-backend"
                expect: {{PAPER_TRADING: "true", NODE_ENV: production}}
                present: [JWT_SECRET]
                not_true: [ALLOW_REAL_TRADING]
            """)
    finally:
        proc.kill()
        proc.wait()
    assert suite.verdicts() == {
        f"test_env_flags[local:{env_file}]": "CRIT",
        "test_env_flags[local:h3-trading-backend]": "OK",
    }
    result.assert_outcomes(passed=1, failed=1)
    bad = suite.check(f"test_env_flags[local:{env_file}]")
    assert bad["evidence"] == {
        "PAPER_TRADING": "set (4 chars), as expected",
        "NODE_ENV": "set (10 chars), as expected",
        "JWT_SECRET": "set (32 chars), differs from expected",
        "DEBUG": "not set",
        "ALLOW_REAL_TRADING": "set (4 chars), true",
    }
    assert bad["summary"] == f"{env_file}: 5 flags checked: JWT_SECRET differs from expected; ALLOW_REAL_TRADING is true, must not be"
    good = suite.check("test_env_flags[local:h3-trading-backend]")
    ((where, flags),) = good["evidence"].items()
    assert where.startswith(f"pid {proc.pid} (") and flags == {
        "PAPER_TRADING": "set (4 chars), as expected",
        "NODE_ENV": "set (10 chars), as expected",
        "JWT_SECRET": "set (32 chars)",
        "ALLOW_REAL_TRADING": "not set",
    }
    # Neither the planted value nor the expected one appears anywhere: output, reports, messages.
    output = result.stdout.str() + result.stderr.str()
    assert "JWT_SECRET differs from expected" in output
    reports = "".join(p.read_text(errors="replace") for p in suite.reports.rglob("*") if p.is_file())
    assert "JWT_SECRET differs from expected" in reports
    for secret in (SECRET, EXPECTED):
        assert secret not in output
        assert secret not in reports


def test_weekly_hygiene(suite):
    result = suite.run("-m", "weekly", inventory="""
        hygiene:
          # Counting is what this test is about: apt-get -s can take over the default 10 s on a loaded machine.
          - timeout: 120s
            updates: {warn: 100000}
            security_updates: {warn: 100000, crit: 100001}
            reboot_required: crit
            uptime: {warn: 1s}
        """)
    verdicts = suite.verdicts()
    assert verdicts["test_pending_updates[local]"] == "OK"
    assert verdicts["test_security_updates[local]"] == "OK"
    assert verdicts["test_uptime[local]"] == "WARN"
    updates = suite.check("test_pending_updates[local]")
    security = suite.check("test_security_updates[local]")
    assert updates["evidence"]["manager"] == "apt" and isinstance(updates["value"], int)
    assert security["value"] == updates["evidence"]["security"] <= updates["value"]
    assert updates["summary"].startswith("apt ") and "with updates pending (warn 100000)" in updates["summary"]
    uptime = suite.check("test_uptime[local]")
    seconds = float(Path("/proc/uptime").read_text().split()[0])
    assert abs(uptime["value"] - seconds) < 120 and uptime["unit"] == "s" and uptime["warn"] == 1
    assert uptime["summary"].startswith("up ") and uptime["summary"].endswith("(warn 1s)")
    reboot = suite.check("test_reboot_required[local]")
    if Path("/var/run/reboot-required").exists():
        assert reboot["verdict"] == "CRIT" and reboot["summary"].startswith("local: reboot required")
    else:
        assert reboot["verdict"] == "OK" and reboot["summary"] == "no reboot required" and reboot["value"] is False
    assert result.parseoutcomes()["warned"] >= 1
