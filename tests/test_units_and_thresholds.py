"""Pure logic: units, thresholds, and how a measurement becomes a verdict and a summary."""

from __future__ import annotations

import pytest

from opscheck.judging import evaluate
from opscheck.measurement import Measurement, Target
from opscheck.threshold import Direction, Threshold
from opscheck.units import format_duration, format_value, parse_duration, parse_percent, parse_size
from opscheck.verdict import Verdict


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("4h", 14400), ("7d", 604800), ("250ms", 0.25), ("1.5h", 5400), ("2w", 1209600)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", [10, "10", "5 minutes", "-1s", "", None, "1y"])
def test_parse_duration_refuses(bad):
    with pytest.raises(ValueError, match="expected a duration like 30s, 5m, 4h, 7d"):
        parse_duration(bad)


def test_parse_percent_and_size():
    assert parse_percent("85%") == 85.0 and parse_percent(85) == 85.0 and parse_percent("12.5 %") == 12.5
    with pytest.raises(ValueError, match="between 0% and 100%"):
        parse_percent("101%")
    assert parse_size("10MB") == 10_000_000 and parse_size("2GiB") == 2 * 1024**3 and parse_size(512) == 512
    with pytest.raises(ValueError, match="expected a size like"):
        parse_size("ten megs")


def test_formatting():
    assert format_duration(90) == "1.5m" and format_duration(14400) == "4h" and format_duration(0.2) == "200ms"
    assert format_value(91.24, "%") == "91.2%" and format_value(3, "days") == "3 days" and format_value(2048, "B") == "2KiB"


@pytest.mark.parametrize(
    ("value", "verdict"),
    [(79.9, Verdict.OK), (80.0, Verdict.OK), (80.1, Verdict.WARN), (90.0, Verdict.WARN), (90.5, Verdict.CRIT)],
)
def test_above_threshold_is_crossed_strictly(value, verdict):
    assert Threshold(80, 90, Direction.ABOVE, "%").judge(value) is verdict


@pytest.mark.parametrize(("value", "verdict"), [(400, Verdict.OK), (30, Verdict.OK), (20, Verdict.WARN), (5, Verdict.CRIT)])
def test_below_threshold(value, verdict):
    assert Threshold(30, 7, Direction.BELOW, " days").judge(value) is verdict


def test_threshold_rejects_wrong_order():
    with pytest.raises(ValueError, match="warn 95% is above crit 90%"):
        Threshold(95, 90, Direction.ABOVE, "%")
    with pytest.raises(ValueError, match="warn 7 is below crit 30"):
        Threshold(7, 30, Direction.BELOW)


def test_threshold_describe():
    assert Threshold(80, 90, Direction.ABOVE, "%").describe() == "warn 80%, crit 90%"
    assert Threshold(30, 7, Direction.BELOW, "days").describe() == "warn below 30 days, crit below 7 days"
    assert Threshold(None, 0).describe() == "crit 0"


def _target(**kw):
    return Target(kind="disk", id="app-1:/", check="disk usage", threshold=Threshold(80, 90, Direction.ABOVE, "%"), **kw)


def test_evaluate_summary_matches_design():
    result = evaluate(Measurement(value=91.2, unit="%", subject="/", label="used", target=_target()))
    assert result.verdict is Verdict.CRIT
    assert result.summary == "/ 91.2% used (warn 80%, crit 90%)"


def test_evaluate_error_kinds():
    down = evaluate(Measurement(error="connection refused", down=True, target=_target()))
    unknown = evaluate(Measurement(error="permission denied", target=_target()))
    assert (down.verdict, down.summary) == (Verdict.CRIT, "app-1:/: connection refused")
    assert (unknown.verdict, unknown.summary) == (Verdict.UNKNOWN, "app-1:/: permission denied")


def test_evaluate_problems_warnings_and_notes():
    target = Target(kind="http", id="api", check="http")
    crit = evaluate(Measurement(subject="api /health", problems=("$.paperTradingMode expected true, found false",), target=target))
    assert crit.verdict is Verdict.CRIT and crit.summary == "api /health: $.paperTradingMode expected true, found false"
    warn = evaluate(Measurement(subject="api", warnings=("slow",), notes=("recovered after 2 attempts",), target=target))
    assert warn.verdict is Verdict.WARN and warn.summary == "api: slow (recovered after 2 attempts)"
    ok = evaluate(Measurement(target=target))
    assert ok.verdict is Verdict.OK


def test_result_record_is_redacted(monkeypatch):
    from opscheck.redact import register_secret

    register_secret("tok-9f8e7d6c")
    result = evaluate(Measurement(value=1, subject="x", label="n", evidence={"header": "Bearer tok-9f8e7d6c"}, target=_target()))
    assert "tok-9f8e7d6c" not in str(result.to_dict())


@pytest.mark.parametrize(("value", "verdict", "shown"), [
    (80.04, "WARN", "80.04%"), (80.0, "OK", "80%"), (79.96, "OK", "79.96%"), (90.001, "CRIT", "90.001%"), (85.26, "WARN", "85.3%"),
])
def test_judged_exactly_rounded_only_for_display(value, verdict, shown):
    from opscheck.judging import evaluate
    from opscheck.measurement import Measurement
    from opscheck.threshold import Threshold

    r = evaluate(Measurement(value=value, unit="%", subject="/", label="used", threshold=Threshold(80, 90, unit="%")))
    assert r.verdict.value == verdict
    assert r.summary == f"/ {shown} used (warn 80%, crit 90%)"
