"""`backups:` — backup sets (a host, a directory, a glob): age, count, retention, size,
integrity, and the quarterly restore and extraction drills.

Replaces the runbook's `ls -lt /var/backups`, `gunzip -t`, `tar -tzf`, `find -mtime +30`
and the disaster-recovery test.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import (
    DurationLimits,
    MaybeSecret,
    PercentLimits,
    Size,
    Strict,
    as_list,
)
from opscheck.threshold import Direction, Threshold
from opscheck.units import parse_duration

# Integrity methods; `auto` picks them from the file name (see integrity.methods_for).
IntegrityMethod = Literal["auto", "gzip", "zstd", "tar", "zip", "sha256", "pg_custom", "pg_dir", "sql", "rdb"]


def _words(value: Any) -> Any:
    """`integrity: gzip` and `required_members: .env` mean one-entry lists (DESIGN.md writes them so)."""
    return [value] if isinstance(value, str) else as_list(value)


Words = BeforeValidator(_words)


def _days(value: Any) -> Any:
    """`keep_days: 7`, or a duration like `36h` / `7d` in days."""
    return parse_duration(value) / 86400 if isinstance(value, str) else value


def _limits_or_scalar(build):
    """Let `max_age: 4h` stand for the limits it implies, or take `{warn: .., crit: ..}`."""

    def convert(value: Any) -> Any:
        if value is None or isinstance(value, dict):
            return value
        return build(value)

    return BeforeValidator(convert)


class AgeLimits(DurationLimits):
    """Newest backup's age: warn after one missed run, crit after two (plus grace)."""


class CountMinimum(Strict):
    """How many backups must exist: fewer means runs are missing (crit below `crit`)."""

    warn: int | None = None
    crit: int | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.warn is not None and self.crit is not None and self.warn < self.crit:
            raise ValueError(f"warn {self.warn} is below crit {self.crit} (warn must come first as the count falls)")
        return self

    def threshold(self) -> Threshold:
        return Threshold(self.warn, self.crit, Direction.BELOW, "")


class ShrinkLimits(PercentLimits):
    """How much smaller the newest backup may be than the one before it."""


class VerifyQuery(Strict):
    """A verification query after a restore: `table` counts its rows, or `sql` returns one number."""

    name: str | None = None
    table: str | None = None
    sql: str | None = None
    min: int = 1

    @model_validator(mode="after")
    def _one(self):
        if (self.table is None) == (self.sql is None):
            raise ValueError("give exactly one of table: or sql:")
        return self

    @field_validator("sql")
    @classmethod
    def _read_only(cls, sql: str | None) -> str | None:
        from opscheck.inventory.sections.postgres import read_only_sql

        return None if sql is None else read_only_sql(sql.strip().rstrip(";").strip())

    @property
    def label(self) -> str:
        return self.name or self.table or self.sql or ""


class RestoreDrill(Strict):
    """Restore the newest PostgreSQL dump into a scratch database, verify, drop it."""

    dsn: MaybeSecret                        # server to restore on (a role with CREATEDB); any database
    database: str                           # the scratch database: created, restored into, dropped
    scratch: bool = False                   # must be true: says the database may be created and dropped
    source: MaybeSecret | None = None       # the production DSN, so the drill refuses to restore onto it
    verify: Annotated[list[VerifyQuery], BeforeValidator(as_list)] = Field(default_factory=list)
    duration: DurationLimits = Field(default_factory=DurationLimits)   # RTO: warn/crit on restore time
    jobs: int = Field(default=1, ge=1, le=64)

    @field_validator("database")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value or len(value) > 63:
            raise ValueError("expected a database name of 1 to 63 characters")
        return value


class ExtractDrill(Strict):
    """Extract the newest archive into a temporary directory and look for required files."""

    required: Annotated[list[str], Words] = Field(default_factory=list)


class BackupItem(Item):
    path: str
    pattern: str = "*"
    max_age: Annotated[AgeLimits | None, _limits_or_scalar(lambda v: {"warn": v, "crit": f"{2 * parse_duration(v):g}s"})] = None
    grace: Annotated[float, BeforeValidator(parse_duration)] = 3600.0
    keep_days: Annotated[float | None, BeforeValidator(_days), Field(gt=0)] = None
    min_count: Annotated[CountMinimum, _limits_or_scalar(lambda v: {"crit": v})] = Field(default_factory=lambda: CountMinimum(crit=1))
    min_size: Size = 1
    max_shrink: Annotated[ShrinkLimits, _limits_or_scalar(lambda v: {"crit": v})] = Field(default_factory=lambda: ShrinkLimits(crit=50.0))
    integrity: Annotated[list[IntegrityMethod], Words] = Field(default_factory=list)
    required_members: Annotated[list[str], Words] = Field(default_factory=list)
    restore: RestoreDrill | None = None
    extract: ExtractDrill | None = None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"expected an absolute directory, found {value!r}")
        return value.rstrip("/") or "/"

    @field_validator("pattern")
    @classmethod
    def _basename_glob(cls, value: str) -> str:
        if not value or "/" in value:
            raise ValueError(f"expected a file name glob like db_*.sql.gz (no /), found {value!r}")
        return value

    def expected_count(self) -> int | None:
        """How many backups keep_days of max_age-spaced runs should leave (a hint for evidence)."""
        if self.keep_days is None or self.max_age is None or not self.max_age.warn:
            return None
        return math.floor(self.keep_days * 86400 / self.max_age.warn)


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"backups": BackupItem}
