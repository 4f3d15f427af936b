"""Restore drills on a real PostgreSQL: a real pg_dump -Fc restored into a scratch database,
verified and dropped; the guards refusing before anything is touched."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import tempfile
import textwrap
import uuid
from pathlib import Path

import psycopg
import pytest

from conftest import require_tcp
from opscheck import registry
from opscheck.inventory.loader import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once

ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def sql(statement: str, dbname: str = "test"):
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={dbname}", autocommit=True) as conn:
        cur = conn.execute(statement)
        return cur.fetchall() if cur.description else None


def exists(name: str) -> bool:
    return bool(sql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"))


@pytest.fixture
def names():
    """Unique database names for this test; every one is dropped afterwards."""
    require_tcp("127.0.0.1", 5432, "PostgreSQL")
    tag = uuid.uuid4().hex[:8]
    made = {"source": f"opscheck_t6_src_{tag}", "scratch": f"opscheck_t6_scratch_{tag}"}
    yield made
    for name in made.values():
        sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def dumps(tmp_path: Path, names) -> Path:
    """The source database with 1000 users and 250 orders, dumped with pg_dump -Fc."""
    source = names["source"]
    sql(f"CREATE DATABASE {source}")
    sql("CREATE TABLE users (id int PRIMARY KEY, email text); INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(1, 1000) g;"
        "CREATE SCHEMA shop; CREATE TABLE shop.orders (id serial PRIMARY KEY, user_id int REFERENCES users); "
        "INSERT INTO shop.orders (user_id) SELECT 1 + g % 1000 FROM generate_series(1, 250) g", dbname=source)
    directory = tmp_path / "db"
    directory.mkdir()
    subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", str(directory / "db_1.dump"), source], check=True)
    return directory


def drill(tmp_path: Path, directory: Path, database: str, extra: str = "", scratch: str = "scratch: true", dsn: str = ADMIN):
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(f"""
        backups:
          - name: db
            path: {directory}
            pattern: "db_*.dump"
            restore:
              dsn: "{dsn}"
              database: {database}
              {scratch}
              verify:
                - {{table: users, min: 1000}}
                - {{table: shop.orders, min: 200}}
                - {{name: example.com users, sql: "SELECT count(*) FROM users WHERE email LIKE '%@example.com'", min: 1000}}
              duration: {{warn: 5m, crit: 30m}}
              {extra}
    """))
    (target,) = registry.get("restore_drill").targets(load_inventory(path))
    m = probe_once(target)
    return evaluate(m), m


def test_restore_into_scratch_is_verified_timed_and_dropped(tmp_path, names, dumps):
    result, m = drill(tmp_path, dumps, names["scratch"])
    assert result.verdict.value == "OK", result.summary
    assert 0 < m.value < 60 and m.unit == "s"
    assert result.summary.startswith(f"restore of db_1.dump into {names['scratch']} ")
    assert result.summary.endswith("(RTO) (warn 5m, crit 30m) (verified: users 1000, shop.orders 250, example.com users 1000)")
    assert m.evidence["dumped_from"] == names["source"]
    assert m.evidence["verify"] == [
        {"check": "users", "value": 1000, "min": 1000},
        {"check": "shop.orders", "value": 250, "min": 200},
        {"check": "example.com users", "value": 1000, "min": 1000},
    ]
    assert m.evidence["cleanup"] == "dropped" and m.evidence["pg_restore"] == {"rc": 0, "errors": ""}
    assert not exists(names["scratch"])


def test_dsn_naming_the_scratch_itself_still_creates_and_drops_it(tmp_path, names, dumps):
    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={names['scratch']}"
    result, m = drill(tmp_path, dumps, names["scratch"], dsn=dsn)
    assert result.verdict.value == "OK", result.summary
    assert m.evidence["scratch_existed"] is False and m.evidence["cleanup"] == "dropped"
    assert not exists(names["scratch"])


def test_verification_below_minimum_is_crit_and_still_cleaned_up(tmp_path, names, dumps):
    sql("DELETE FROM shop.orders WHERE id > 100", dbname=names["source"])
    subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", str(dumps / "db_2.dump"), names["source"]], check=True)
    result, m = drill(tmp_path, dumps, names["scratch"])
    assert result.verdict.value == "CRIT"
    assert result.summary.endswith(": shop.orders: 100 rows, expected at least 200")
    assert m.evidence["dump"].endswith("db_2.dump") and m.evidence["cleanup"] == "dropped"
    assert not exists(names["scratch"])


def test_guard_refuses_without_scratch_true(tmp_path, names, dumps):
    result, _ = drill(tmp_path, dumps, names["scratch"], scratch="")
    assert result.verdict.value == "UNKNOWN"
    assert result.summary == (f"local:db: refusing to restore into '{names['scratch']}': "
                              "the inventory does not say `scratch: true` for it")
    assert not exists(names["scratch"])


def test_guard_refuses_the_source_database(tmp_path, names, dumps):
    result, _ = drill(tmp_path, dumps, names["source"])
    assert result.verdict.value == "UNKNOWN"
    assert result.summary == f"local:db: refusing to restore into '{names['source']}': it is the database the dump was taken from"
    assert sql("SELECT count(*) FROM users", dbname=names["source"]) == [(1000,)]
    # The same by restore.source: host, port and database name match.
    # (The scratch name stands for production here, so a broken guard would only hit this test's own database.)
    scratch = names["scratch"]
    result, _ = drill(tmp_path, dumps, scratch, extra=f'source: "host=127.0.0.1 port=5432 user=postgres dbname={scratch}"')
    assert result.verdict.value == "UNKNOWN"
    assert result.summary.endswith("it is the source database named in restore.source")
    assert not exists(scratch)


def test_guard_refuses_a_scratch_that_is_not_empty(tmp_path, names, dumps):
    sql(f"CREATE DATABASE {names['scratch']}")
    sql("CREATE TABLE precious (id int); INSERT INTO precious VALUES (1)", dbname=names["scratch"])
    result, _ = drill(tmp_path, dumps, names["scratch"])
    assert result.verdict.value == "UNKNOWN"
    assert result.summary == f"local:db: refusing to restore into '{names['scratch']}': it is not empty (public.precious)"
    assert sql("SELECT count(*) FROM precious", dbname=names["scratch"]) == [(1,)]


def test_failed_restore_is_crit(tmp_path, names, dumps):
    data = (dumps / "db_1.dump").read_bytes()
    (dumps / "db_1.dump").write_bytes(data[: len(data) - 300])
    result, m = drill(tmp_path, dumps, names["scratch"])
    assert result.verdict.value == "CRIT"
    assert "pg_restore failed (exit 1): pg_restore: error: " in result.summary
    assert m.evidence["cleanup"] == "dropped" and not exists(names["scratch"])


def test_config_extract_drill(tmp_path):
    directory = tmp_path / "cfg"
    directory.mkdir()
    src = tmp_path / "src"
    (src / "app").mkdir(parents=True)
    (src / "app" / ".env").write_text("SECRET_KEY=abc\n")
    (src / "nginx.conf").write_text("")
    with tarfile.open(directory / "config_1.tar.gz", "w:gz") as tar:
        tar.add(src, arcname=".")
    path = tmp_path / "inventory.yml"
    path.write_text(f"backups:\n  - {{name: config, path: {directory}, pattern: 'config_*.tar.gz', extract: {{required: [.env, nginx.conf, docker-compose.yml]}}}}\n")
    (target,) = registry.get("config_extract").targets(load_inventory(path))
    m = probe_once(target)
    result = evaluate(m)
    assert result.verdict.value == "CRIT"
    assert result.summary == ("extract config_1.tar.gz: 2 files: required files nginx.conf is empty (nginx.conf), "
                              "docker-compose.yml missing")
    assert m.evidence["required"] == {".env": ["app/.env"], "nginx.conf": ["nginx.conf"], "docker-compose.yml": []}
    (src / "nginx.conf").write_text("events {}\n")
    (src / "docker-compose.yml").write_text("services: {}\n")
    with tarfile.open(directory / "config_1.tar.gz", "w:gz") as tar:
        tar.add(src, arcname=".")
    result = evaluate(probe_once(target))
    assert result.verdict.value == "OK"
    assert result.summary == "extract config_1.tar.gz: 3 files, .env, nginx.conf, docker-compose.yml present"
    leftovers = subprocess.run("ls -d ${TMPDIR:-/tmp}/opscheck-extract.* 2>/dev/null", shell=True, capture_output=True, text=True)
    assert leftovers.stdout == ""


def test_quarterly_drills_end_to_end(suite, tmp_path, names, dumps):
    result = suite.run("-m", "quarterly", inventory=f"""
        backups:
          - name: db
            path: {dumps}
            pattern: "db_*.dump"
            integrity: pg_custom
            restore: {{dsn: "{ADMIN}", database: {names['scratch']}, scratch: true, verify: {{table: users, min: 1000}}}}
    """)
    assert result.ret == 0, result.stdout.str()
    assert suite.verdicts() == {"test_restore_drill[local:db]": "OK"}
    record = suite.check("test_restore_drill[local:db]")
    assert record["unit"] == "s" and record["value"] > 0
    assert "verified: users 1000" in record["summary"]
    assert not exists(names["scratch"])


DRILL_PASSWORD = "Drill-pass-9431-quartz"


@pytest.fixture
def password_cluster(tmp_path):
    """A private cluster where the drill's role must give a password (scram), with a dump of `src`."""
    from pg_servers import Cluster, admin

    from conftest import free_port
    from opscheck.probes.postgres.session import close_all

    node = Cluster(free_port())
    try:
        with admin(node.port) as conn:
            conn.execute(f"CREATE ROLE drill LOGIN CREATEDB PASSWORD '{DRILL_PASSWORD}'")
            conn.execute("CREATE DATABASE src")
        with admin(node.port, "src") as conn:
            conn.execute("CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users SELECT generate_series(1, 50)")
        node.hba_prepend("host all drill 127.0.0.1/32 scram-sha-256")
        folder = tmp_path / "dumps"
        folder.mkdir()
        subprocess.run(["pg_dump", "-h", "127.0.0.1", "-p", str(node.port), "-U", "postgres", "-Fc",
                        "-f", str(folder / "db_1.dump"), "src"], check=True)
        yield node, folder
    finally:
        close_all()
        node.stop()


