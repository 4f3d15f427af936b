"""How a check's numbers read to a person: values with units, thresholds in words.

Every report (HTML, Allure, Nagios long output) speaks the same way: a size is
`1.5 GiB`, a duration `4h`, a count `1 backup`, and a limit says what is
expected (`at least 1 backup`, `at most 80%; crit over 90%`) rather than the
raw pair `crit 1, (below)`.
"""

from __future__ import annotations

import math

from opscheck.units import format_duration, singular

# Worst first: the order of the headline, the table and the cron mail.
VERDICT_ORDER = ("CRIT", "UNKNOWN", "WARN", "WAIVED", "OK")
SEVERITY_ORDER = ("critical", "high", "medium", "low")


def verdict_rank(verdict: str) -> int:
    return VERDICT_ORDER.index(verdict) if verdict in VERDICT_ORDER else len(VERDICT_ORDER)


def worst_first(checks: list[dict]) -> list[dict]:
    """Verdict, then severity, then the run's order (sorted() is stable)."""
    return sorted(
        checks,
        key=lambda c: (
            verdict_rank(c.get("verdict", "")),
            SEVERITY_ORDER.index(c["severity"]) if c.get("severity") in SEVERITY_ORDER else len(SEVERITY_ORDER),
        ),
    )


def overall_state(counts: dict[str, int]) -> str:
    for verdict in ("CRIT", "UNKNOWN", "WARN"):
        if counts.get(verdict):
            return verdict
    return "OK"


def size(value: float) -> str:
    """Binary units with a space, as a reader writes them: `1 B`, `909.5 TiB`."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{_trim(value)} {unit}"
        value /= 1024
    return f"{value} B"  # pragma: no cover


def quantity(value, unit: str = "") -> str:
    """A value with its unit: `4h`, `1.5 GiB`, `85.5%`, `1 backup`, `3 messages`."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return f"{value} {unit}".strip()
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} {unit}".strip()
    if unit == "s":
        return format_duration(value)
    if unit == "B":
        return size(value)
    if unit == "%":
        return f"{_trim(value)}%"
    if unit == "ratio":
        return f"{_trim(value * 100)}%"
    if not unit:
        return _trim(value)
    return f"{_trim(value)} {singular(unit) if value == 1 else unit}"


def threshold_words(warn, crit, direction: str | None, unit: str = "") -> str:
    """What the check expects, then where CRIT starts: `at most 80%; crit over 90%`."""
    below = direction == "below"
    expect, past = ("at least", "under") if below else ("at most", "over")
    if warn is None and crit is None:
        return ""
    if warn is None:
        return f"{expect} {quantity(crit, unit)}"
    if crit is None:
        return f"{expect} {quantity(warn, unit)} (else WARN)"
    return f"{expect} {quantity(warn, unit)}; crit {past} {quantity(crit, unit)}"


def record_threshold(record: dict) -> str:
    return threshold_words(record.get("warn"), record.get("crit"), record.get("direction"), record.get("unit") or "")


def record_value(record: dict) -> str:
    """The value the verdict is about: a failed expectation (a disk alarm) wins over the number
    the probe also read on the way (the broker's latency)."""
    verdict = record.get("verdict")
    if verdict == "WAIVED":
        verdict = (record.get("waiver") or {}).get("verdict") or verdict
    for key, applies in (("problems", ("CRIT",)), ("warnings", ("WARN",))):
        issues = record.get(key) or []
        if issues and verdict in applies:
            more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
            return f"{issues[0]}{more}"
    value = record.get("value")
    if value is None:
        return ""
    return quantity(value, record.get("unit") or "")


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.2f} s"
    parts, rest = [], int(round(value))
    for unit, size_s in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size_s:
            parts.append(f"{rest // size_s}{unit}")
            rest %= size_s
    return " ".join(parts[:2])


def _trim(number: float) -> str:
    if isinstance(number, int) or float(number).is_integer():
        return f"{int(number):,}" if abs(number) >= 100000 else str(int(number))
    text = f"{number:.1f}" if abs(number) >= 10 else f"{number:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
