"""Read-only PostgreSQL sessions: one connection per DSN per process, reused under a lock.

Why read-only holds whatever SQL the inventory holds:
- the connection starts with `default_transaction_read_only=on`;
- every probe runs inside `BEGIN READ ONLY`, with `statement_timeout` and
  `lock_timeout` set locally, and a first statement that takes the snapshot, so a
  later `SET TRANSACTION READ WRITE` is refused by the server;
- every statement is sent as a prepared statement (extended protocol), so one
  string cannot smuggle `COMMIT; BEGIN READ WRITE; DELETE ...`;
- the transaction always ends in ROLLBACK, which also undoes any `SET` it made;
- then the equivalent of `DISCARD ALL` drops what ROLLBACK leaves behind on a pooled connection
  (session advisory locks, session GUCs, prepared statements, temp tables, LISTEN),
  and `run_as` is applied again, so no probe sees another's session state.

The SQL of the inventory passed `opscheck.inventory.sqlguard` when it loaded; SQL of
hand-written checks passes it here (`guarded_rows`).
"""

from __future__ import annotations

import atexit
import contextlib
import math
import re
import select
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.inventory import sqlguard
from opscheck.measurement import Target
from opscheck.redact import redact, register_secret
from opscheck.wireclock import WireClock

APPLICATION_NAME = "opscheck"
# psycopg's placeholders, which PostgreSQL's parser reads as $n parameters.
_PLACEHOLDER = re.compile(r"%%|%\(\w+\)[sbt]|%[sbt]")
_LOGIN_FAILURES = ("authentication failed", "password", "no pg_hba.conf entry", "role", "permission denied for database")


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    conn: psycopg.Connection | None = None
    connected_at: float = 0.0
    run_as: str | None = None


_slots: dict[tuple[str, str], _Slot] = {}
_slots_lock = threading.Lock()


