"""Parse and format the units inventories speak: 30s, 5m, 4h, 7d, 85%, 10MB."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PERCENT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*%\s*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]i?[bB]?|[bB])?\s*$")
_SIZE_UNITS = {"": 1, "b": 1}
for _i, _p in enumerate("kmgtp", start=1):
    # KB/MB/GB are decimal and KiB/MiB/GiB binary, as IEC 80000-13 and `df -H`/`df -h` have it.
    _SIZE_UNITS[_p] = _SIZE_UNITS[_p + "b"] = 1000**_i
    _SIZE_UNITS[_p + "i"] = _SIZE_UNITS[_p + "ib"] = 1024**_i

DURATION_HINT = "a duration like 30s, 5m, 4h, 7d"
PERCENT_HINT = "a percentage like 85%"
SIZE_HINT = "a size like 512KB, 10MB, 2GiB"


# 100 years: past it, `now - max_age` leaves datetime's range and a timeout overflows time_t/_PyTime_t.
MAX_DURATION = 36500 * 86400.0
MAX_TIMEOUT = 86400.0


def parse_duration(text: object) -> float:
    """Seconds in `text`; bare numbers are refused because `max_age: 4` could be hours or days."""
    if isinstance(text, str):
        match = _DURATION.match(text)
        if match:
            seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            if not seconds <= MAX_DURATION:
                raise ValueError(f"expected {DURATION_HINT} of at most 36500d, found {describe_input(text)}")
            return seconds
    raise ValueError(f"expected {DURATION_HINT}, found {describe_input(text)}")


def parse_timeout(text: object) -> float:
    """A time limit: more than zero (0s would fail everything) and at most a day."""
    seconds = parse_duration(text)
    if not 0 < seconds <= MAX_TIMEOUT:
        raise ValueError(f"expected a timeout above 0s and at most 1d, found {describe_input(text)}")
    return seconds


def parse_seconds(text: str) -> float:
    """A command-line duration: `90s`, `10m`, or bare seconds as CLIs conventionally take them.

    `nan` and `inf` are refused: float() takes them, and a NaN deadline never arrives.
    """
    try:
        seconds = float(text)
    except ValueError:
        return parse_duration(text)
    if not math.isfinite(seconds):
        raise ValueError(f"expected {DURATION_HINT} or a number of seconds, found {text!r}")
    if not seconds <= MAX_DURATION:
        raise ValueError(f"expected {DURATION_HINT} of at most 36500d, found {text!r}")
    return seconds


def parse_percent(text: object) -> float:
    """A percentage as a number 0..100; `85%` and a bare `85` both mean 85 %."""
    if isinstance(text, bool):
        raise ValueError(f"expected {PERCENT_HINT}, found {describe_input(text)}")
    if isinstance(text, (int, float)):
        value = float(text)
    elif isinstance(text, str) and _PERCENT.match(text):
        value = float(_PERCENT.match(text).group(1))
    else:
        raise ValueError(f"expected {PERCENT_HINT}, found {describe_input(text)}")
    if not 0 <= value <= 100:
        raise ValueError(f"expected {PERCENT_HINT} between 0% and 100%, found {describe_input(text)}")
    return value


class Bytes(int):
    """A size that remembers how the inventory wrote it ("1GB"), so its limit prints the same way."""

    written: str | None = None

    @property
    def decimal(self) -> bool:
        """Written in decimal units (KB, MB, GB: powers of 1000), not binary ones (KiB, MiB)."""
        return bool(self.written) and "i" not in self.written.lower() and self.written.strip()[-1:].isalpha()


def parse_size(text: object) -> int:
    """Bytes in `text`; a bare integer is bytes."""
    if isinstance(text, int) and not isinstance(text, bool) and text >= 0:
        return text
    if isinstance(text, str):
        match = _SIZE.match(text)
        if match:
            unit = (match.group(2) or "").lower()
            size = Bytes(int(float(match.group(1)) * _SIZE_UNITS[unit]))
            size.written = "".join(text.split())
            return size
    raise ValueError(f"expected {SIZE_HINT}, found {describe_input(text)}")


def describe_input(value: object) -> str:
    """How an error message shows what the inventory held."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return repr(value)


def format_duration(seconds: float) -> str:
    """Compact, largest unit first: 90 -> '1.5m', 93784 -> '1.1d'."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    units = (("d", 86400), ("h", 3600), ("m", 60))
    # The largest unit that shows the value exactly (25h, not 1.04d), else the largest that fits.
    for unit, size in units:
        # Tolerance of 0.1 %: a file 30h and 40ms old reads "30h", however fast the probe ran.
        if seconds >= size and abs(round(seconds / size, 1) * size - seconds) <= max(0.01, seconds * 0.001):
            return f"{_trim(seconds / size)}{unit}"
    if seconds < 120:
        return f"{_trim(seconds)}s"
    unit, size = next((u, s) for u, s in units if seconds >= s)
    return f"{_trim(seconds / size)}{unit}"


def format_size(size: float, decimal: bool = False) -> str:
    """Binary units, as `df -h` prints them; decimal ones (as `df -H`) to sit beside a limit written so."""
    step, units = (1000, ("B", "KB", "MB", "GB", "TB")) if decimal else (1024, ("B", "KiB", "MiB", "GiB", "TiB"))
    for unit in units:
        if abs(size) < step or unit == units[-1]:
            return f"{_trim(size)}{unit}" if unit != "B" else f"{int(size)}B"
        size /= step
    return f"{size}B"  # pragma: no cover


def format_limit(limit: object, unit: str = "") -> str:
    """A threshold's limit as the inventory wrote it where known (`1GB`, not `953.7MiB`)."""
    written = getattr(limit, "written", None)
    return written if written else format_value(limit, unit)


def format_value(value: object, unit: str = "") -> str:
    """A measured value with its unit, the way the one-line summary shows it."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        if unit == "s":
            return format_duration(value)
        if unit == "B":
            return format_size(value)
        if unit == "%":
            return f"{_trim(value)}%"
        if not unit:
            return _trim(value)
        return f"{_trim(value)} {singular(unit) if value == 1 else unit}"
    return f"{value} {unit}" if unit else str(value)


def singular(unit: str) -> str:
    """`1 backup`, not `1 backups`: count units are plural words; symbols stay as they are."""
    if unit.endswith("ies") and len(unit) > 4:
        return unit[:-3] + "y"
    if unit.endswith("s") and len(unit) > 2 and not unit.endswith("ss"):
        return unit[:-1]
    return unit


def _trim(number: float) -> str:
    if isinstance(number, int) or (math.isfinite(number) and float(number).is_integer()):
        return str(int(number))
    text = f"{number:.1f}" if abs(number) >= 10 else f"{number:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
