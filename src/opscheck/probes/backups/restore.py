"""Quarterly drill: restore the newest PostgreSQL dump into a scratch database, verify, drop.

The runbook's "restore last night's dump on the DR server and count the users". Guards
come first, because this is the one check that writes: the inventory must say
`scratch: true`; the scratch database must not be the dump's source database (by name,
or by host/port/name of `source:`); and if it exists already it must be empty. Each
refusal is UNKNOWN with its reason, and nothing is touched.

`pg_restore` runs on the dump's host (through `opscheck.host.run`, like every backup
probe); the scratch database is created, verified (READ ONLY, statement timeout) and
dropped from here with psycopg. The restore's wall time is the RTO evidence.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
import threading
import time
from contextlib import closing, contextmanager, suppress

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import run
from opscheck.measurement import Measurement, Target
from opscheck.probes.backups.listing import BackupFile, Clock, newest
from opscheck.redact import register_secret

_USER_RELATIONS = """
    SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%%'
      AND n.nspname NOT LIKE 'pg\\_temp%%' ORDER BY 1 LIMIT 6
"""


class Refused(Unmeasurable):
    """A guard stopped the drill before it touched anything."""


def probe_restore(target: Target) -> Measurement:
    item = target.spec
    drill = item.restore
    clock = Clock(target.timeout)
    if not drill.scratch:
        raise Refused(f"refusing to restore into {drill.database!r}: the inventory does not say `scratch: true` for it")
    dump, _ = newest(target, clock.left())
    if not dump.is_dir and re.search(r"\.sql(\.\w+)?$", dump.name):
        raise Unmeasurable(f"{dump.name} is a plain SQL dump: restore drills take pg_dump -Fc or -Fd dumps")
    source_db = _dump_source(target, dump, clock)
    server = _server_params(drill.dsn.reveal())
    _refuse_source(drill, server, source_db)
    _refuse_remote_password(target, server.get("password"))

    evidence: dict = {"dump": dump.path, "dump_size": dump.size, "dumped_from": source_db, "scratch": drill.database}
    problems: list[str] = []
    # Two hosts' sets may name the same scratch database: their drills take turns.
    with _drill_lock(server, drill.database), closing(_connect(server, _admin_db(server, drill), clock)) as admin:
        existed = _guard_empty(admin, server, drill.database, clock)
        evidence["scratch_existed"] = existed
        if not existed:
            try:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(drill.database)))
            except psycopg.Error as exc:
                raise Unmeasurable(f"cannot create the scratch database {drill.database!r}: {str(exc).strip()[:300]}") from None
        try:
            started = time.monotonic()
            restored = _pg_restore(target, dump, server, drill, clock)
            duration = round(time.monotonic() - started, 3)
            evidence["restore_s"] = duration
            evidence["pg_restore"] = restored
            if restored["rc"] != 0:
                problems.append(f"pg_restore failed (exit {restored['rc']}): {restored['errors'] or 'no message'}")
            else:
                results, failed = _verify(server, drill, clock)
                evidence["verify"] = results
                problems.extend(failed)
        finally:
            cleanup = _drop(admin, drill.database)
            evidence["cleanup"] = cleanup or "dropped"
            if cleanup:
                problems.append(f"cleanup failed, {drill.database!r} left behind: {cleanup}")
    verified = ", ".join(f"{r['check']} {r['value']}" for r in evidence.get("verify", []) if "value" in r)
    return Measurement(
        value=duration, unit="s", subject=f"restore of {dump.name} into {drill.database}", label="(RTO)",
        threshold=drill.duration.threshold(), evidence=evidence, problems=tuple(problems),
        notes=(f"verified: {verified}",) if verified and not problems else (),
    )


_locks: dict[tuple, threading.Lock] = {}
_locks_guard = threading.Lock()


def _drill_lock(server: dict, database: str) -> threading.Lock:
    key = (server.get("host"), str(server.get("port") or 5432), database)
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _admin_db(server: dict, drill) -> str | None:
    """Where to CREATE/DROP from: the DSN's database, unless that is the scratch itself."""
    return "postgres" if server.get("dbname") == drill.database else None


def _server_params(dsn: str) -> dict:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise Unmeasurable(f"restore.dsn is not a valid PostgreSQL DSN: {exc}") from None
    if params.get("password"):
        register_secret(str(params["password"]))
    return params


def _dump_source(target: Target, dump: BackupFile, clock: Clock) -> str | None:
    """The database the dump was taken from, as its table of contents records it."""
    result = run(target.host, f"pg_restore --list -- {shlex.quote(dump.path)} | head -n 20", clock.left())
    if "not found" in result.stderr or result.rc == 127:
        raise Unmeasurable("pg_restore is not installed")
    match = re.search(r"^;\s+dbname:\s*(\S+)", result.stdout, re.MULTILINE)
    if not match:
        # The dump a disaster recovery would start from is unreadable: that is the finding.
        reason = result.stderr.strip()[:300] or "no dbname in its table of contents"
        raise TargetDown(f"cannot read {dump.name} with pg_restore --list: {reason}")
    return match.group(1)