@dataclass
class Session:
    """An open READ ONLY transaction: `rows()` runs one statement and returns dict rows."""

    conn: psycopg.Connection
    fresh: bool
    connect_s: float | None

    def rows(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            cur.execute(sql, params, prepare=True)
            return cur.fetchall() if cur.description else []

    def optional_rows(self, sql: str, params: Any = None, lock_ms: int = 300) -> tuple[list[dict[str, Any]], str | None]:
        """Rows of a statement that needs relation locks (sizes), or why not: it never waits long
        behind a DDL lock, and its failure leaves the transaction usable (a savepoint)."""
        self.rows("SAVEPOINT opscheck_optional")
        try:
            self.rows("SELECT set_config('lock_timeout', %s, true)", (str(lock_ms),))
            rows = self.rows(sql, params)
        except (psycopg.errors.LockNotAvailable, psycopg.errors.InsufficientPrivilege) as exc:
            self.rows("ROLLBACK TO SAVEPOINT opscheck_optional")
            return [], _clean(exc)
        self.rows("ROLLBACK TO SAVEPOINT opscheck_optional")  # restores lock_timeout too
        return rows, None

    def guarded_rows(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        """`rows()` for user-written SQL: refused (UNKNOWN) unless the static guard lets it run."""
        why = sqlguard.problem(_PLACEHOLDER.sub(lambda m: "%" if m.group(0) == "%%" else "$1", sql) if params is not None else sql)
        if why:
            raise Unmeasurable(f"refused, not a read-only query: {why}")
        return self.rows(sql, params)

    def timed_round_trip(self, timeout: float) -> tuple[float, bool, str]:
        """Seconds `SELECT 1` took on the wire as the kernel stamped it (wireclock), whether it did, and our address.

        Sent through libpq directly (extended protocol, like every statement here) because
        the stamps are read between writing the query and reading its answer.
        """
        pgconn = self.conn.pgconn
        with WireClock(pgconn.socket) as clock:
            clock.mark_send()
            pgconn.send_query_params(b"SELECT 1", None)
            while pgconn.flush():
                select.select([], [pgconn.socket], [], timeout)
            sent = clock.sent()
            try:
                first = clock.arrival(timeout, after=sent)
            except TimeoutError:  # the query stays outstanding: the session's ROLLBACK then fails and closes it
                raise Unmeasurable(f"no answer to SELECT 1 within {timeout:g}s") from None
            deadline = time.monotonic() + timeout
            pgconn.consume_input()
            while pgconn.is_busy():
                if time.monotonic() > deadline or not select.select([pgconn.socket], [], [], timeout)[0]:
                    raise Unmeasurable(f"the answer to SELECT 1 did not complete within {timeout:g}s")
                pgconn.consume_input()
            failed = None
            while (result := pgconn.get_result()) is not None:
                if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
                    failed = (result.error_message or b"").decode("utf-8", "replace")
            if failed is not None:
                raise Unmeasurable(f"SELECT 1 failed: {redact(' '.join(failed.split()))}")
            local = clock.local
        return (first - sent) / 1e9, clock.kernel, local

    def cursor(self) -> psycopg.Cursor:
        return self.conn.cursor()

    def server_version_num(self) -> int:
        return self.conn.info.server_version


@contextlib.contextmanager
def read_only(target: Target) -> Iterator[Session]:
    """A READ ONLY transaction on the target's database; DB errors become Unmeasurable."""
    spec = target.params["entry"]
    dsn = spec.dsn.reveal()
    password = spec.password.reveal() if spec.password is not None else None
    run_as = getattr(spec, "run_as", None)
    _register_dsn_secrets(dsn, password)
    with _slots_lock:
        slot = _slots.setdefault((dsn, password or "", run_as or ""), _Slot(run_as=run_as))
    if not slot.lock.acquire(timeout=target.timeout):
        raise Unmeasurable(f"the connection to {target.id} stayed busy for {target.timeout:g}s (another probe holds it)")
    try:
        session = _begin(slot, target, dsn, password)
        try:
            yield session
        except psycopg.Error as exc:
            raise _unmeasurable(exc, target) from None
        finally:
            _reset(slot)
    finally:
        slot.lock.release()


def _begin(slot: _Slot, target: Target, dsn: str, password: str | None) -> Session:
    fresh = False
    connect_s = None
    for attempt in (1, 2):
        if slot.conn is None or slot.conn.closed or slot.conn.broken:
            connect_s = _connect(slot, target, dsn, password)
            fresh = True
        try:
            timeout_ms = str(max(int(target.timeout * 1000), 1))
            lock_ms = str(max(int(target.timeout * 500), 1))
            with slot.conn.cursor() as cur:
                cur.execute("BEGIN READ ONLY")
                # Takes the snapshot too: from here on the server refuses SET TRANSACTION READ WRITE.
                cur.execute(
                    "SELECT set_config('statement_timeout', %s, true), set_config('lock_timeout', %s, true)",
                    (timeout_ms, lock_ms),
                    prepare=True,
                )
            return Session(slot.conn, fresh, connect_s)
        except psycopg.OperationalError as exc:
            # A cached connection the server closed meanwhile (restart, idle timeout): reconnect once.
            _close(slot)
            if fresh or attempt == 2:
                raise _unmeasurable(exc, target) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _connect(slot: _Slot, target: Target, dsn: str, password: str | None) -> float:
    _close(slot)
    params = conninfo_to_dict(dsn)
    options = " ".join(filter(None, [params.get("options"), "-c default_transaction_read_only=on"]))
    extra: dict[str, Any] = {
        "connect_timeout": max(int(math.ceil(target.timeout)), 2),
        "application_name": params.get("application_name") or APPLICATION_NAME,
        "options": options,
    }
    if password is not None:
        extra["password"] = password
    start = time.monotonic()
    try:
        conn = psycopg.connect(make_conninfo(dsn, **extra), autocommit=True)
    except psycopg.Error as exc:
        raise connect_error(exc, target) from None
    slot.conn, slot.connected_at = conn, time.monotonic()
    elapsed = time.monotonic() - start
    try:
        _set_role(slot)
    except psycopg.Error as exc:
        _close(slot)
        raise Unmeasurable(f"cannot SET ROLE {slot.run_as} (run_as): {_clean(exc)}") from None
    return elapsed


def _set_role(slot: _Slot) -> None:
    if slot.run_as and slot.conn is not None:
        slot.conn.execute(pgsql.SQL("SET ROLE {}").format(pgsql.Identifier(slot.run_as)))


def connect_error(exc: psycopg.Error, target: Target) -> Exception:
    """Bad credentials cannot measure (UNKNOWN); an unreachable server is down (CRIT) for pg_connect.

    Other aspects of an unreachable server say UNKNOWN and point at pg_connect,
    so one outage is one CRIT, not one per aspect; except a full server, which is
    exactly what pg_connections is about.
    """
    message = _clean(exc)
    lowered = message.lower()
    # First: PostgreSQL 16 says "reserved for roles with the SUPERUSER attribute".
    if "too many clients" in lowered or "remaining connection slots are reserved" in lowered:
        if target.kind in ("pg_connect", "pg_connections"):
            return TargetDown(f"no connection slot left: {message}")
        return Unmeasurable(f"cannot connect, no connection slot left: {message}")
    if any(word in lowered for word in _LOGIN_FAILURES):
        return Unmeasurable(f"cannot log in: {message}")
    if target.kind == "pg_connect":
        return TargetDown(f"cannot connect: {message}")
    return Unmeasurable(f"cannot connect (see pg_connect): {message}")


def _unmeasurable(exc: psycopg.Error, target: Target) -> Unmeasurable:
    message = _clean(exc)
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return Unmeasurable(f"query cancelled after statement_timeout {target.timeout:g}s: {message}")
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return Unmeasurable(f"lock_timeout while reading: {message}")
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return Unmeasurable(f"permission denied (grant the role pg_monitor): {message}")
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return Unmeasurable(f"refused by the server, checks are read-only: {message}")
    return Unmeasurable(f"{type(exc).__name__}: {message}")


def _clean(exc: BaseException) -> str:
    # libpq messages can quote the conninfo; the redactor masks what register_secret knows.
    text = " ".join(str(exc).split())
    return redact(text)


def _register_dsn_secrets(dsn: str, password: str | None) -> None:
    if password:
        register_secret(password)
    with contextlib.suppress(Exception):
        embedded = conninfo_to_dict(dsn).get("password")
        if embedded:
            register_secret(embedded)


# DISCARD ALL, spelled out as the documentation defines it, but deallocating only statements
# PREPAREd in SQL: DEALLOCATE ALL would also drop psycopg's own protocol-level statements
# behind its back (it notices only the first DISCARD ALL of a connection).
# The last statement lists what PREPARE left, to DEALLOCATE by name (rarely anything).
_RESET = (
    "ROLLBACK; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *;"
    " SELECT pg_advisory_unlock_all(); DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES;"
    " SELECT name FROM pg_prepared_statements WHERE from_sql"
)


def _reset(slot: _Slot) -> None:
    """End the probe's transaction and leave no session state behind for the next probe.

    ROLLBACK undoes what the transaction did, but not session advisory locks,
    prepared statements, LISTEN, temp tables, cursors WITH HOLD or a
    `set_config(…, false)` a hand-written check committed: the reset drops those.
    It also resets the role, so run_as is applied again; the startup option
    default_transaction_read_only=on is a session default and stays.
    A connection that cannot be reset is closed: a new one has no state.
    """
    conn = slot.conn
    if conn is None or conn.closed:
        return
    try:
        if not conn.autocommit:
            conn.rollback()
        with conn.cursor() as cur:
            cur.execute(_RESET)  # no parameters: one simple-protocol round trip for the whole batch
            while cur.nextset():
                pass
            leftovers = [name for (name,) in cur.fetchall()]
        for name in leftovers:
            # psycopg may have sent DEALLOCATE ALL meanwhile (it does after a batch with ROLLBACK).
            with contextlib.suppress(psycopg.errors.InvalidSqlStatementName):
                conn.execute(pgsql.SQL("DEALLOCATE {}").format(pgsql.Identifier(name)))
        _set_role(slot)
    except psycopg.Error:
        _close(slot)


def _close(slot: _Slot) -> None:
    if slot.conn is not None:
        with contextlib.suppress(Exception):
            slot.conn.close()
    slot.conn = None


def close_all() -> None:
    """Close every cached connection (process exit, and tests that restart servers)."""
    with _slots_lock:
        slots = list(_slots.values())
        _slots.clear()
    for slot in slots:
        with slot.lock:
            _close(slot)


atexit.register(close_all)
