"""`postgres:` — one entry per database: connect, activity, size, replication, SQL assertions.

Every aspect has defaults and runs unless set to `false` (sequences, archiver and
checkpoints only when set or listed in `only:`); each becomes its own
check (`test_pg_blocked[main]`), so a report line says which aspect failed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory import sqlguard
from opscheck.inventory.sections.aspects import Aspect, OptIn, allow_list, check_only, only_names
from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import (
    CountLimits,
    Duration,
    DurationLimits,
    Limits,
    MaybeSecret,
    Percent,
    PercentLimits,
    Secret,
    SecretValue,
    Size,
    Strict,
    as_list,
)
from opscheck.redact import register_secret


class LatencyLimits(DurationLimits):
    warn: Duration | None = 0.5
    crit: Duration | None = 2.0


class ConnectionLimits(PercentLimits):
    warn: Percent | None = 70.0
    crit: Percent | None = 90.0


class BlockedLimits(CountLimits):
    warn: int | None = None
    crit: int | None = 0


class AgeLimits(DurationLimits):
    warn: Duration | None = 300.0
    crit: Duration | None = 1800.0


class SizeLimits(Limits):
    unit: ClassVar[str] = "B"
    warn: Size | None = None
    crit: Size | None = None


class WraparoundLimits(PercentLimits):
    warn: Percent | None = 80.0
    crit: Percent | None = 100.0


class ReplicationLimits(DurationLimits):
    """Replay lag (primary: worst replica; standby: its own delay), plus structural rules."""

    warn: Duration | None = 30.0
    crit: Duration | None = 300.0
    min_replicas: int = 0
    slot_retained: Size | None = None  # an inactive slot holding more WAL than this is CRIT, else WARN


class DeadTupleLimits(PercentLimits):
    warn: Percent | None = 20.0
    crit: Percent | None = None
    min_dead: int = 1000  # small tables churn: ignore fewer dead tuples than this


class UnusedIndexLimits(CountLimits):
    warn: int | None = 0
    crit: int | None = None
    min_size: Size = 0  # ignore unused indexes smaller than this


class SequenceLimits(PercentLimits):
    """The most used sequence: % of its range handed out (of its owning column's type, when narrower)."""

    warn: Percent | None = 75.0
    crit: Percent | None = 90.0


class ArchiverRules(Strict):
    """WAL archiving failing: the last failure newer than the last success (pg_stat_archiver)."""

    required: bool = False  # archive_mode=off is then CRIT instead of OK saying so


class CheckpointLimits(PercentLimits):
    """Requested checkpoints (WAL filled max_wal_size, or CHECKPOINT) as % of all since statistics reset."""

    warn: Percent | None = 50.0
    crit: Percent | None = None
    min_checkpoints: int = Field(default=10, ge=1)  # fewer say too little to judge: UNKNOWN


class SlowQueryLimits(DurationLimits):
    """Mean execution time of the slowest statement in pg_stat_statements."""

    warn: Duration | None = 1.0
    crit: Duration | None = None
    min_calls: int = 5
    top: int = 10


_COMPARISON = re.compile(r"^\s*(<=|>=|==|!=|<|>|=)\s*(-?\d+(?:\.\d+)?)\s*$")


class Expectation(Strict):
    """What an assertion's result must be: its single value, or its row count."""

    of: Literal["value", "rows"]
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    operand: Any

    def describe(self) -> str:
        subject = "rows" if self.of == "rows" else "value"
        return f"{subject} {self.op} {self.operand!r}"


def parse_expectation(raw: Any) -> Any:
    """`0`, `"ok"`, `"< 5"` judge the single value; `{rows: 0}`, `{rows: "> 0"}` the row count."""
    if isinstance(raw, Expectation):
        return raw
    of = "value"
    if isinstance(raw, dict):
        if set(raw) != {"rows"} and set(raw) != {"value"}:
            raise ValueError(f"expected {{rows: N}} or {{value: X}}, found keys {', '.join(map(str, raw))}")
        of, raw = next(iter(raw.items()))
    if isinstance(raw, (list, dict)) or raw is None:
        raise ValueError("expected a value (0, 'ok', true), a comparison ('< 5') or {rows: 0}")
    if isinstance(raw, str):
        match = _COMPARISON.match(raw)
        if match:
            op = "==" if match.group(1) == "=" else match.group(1)
            number = float(match.group(2))
            return Expectation(of=of, op=op, operand=int(number) if number.is_integer() else number)
    if of == "rows" and (not isinstance(raw, int) or isinstance(raw, bool) or raw < 0):
        raise ValueError(f"rows: expected a count or a comparison like '> 0', found {raw!r}")
    return Expectation(of=of, op="==", operand=raw)


class Assertion(Item):
    """A named read-only query and what its result must be (the runbooks' 'must be empty')."""

    name: str  # required: it is the check id (`test_pg_assertion[main:no real trades]`)
    sql: str
    expect: Annotated[Expectation, BeforeValidator(parse_expectation)]

    @field_validator("sql")
    @classmethod
    def _not_empty(cls, sql: str) -> str:
        if not sql.strip():
            raise ValueError("empty SQL")
        return read_only_sql(sql.strip().rstrip(";").strip())


def read_only_sql(sql: str) -> str:
    """`sql` if the static guard lets it run, else the guard's reason as a load-time error."""
    why = sqlguard.problem(sql)
    if why:
        raise ValueError(f"not a read-only query: {why}")
    return sql


def _role_name(value: str) -> str:
    if not value or len(value) > 63 or value != value.strip():
        raise ValueError("expected a role name of 1 to 63 characters")
    return value


def _dsn_without_password(dsn: Secret) -> Secret:
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(dsn.reveal())
    except Exception as exc:  # noqa: BLE001 - psycopg raises ProgrammingError for bad syntax
        raise ValueError(f"not a valid PostgreSQL DSN ({type(exc).__name__})") from None
    if params.get("password"):
        if dsn.source == "inline":
            raise ValueError("a password does not belong in the inventory: use dsn: env:NAME / file:/path, or password: env:NAME")
        register_secret(params["password"])
    return dsn


# `only: [connect]` reads as the runbook's pg_isready; the aspect's key is `latency`.
ONLY_ALIASES = {"connect": "latency"}


class PostgresItem(Item):
    """One database, reached with `dsn` (a libpq URL or key=value string)."""

    dsn: Annotated[MaybeSecret, AfterValidator(_dsn_without_password)]
    password: SecretValue | None = None
    # SET ROLE to this weaker role right after connecting (and after every reset), before any SQL.
    run_as: Annotated[str, AfterValidator(_role_name)] | None = None
    latency: Aspect[LatencyLimits]
    connections: Aspect[ConnectionLimits]
    blocked_queries: Aspect[BlockedLimits]
    long_running: Aspect[AgeLimits]
    idle_in_transaction: Aspect[AgeLimits]
    database_size: Aspect[SizeLimits]
    wraparound: Aspect[WraparoundLimits]
    replication: Aspect[ReplicationLimits]
    dead_tuples: Aspect[DeadTupleLimits]
    unused_indexes: Aspect[UnusedIndexLimits]
    slow_queries: Aspect[SlowQueryLimits]
    # Opt-in (issue 17): on when set (`true` or limits) or listed in `only:`.
    sequences: OptIn[SequenceLimits]
    archiver: OptIn[ArchiverRules]
    checkpoints: OptIn[CheckpointLimits]
    only: list[str] | None = None  # allow-list of aspects: every other one is off
    assertions: Annotated[list[Assertion], BeforeValidator(as_list)] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _allow_list(cls, data: Any) -> Any:
        return allow_list(data, only_names(cls, ONLY_ALIASES))

    @field_validator("only")
    @classmethod
    def _only_names(cls, value: list[str] | None) -> list[str] | None:
        return check_only(value, only_names(cls, ONLY_ALIASES))

    @model_validator(mode="after")
    def _checks(self):
        names = [a.name for a in self.assertions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate assertion names: {', '.join(duplicates)}")
        return self


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"postgres": PostgresItem}
