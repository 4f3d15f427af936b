"""Real PostgreSQL for the postgres tests: scratch databases and roles on the server on
127.0.0.1:5432, throwaway clusters (initdb/pg_ctl as the postgres OS user) on free ports,
sessions that really hold locks, sleep, or sit idle in a transaction.

Imported by tests/test_postgres*.py (not a test module itself). Everything it
creates is dropped or stopped in teardown.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

from opscheck.inventory.model import Inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes.postgres import server as postgres  # noqa: F401 - loaded before pytester's in-process runs snapshot sys.modules
from opscheck.registry import get
from opscheck.result import Result

MAIN_HOST, MAIN_PORT = "127.0.0.1", 5432


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def admin(port: int = MAIN_PORT, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(host=MAIN_HOST, port=port, user="postgres", dbname=dbname, autocommit=True, connect_timeout=5)


def dsn(dbname: str, user: str = "postgres", port: int = MAIN_PORT) -> str:
    return f"host={MAIN_HOST} port={port} dbname={dbname} user={user}"


def drop_database(port: int, name: str) -> None:
    with admin(port) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_role(port: int, name: str) -> None:
    with admin(port) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def results(inventory: dict, kind: str) -> dict[str, Result]:
    """target id -> judged result, probing every target of `kind` in `inventory` (a dict)."""
    inv = Inventory.model_validate(inventory)
    return {t.id: evaluate(probe_once(t)) for t in get(kind).targets(inv)}


def result(inventory: dict, kind: str) -> Result:
    (only,) = results(inventory, kind).values()
    return only


def bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("initdb not found under /usr/lib/postgresql/*/bin: install postgresql")
    return Path(found[-1]).parent


def _as_postgres(*argv: str, timeout: float = 120) -> None:
    done = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


class Cluster:
    """A throwaway PostgreSQL cluster in a temp dir on a free port; `stop()` removes every trace."""

    def __init__(self, port: int, settings: dict[str, str] | None = None, *, base: Cluster | None = None):
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="opscheck-pg-"))
        self.data = self.dir / "data"
        shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o700)
        self.settings = {"listen_addresses": "127.0.0.1", "fsync": "off", "max_connections": "20", **(settings or {})}
        try:
            if base is None:
                _as_postgres(str(bindir() / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "--no-instructions")
            else:
                # A streaming replica of `base`: pg_basebackup writes standby.signal and primary_conninfo (-R).
                _as_postgres(
                    str(bindir() / "pg_basebackup"), "-h", MAIN_HOST, "-p", str(base.port), "-U", "postgres",
                    "-D", str(self.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast",
                )
            options = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
            _as_postgres(
                str(bindir() / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60",
                "-o", f"-p {port} -k {self.dir} {options}", "start",
            )
        except BaseException:
            self.stop()
            raise

    def hba_prepend(self, line: str) -> None:
        hba = self.data / "pg_hba.conf"
        hba.write_text(line + "\n" + hba.read_text())
        with admin(self.port) as conn:
            conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.3)  # the postmaster rereads pg_hba.conf on SIGHUP, asynchronously

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                ["runuser", "-u", "postgres", "--", str(bindir() / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                capture_output=True, timeout=60,
            )
        shutil.rmtree(self.dir, ignore_errors=True)


class Held:
    """Sessions that do something to the server while a probe looks: closed (cancelled) on close()."""

    def __init__(self, port: int, dbname: str, user: str = "postgres"):
        self.port, self.dbname, self.user = port, dbname, user
        self.conns: list[psycopg.Connection] = []
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def connect(self, autocommit: bool = True) -> psycopg.Connection:
        conn = psycopg.connect(dsn(self.dbname, self.user, self.port), autocommit=autocommit, application_name="opscheck-test")
        self.conns.append(conn)
        return conn

    def idle_in_transaction(self, sql: str = "SELECT 1") -> int:
        conn = self.connect(autocommit=False)
        conn.execute(sql)
        return conn.info.backend_pid

    def in_background(self, sql: str) -> int:
        """Start `sql` on its own session in a thread; returns its pid once the server runs it."""
        conn = self.connect(autocommit=False)
        pid = conn.info.backend_pid

        def run() -> None:
            try:
                conn.execute(sql)
            except psycopg.errors.QueryCanceled:
                pass
            except BaseException as exc:  # noqa: BLE001 - reported by the test that waits
                self.errors.append(exc)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)
        self.wait_for(f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid} AND state = 'active' AND query = %s", (sql,))
        return pid

    def wait_for(self, sql: str, params=None, timeout: float = 20) -> None:
        with admin(self.port, self.dbname) as conn:
            deadline = time.monotonic() + timeout
            while not conn.execute(sql, params).fetchall():
                if time.monotonic() > deadline:
                    raise AssertionError(f"timed out waiting for: {sql} {params}")
                time.sleep(0.05)

    def close(self) -> None:
        for conn in self.conns:
            if not conn.closed:
                conn.cancel_safe() if hasattr(conn, "cancel_safe") else conn.cancel()
        for thread in self.threads:
            thread.join(timeout=10)
        for conn in self.conns:
            conn.close()
