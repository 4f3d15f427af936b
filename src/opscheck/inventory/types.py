"""Field types inventories are written in: durations, percentages, sizes, secrets, limits."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    WrapValidator,
    model_validator,
)

from opscheck.redact import MASK, register_secret
from opscheck.threshold import Direction, Threshold, order_problem
from opscheck.units import describe_input, parse_duration, parse_percent, parse_size
from opscheck.verdict import SCHEDULES, SEVERITIES


class Strict(BaseModel):
    """Every inventory model: unknown keys are errors (typos must not silently disable a check)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


Duration = Annotated[float, BeforeValidator(parse_duration)]
Percent = Annotated[float, BeforeValidator(parse_percent)]
# Plain, not Before: pydantic's int validation would turn the Bytes (which keeps "1GB") into an int.
Size = Annotated[int, PlainValidator(lambda value: _size(value))]


def _size(value: Any) -> int:
    return parse_size(value)


def _one_of(allowed: tuple[str, ...], what: str):
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise ValueError(f"expected a {what} ({', '.join(allowed)}), found {describe_input(value)}")
        return value

    return check


def _regex(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a regular expression, found {describe_input(value)}")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


# A pattern that must compile when the inventory loads, not when the check runs.
Regex = Annotated[str, BeforeValidator(_regex)]


SeverityName = Annotated[str, BeforeValidator(_one_of(tuple(SEVERITIES), "severity"))]
ScheduleName = Annotated[str, BeforeValidator(_one_of(tuple(SCHEDULES), "schedule"))]


def as_list(value: Any) -> Any:
    """Let a single entry stand where a list is expected (`disk: {mount: /}`)."""
    if value is None:
        return []
    # Only a mapping stands for a one-entry list; other scalars get the list type's own error.
    return [value] if isinstance(value, dict) else value


def str_or_list(value: Any) -> Any:
    """`on: app` and `schedule: smoke` mean one-element lists."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


class Secret:
    """A value that must never be shown; `reveal()` is the only way to read it."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str, sensitive: bool = True):
        self._value = value
        self.source = source
        if sensitive:
            register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def resolve_secret(value: Any, info: ValidationInfo | None = None, *, literal_ok: bool = False) -> Secret:
    """`env:NAME` and `file:/path` read from outside the inventory; a literal only if allowed."""
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected env:NAME or file:/path, found {describe_input(value)}")
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return Secret(os.environ[name], f"env:{name}")
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        base = (info.context or {}).get("base_dir") if info is not None and info.context else None
        if not path.is_absolute() and base:
            path = Path(base) / path
        try:
            return Secret(path.read_text().rstrip("\r\n"), f"file:{path}")
        except FileNotFoundError:
            raise ValueError(f"secret file {path} does not exist") from None
        except PermissionError:
            raise ValueError(f"secret file {path} is not readable (permission denied)") from None
        except (IsADirectoryError, UnicodeDecodeError) as exc:
            raise ValueError(f"secret file {path} cannot be read as text ({type(exc).__name__})") from None
    if literal_ok:
        return Secret(value, "inline", sensitive=False)
    raise ValueError("secrets do not belong in the inventory: use env:NAME or file:/path")


def _secret_validator(literal_ok: bool):
    def validate(value: Any, handler, info: ValidationInfo) -> Secret:
        return resolve_secret(value, info, literal_ok=literal_ok)

    return WrapValidator(validate)


_masked = PlainSerializer(lambda s: MASK, return_type=str)
# A value that must come from env:/file: (passwords, tokens).
SecretValue = Annotated[Secret, _secret_validator(False), _masked]
# A value that may be written inline or come from env:/file: (URLs, DSNs without passwords).
MaybeSecret = Annotated[Secret, _secret_validator(True), _masked]


class Limits(Strict):
    """warn/crit for one measured value; subclasses fix the unit, direction and defaults."""

    direction: ClassVar[Direction] = Direction.ABOVE
    unit: ClassVar[str] = ""

    warn: float | None = None
    crit: float | None = None

    @model_validator(mode="after")
    def _ordered(self):
        problem = order_problem(self.warn, self.crit, self.direction, self.unit)
        if problem:
            defaults = [name for name in ("warn", "crit") if name not in self.model_fields_set]
            if defaults:
                problem += f"; {' and '.join(defaults)} is the default here, set it too"
            raise ValueError(problem)
        return self

    def threshold(self) -> Threshold:
        return Threshold(self.warn, self.crit, self.direction, self.unit)


class PercentLimits(Limits):
    unit: ClassVar[str] = "%"
    warn: Percent | None = None
    crit: Percent | None = None


class DurationLimits(Limits):
    unit: ClassVar[str] = "s"
    warn: Duration | None = None
    crit: Duration | None = None


class CountLimits(Limits):
    warn: int | None = None
    crit: int | None = None


class FloatLimits(Limits):
    warn: float | None = None
    crit: float | None = None