def test_restore_password_never_on_a_command_line_and_its_passfile_is_removed(tmp_path, monkeypatch, password_cluster):
    """The drill's password reaches pg_restore through a 0600 PGPASSFILE, never /proc/*/cmdline."""
    import shutil

    node, folder = password_cluster
    real = shutil.which("pg_restore")
    needle = tmp_path / "needle"
    needle.write_text(DRILL_PASSWORD + "\n")
    seen = tmp_path / "seen"
    spy = tmp_path / "bin" / "pg_restore"
    spy.parent.mkdir()
    # Looks, while pg_restore would run, at every process's command line and at what it was given.
    spy.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        if [ "$1" != "--list" ]; then
          {{
            echo "passfile=$PGPASSFILE"
            echo "mode=$(stat -c %a "$PGPASSFILE" 2>/dev/null || echo none)"
            echo "pgpassword=${{PGPASSWORD:+set}}"
            echo "hits=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n' | grep -c -F -f {needle})"
          }} > {seen}
        fi
        exec {real} "$@"
        """))
    spy.chmod(0o755)
    monkeypatch.setenv("PATH", f"{spy.parent}:{os.environ['PATH']}")
    monkeypatch.setenv("OPSCHECK_DRILL_DSN", f"host=127.0.0.1 port={node.port} user=drill dbname=postgres password={DRILL_PASSWORD}")
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(f"""
        backups:
          - name: db
            path: {folder}
            pattern: "db_*.dump"
            restore: {{dsn: env:OPSCHECK_DRILL_DSN, database: scratch_pw, scratch: true, verify: {{table: users, min: 50}}}}
        """))
    (target,) = registry.get("restore_drill").targets(load_inventory(path))

    result = evaluate(probe_once(target))

    assert result.verdict.value == "OK", result.summary  # the password did reach pg_restore
    facts = dict(line.split("=", 1) for line in seen.read_text().splitlines())
    assert facts["hits"] == "0"
    assert facts["pgpassword"] == ""
    assert facts["mode"] == "600"
    assert facts["passfile"].startswith(tempfile.gettempdir()) and not os.path.exists(facts["passfile"])
    assert DRILL_PASSWORD not in json.dumps(result.measurement.evidence) + result.summary


def test_restore_password_is_not_sent_to_a_remote_host(tmp_path, monkeypatch):
    from opscheck.measurement import HostRef

    monkeypatch.setenv("OPSCHECK_DRILL_DSN", f"host=127.0.0.1 user=drill dbname=postgres password={DRILL_PASSWORD}")
    from opscheck.probes.backups import restore

    target = registry.get("restore_drill").targets(load_inventory(_remote_inventory(tmp_path)))[0]
    with pytest.raises(restore.Refused) as info:
        restore._refuse_remote_password(target, DRILL_PASSWORD)
    assert str(info.value) == (
        "restore.dsn carries a password, but pg_restore runs on db-1.invalid: opscheck will not put it on that host's"
        " command line; give its user a ~/.pgpass (or certificate authentication) and leave the password out of restore.dsn"
    )
    assert target.host == HostRef("db-1.invalid", "ssh://backup@db-1.invalid")


def _remote_inventory(tmp_path):
    path = tmp_path / "remote.yml"
    path.write_text(textwrap.dedent("""
        hosts:
          db: ["ssh://backup@db-1.invalid"]
        backups:
          - name: db
            on: db
            path: /var/backups/db
            restore: {dsn: env:OPSCHECK_DRILL_DSN, database: scratch_pw, scratch: true}
        """))
    return path
