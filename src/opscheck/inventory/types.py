"""Field types inventories are written in: durations, percentages, sizes, secrets, limits."""

from __future__ import annotations

import os
import re
import typing
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
    field_validator,
    model_validator,
)

from opscheck.redact import MASK, MIN_SECRET, credential_parts, register_credential
from opscheck.threshold import Direction, Threshold, order_problem
from opscheck.units import describe_input, parse_duration, parse_percent, parse_size, parse_timeout
from opscheck.verdict import SCHEDULES, SEVERITIES


class Strict(BaseModel):
    """Every inventory model: unknown keys are errors (typos must not silently disable a check)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_types(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML 1.2 typing kept by the model: pydantic would take 'yes' and 'on' as true, True as 1
        and the string '1_000' as 1000; a field with its own parser (durations, sizes) decides itself."""
        field = cls.model_fields.get(info.field_name)
        if field is None or value is None or _parses_itself(cls, info.field_name):
            return value
        kind = _plain_kind(field.annotation)
        if kind is bool and not isinstance(value, bool):
            raise ValueError(f"expected true or false, found {describe_input(value)}")
        if kind in (int, float) and (isinstance(value, (bool, str))):
            raise ValueError(f"expected {'a whole number' if kind is int else 'a number'}, found {describe_input(value)}")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _not_negative(cls, value: Any) -> Any:
        """No inventory number is negative (counts, limits, ports, sizes): `warn: -1` is a typo, not a limit."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"expected a number of 0 or more, found {value!r}")
        return value


def _parses_itself(model: type[BaseModel], name: str) -> bool:
    """Whether field `name` has a parser of its own (`Duration`, a `mode="before"` validator)."""
    field = model.model_fields[name]
    if any(isinstance(m, (BeforeValidator, WrapValidator, PlainValidator)) for m in field.metadata):
        return True
    for decorator in model.__pydantic_decorators__.field_validators.values():
        fields = decorator.info.fields
        if decorator.info.mode in ("before", "wrap", "plain") and name in fields and "*" not in fields:
            return True
    return False


def _plain_kind(annotation: Any) -> Any:
    """bool, int or float for `bool`, `int | None`, `float | None`; None for anything else."""
    options = [a for a in typing.get_args(annotation) if a is not type(None)] if typing.get_args(annotation) else [annotation]
    if len(options) == 2 and set(options) == {int, float}:
        return float
    return options[0] if len(options) == 1 and options[0] in (bool, int, float) else None


Duration = Annotated[float, BeforeValidator(parse_duration)]
# A probe's time limit: 0s would fail every check before it starts.
Timeout = Annotated[float, BeforeValidator(parse_timeout)]
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

    __slots__ = ("_value", "source", "sensitive")

    def __init__(self, value: str, source: str, sensitive: bool = True):
        self._value = value
        self.source = source
        self.sensitive = sensitive
        if sensitive:
            register_credential(value)

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


def too_short(value: str) -> str | None:
    """Why `value` cannot be a secret, if it cannot: masking it would mask ordinary words."""
    if len(value) < MIN_SECRET:
        return f"is {len(value)} characters, shorter than {MIN_SECRET}: masking it would mask ordinary words in every report"
    for what, part in credential_parts(value):
        if len(part) < MIN_SECRET:
            return f"holds {what} of {len(part)} characters, shorter than {MIN_SECRET}: masking it would mask ordinary words in every report"
    return None


def _checked(value: str, source: str) -> Secret:
    problem = too_short(value)
    if problem:
        raise ValueError(f"the secret from {source} {problem}")
    return Secret(value, source)


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
        return _checked(os.environ[name], f"env:{name}")
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        base = (info.context or {}).get("base_dir") if info is not None and info.context else None
        if not path.is_absolute() and base:
            path = Path(base) / path
        if path.exists() and not path.is_file():
            raise ValueError(f"secret file {path} is not a regular file")
        try:
            text = path.read_text().rstrip("\r\n")
        except FileNotFoundError:
            raise ValueError(f"secret file {path} does not exist") from None
        except PermissionError:
            raise ValueError(f"secret file {path} is not readable (permission denied)") from None
        except (IsADirectoryError, UnicodeDecodeError) as exc:
            raise ValueError(f"secret file {path} cannot be read as text ({type(exc).__name__})") from None
        return _checked(text, f"file:{path}")
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
