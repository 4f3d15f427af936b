"""Lint without production: check --offline, inventory list / run --dry-run, include: and vars:."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.inventory.offline import check_offline

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "inventories" / "example-production.yml"


def opscheck(*args: str, env: dict | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPSCHECK_")}
    return subprocess.run(
        [sys.executable, "-m", "opscheck.cli", *args], cwd=cwd, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=120, env={**base, **(env or {})},
    )


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip())
    return path


# --- check --offline ---------------------------------------------------------------------------

def test_example_production_fails_online_and_passes_offline():
    online = opscheck("inventory", "check", str(EXAMPLE))
    assert online.returncode == 3
    assert "environment variable DATABASE_URL is not set" in online.stderr
    offline = opscheck("inventory", "check", "--offline", str(EXAMPLE))
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout == f"{EXAMPLE}: ok (offline: secrets and hosts not checked)\n"
    assert offline.stderr == ""


def test_offline_still_reports_everything_else(tmp_path):
    path = write(tmp_path, "inv.yml", """
        hosts: {db: ["ssh://deploy@db-1.internal"]}
        postgres:
          - {name: main, dsn: env:OPSCHECK_TEST_UNSET_DSN, on: dbs, connections: {warn: 95%, crit: 90%}}
        redis:
          - {name: cache, url: env:OPSCHECK_TEST_UNSET_URL, memroy: {warn: 80%}}
        """)
    problems = check_offline(path)
    assert problems == [
        f"{path}:3: postgres[0].connections: warn 95% is above crit 90% (warn must come first as the value rises)",
        f"{path}:5: redis[0].memroy: unknown key (expected one of: name, on, severity, schedule, runbook, timeout, title, description, tags, url, username, "
        "password, tls_verify, tls_ca, latency, memory, evictions, rejected_connections, clients, last_save, replication, "
        "hit_ratio, blocked_clients, only); did you mean 'memory'?",
    ]


def test_offline_checks_on_of_an_entry_whose_secret_is_absent(tmp_path):
    path = write(tmp_path, "inv.yml", """
        hosts: {db: ["ssh://deploy@db-1.internal"]}
        postgres:
          - {name: main, dsn: env:OPSCHECK_TEST_UNSET_DSN, on: dbs}
        """)
    assert check_offline(path) == [f"{path}:3: postgres[0].on: unknown group or host 'dbs'"]
    ok = write(tmp_path, "ok.yml", "postgres: [{name: main, dsn: 'file:/nonexistent/dsn', on: local}]\n")
    assert check_offline(ok) == []


def test_offline_reports_an_unknown_on_group_like_the_loader(tmp_path):
    """Without Ansible groups the loader checks `on:` on the raw data: the offline check must too."""
    path = write(tmp_path, "inv.yml", """
        files:
          - {path: /etc/passwd, on: nosuch}
        """)
    assert check_offline(path) == [f"{path}:2: files[0].on: unknown group or host 'nosuch' (groups: local)"]


@pytest.mark.timeout(30)  # reading a FIFO nobody writes to would block forever
def test_offline_refuses_a_fifo_and_a_directory_without_reading(tmp_path):
    fifo = tmp_path / "pipe.yml"
    os.mkfifo(fifo)
    assert check_offline(fifo) == [f"{fifo}: is a FIFO, expected an inventory YAML file"]
    folder = tmp_path / "folder.yml"
    folder.mkdir()
    assert check_offline(folder) == [f"{folder}: is a directory, expected an inventory YAML file"]
    assert check_offline(tmp_path / "nope.yml") == [f"{tmp_path / 'nope.yml'}: inventory file not found"]
    latin = write(tmp_path, "latin1.yml", "")
    latin.write_bytes("environment: caf\xe9\n".encode("latin-1"))
    assert check_offline(latin) == [f"{latin}: not UTF-8 text (byte 16)"]


def test_offline_does_not_excuse_a_secret_written_inline(tmp_path):
    path = write(tmp_path, "inv.yml", 'postgres: [{name: main, dsn: "postgresql://app:hunter2-inline@db-1/app"}]\n')
    (problem,) = check_offline(path)
    assert problem.startswith(f"{path}:1: postgres[0].dsn: a password does not belong in the inventory")
    assert "hunter2-inline" not in problem


def test_pre_commit_hook_runs_the_offline_check():
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "opscheck-inventory"
    assert hook["entry"].split()[:4] == ["opscheck", "inventory", "check", "--offline"]


# --- inventory list / run --dry-run ------------------------------------------------------------

LISTED = """
    environment: listing
    hosts: {local: ["local://"]}
    system:
      - disk: {mount: /, warn: 97%, crit: 99%}
        memory: {warn: 99%, crit: 100%}
        severity: low
    services:
      - listening: [5432]
        schedule: smoke
    """


def test_inventory_list_prints_ids_schedules_severities_and_targets(tmp_path):
    path = write(tmp_path, "inv.yml", LISTED)
    done = opscheck("inventory", "list", str(path), "--suite", "daily")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["CHECK", "SCHEDULES", "SEVERITY", "TARGET"]
    rows = [line.split() for line in lines[1:-1]]
    assert rows == [
        ["checks/test_services.py::test_port_listening[local:5432]", "daily,smoke", "high", "local:5432"],
        ["checks/test_system.py::test_disk_usage[local:/]", "daily", "low", "local:/"],
        ["checks/test_system.py::test_memory_usage[local]", "daily", "low", "local"],
    ]
    assert lines[-1] == "3 checks in daily on 1 hosts; nothing was measured"
    smoke = opscheck("inventory", "list", str(path), "--suite", "smoke")
    assert [line.split()[0] for line in smoke.stdout.splitlines()[1:-1]] == ["checks/test_services.py::test_port_listening[local:5432]"]


def test_run_dry_run_lists_the_suite_and_runs_nothing(tmp_path):
    path = write(tmp_path, "inv.yml", LISTED)
    reports = tmp_path / "reports"
    done = opscheck("run", "daily", f"--inventory={path}", f"--reports-dir={reports}", "--dry-run", "--severity", "high")
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()[1:-1]] == ["checks/test_services.py::test_port_listening[local:5432]"]
    assert not reports.exists()
    nothing = opscheck("run", "weekly", f"--inventory={path}", "--dry-run")
    assert nothing.returncode == 3
    assert "no check selected by -m 'weekly'" in nothing.stderr


def test_list_of_a_bad_inventory_is_its_problems(tmp_path):
    path = write(tmp_path, "inv.yml", "system: [{memroy: {}}]\n")
    done = opscheck("inventory", "list", str(path))
    assert done.returncode == 3
    assert done.stderr.startswith(f"{path}:1: system[0].memroy: unknown key")


# --- include: and vars: ------------------------------------------------------------------------

def _environments(tmp_path: Path) -> Path:
    write(tmp_path, "common.yml", """
        hosts: {app: ["ssh://deploy@${app_host}"]}
        system:
          - on: app
            disk: {mount: /, warn: "${disk_warn}", crit: 95%}
        http:
          - {name: health, url: "https://${domain}/health"}
        """)
    return write(tmp_path, "staging.yml", """
        include: common.yml
        environment: staging
        vars: {app_host: app-1.staging.internal, domain: staging.example.com, disk_warn: 85%}
        http:
          - {name: staging only, url: "https://${domain}/ready"}
        system:
          - {on: app, memory: {warn: "${disk_warn}"}}
        """)


def test_include_and_vars_build_one_inventory(tmp_path):
    inventory = load_inventory(_environments(tmp_path))
    assert inventory.environment == "staging"
    assert [h.spec for h in inventory.hosts["app"]] == ["ssh://deploy@app-1.staging.internal"]
    assert inventory.system[0].disk[0].warn == 85.0 and inventory.system[1].memory.warn == 85.0
    assert [(h.name, h.url) for h in inventory.http] == [
        ("health", "https://staging.example.com/health"),
        ("staging only", "https://staging.example.com/ready"),
    ]


def test_a_problem_in_an_included_file_names_that_file_and_line(tmp_path):
    staging = _environments(tmp_path)
    common = tmp_path / "common.yml"
    common.write_text(common.read_text().replace("crit: 95%", "crit: 95%, memroy: 1"))
    with pytest.raises(InventoryError) as caught:
        load_inventory(staging)
    assert caught.value.problems[0].startswith(f"{tmp_path / 'common.yml'}:4: system[0].disk[0].memroy: unknown key")
    # The including file's own entries keep their own lines, after the included ones.
    staging.write_text(staging.read_text().replace("on: app", "on: nowhere"))
    common.write_text(common.read_text().replace(", memroy: 1", ""))
    with pytest.raises(InventoryError) as caught:
        load_inventory(staging)
    assert caught.value.problems == [f"{staging}:7: system[1].on: unknown group or host 'nowhere' (groups: app)"]


def test_unknown_variable_names_file_line_and_known_ones(tmp_path):
    staging = _environments(tmp_path)
    staging.write_text(staging.read_text().replace("domain: staging.example.com, ", ""))
    with pytest.raises(InventoryError) as caught:
        load_inventory(staging)
    assert caught.value.problems == [
        f"{tmp_path / 'common.yml'}:6: http[0].url: unknown variable ${{domain}} (vars: app_host, disk_warn)",
        f"{staging}:5: http[1].url: unknown variable ${{domain}} (vars: app_host, disk_warn)",
    ]


def test_include_errors(tmp_path):
    missing = write(tmp_path, "a.yml", "include: [nothere.yml]\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(missing)
    assert caught.value.problems == [f"{missing}:1: include: nothere.yml: file not found ({tmp_path / 'nothere.yml'})"]
    write(tmp_path, "loop1.yml", "include: loop2.yml\n")
    loop2 = write(tmp_path, "loop2.yml", "include: loop1.yml\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(tmp_path / "loop1.yml")
    assert caught.value.problems == [f"{loop2}:1: include: loop1.yml includes itself (through loop1.yml -> loop2.yml -> loop1.yml)"]
    bad_vars = write(tmp_path, "v.yml", "vars: {x: [1, 2]}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(bad_vars)
    assert caught.value.problems == [f"{bad_vars}:1: vars.x: expected a string or number, found a list"]


def test_offline_check_follows_includes(tmp_path):
    staging = _environments(tmp_path)
    assert check_offline(staging) == []
    assert opscheck("inventory", "check", "--offline", str(staging)).returncode == 0


def test_offline_cross_checks_on_even_when_notify_secrets_are_absent(tmp_path):
    text = EXAMPLE.read_text()
    bad = write(tmp_path, "prod.yml", text.replace("on: all", "on: everywhere", 1))
    assert "on: everywhere" in bad.read_text()
    (problem,) = check_offline(bad)
    assert "].on: unknown group or host 'everywhere'" in problem
    assert problem.startswith(f"{bad}:")


def test_sha256_covers_included_files(tmp_path):
    staging = _environments(tmp_path)
    before = load_inventory(staging).sha256
    common = tmp_path / "common.yml"
    common.write_text(common.read_text().replace("crit: 95%", "crit: 96%"))
    after = load_inventory(staging).sha256
    assert before != after and len(after) == 64