def _refuse_source(drill, server: dict, source_db: str | None) -> None:
    if source_db and drill.database == source_db:
        raise Refused(f"refusing to restore into {drill.database!r}: it is the database the dump was taken from")
    if drill.source is None:
        return
    source = conninfo_to_dict(drill.source.reveal())

    def where(params: dict) -> tuple:
        return (params.get("host") or "localhost", str(params.get("port") or 5432))

    if where(source) == where(server) and (source.get("dbname") or source.get("user")) == drill.database:
        raise Refused(f"refusing to restore into {drill.database!r}: it is the source database named in restore.source")


def _connect(server: dict, database: str | None, clock: Clock) -> psycopg.Connection:
    params = dict(server)
    if database is not None:
        params["dbname"] = database
    params.setdefault("connect_timeout", str(max(2, int(min(clock.left(), 30)))))
    params.setdefault("application_name", "opscheck-restore-drill")
    try:
        return psycopg.connect(make_conninfo(**params), autocommit=True)
    except psycopg.OperationalError as exc:
        raise Unmeasurable(f"cannot connect to the scratch server: {str(exc).strip()[:300]}") from None


def _guard_empty(admin: psycopg.Connection, server: dict, database: str, clock: Clock) -> bool:
    """Whether the scratch database exists; refuses when it holds anything."""
    if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
        return False
    with closing(_connect(server, database, clock)) as conn:
        names = [row[0] for row in conn.execute(_USER_RELATIONS).fetchall()]
    if names:
        more = ", ..." if len(names) > 5 else ""
        raise Refused(f"refusing to restore into {database!r}: it is not empty ({', '.join(names[:5])}{more})")
    return True


def _pg_restore(target: Target, dump: BackupFile, server: dict, drill, clock: Clock) -> dict:
    params = {k: v for k, v in server.items() if k != "password"}
    params["dbname"] = drill.database
    jobs = f"--jobs={drill.jobs} " if drill.jobs > 1 else ""
    command = (f"pg_restore --no-owner --no-privileges --exit-on-error {jobs}"
               f"--dbname={shlex.quote(make_conninfo(**params))} -- {shlex.quote(dump.path)}")
    with _passfile(target, server.get("password")) as passfile:
        env = f"PGPASSFILE={shlex.quote(passfile)} " if passfile else ""
        result = run(target.host, env + command, clock.left())
    errors = "; ".join(line.strip() for line in result.stderr.splitlines() if line.strip())[:500]
    return {"rc": result.rc, "errors": errors}


def _refuse_remote_password(target: Target, password: str | None) -> None:
    if password and target.host is not None and target.host.spec not in ("local://", "local"):
        raise Refused(
            f"restore.dsn carries a password, but pg_restore runs on {target.host}: opscheck will not put it on"
            " that host's command line; give its user a ~/.pgpass (or certificate authentication) and leave the"
            " password out of restore.dsn"
        )


@contextmanager
def _passfile(target: Target, password: str | None):
    """A private PGPASSFILE holding `password` for one pg_restore, removed afterwards.

    Anything on a command line (`PGPASSWORD=… pg_restore` inside `sh -c`) can be read by
    every user of the host in /proc/*/cmdline; a file of mode 0600 cannot. Commands reach
    a remote host only as a command line, so a password is never sent there: that host's
    user needs its own ~/.pgpass (or certificate authentication).
    """
    if not password:
        yield None
        return
    _refuse_remote_password(target, password)
    fd, path = tempfile.mkstemp(prefix="opscheck-pgpass-")  # mode 0600, owned by us
    try:
        escaped = str(password).replace("\\", "\\\\").replace(":", "\\:")
        with os.fdopen(fd, "w") as handle:
            handle.write(f"*:*:*:*:{escaped}\n")
        yield path
    finally:
        with suppress(FileNotFoundError):
            os.remove(path)


def _verify(server: dict, drill, clock: Clock) -> tuple[list[dict], list[str]]:
    results, problems = [], []
    with closing(_connect(server, drill.database, clock)) as conn:
        conn.autocommit = False
        conn.read_only = True
        timeout_ms = int(clock.left() * 1000)
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(timeout_ms)))
        for query in drill.verify:
            if query.table is not None:
                statement = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*query.table.split(".")))
            else:
                statement = sql.SQL(query.sql)
            try:
                row = conn.execute(statement).fetchone()
                value = int(row[0]) if row and row[0] is not None else None
            except (psycopg.Error, ValueError, TypeError) as exc:
                conn.rollback()
                problems.append(f"{query.label}: query failed: {str(exc).strip().splitlines()[0][:200]}")
                results.append({"check": query.label, "error": str(exc).strip().splitlines()[0][:200]})
                continue
            results.append({"check": query.label, "value": value, "min": query.min})
            if value is None or value < query.min:
                problems.append(f"{query.label}: {value} rows, expected at least {query.min}")
        conn.rollback()
    return results, problems


def _drop(admin: psycopg.Connection, database: str) -> str | None:
    try:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    except psycopg.Error as exc:
        return str(exc).strip()[:300]
    return None


