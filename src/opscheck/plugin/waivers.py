"""Waivers: an approved, expiring exception that shows a known problem as WAIVED.

Like InSpec's waivers: each entry names checks by id glob, says why (required),
who approved it and until when. An active waiver turns a CRIT, UNKNOWN or WARN
into WAIVED (pytest *skipped*, so it does not fail the run) in every report; an
expired one no longer applies and the check's summary says it expired; a waiver
that matches no check of the run is reported, because stale waivers are an audit
smell. Globs take `*` and `?` only: `[` and `]` are literal, as in test ids.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BeforeValidator, Field, ValidationError

from opscheck.errors import InventoryError
from opscheck.inventory.types import Strict
from opscheck.result import Result
from opscheck.verdict import Verdict

WAIVERS = pytest.StashKey["WaiverSet"]()
WAIVED_STATUS = ("waived", "w", ("WAIVED", {"cyan": True}))
WAIVABLE = (Verdict.CRIT, Verdict.UNKNOWN, Verdict.WARN)


def _text(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("required: a non-empty text")
    return value.strip()


Text = Annotated[str, BeforeValidator(_text)]


def _iso_date(value):
    """Only `2026-12-31`: pydantic would read a bare number as seconds since 1970."""
    if isinstance(value, date) or (isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip())):
        return value.strip() if isinstance(value, str) else value
    raise ValueError(f"expected a date like 2026-12-31, found {value!r}")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class Waiver(Strict):
    id: Text
    justification: Text
    approver: Text
    expires: IsoDate

    def matches(self, nodeid: str) -> bool:
        pattern = _glob(self.id)
        return bool(pattern.fullmatch(nodeid) or pattern.fullmatch(nodeid.split("::", 1)[-1]))

    def expired(self, today: date) -> bool:
        """A waiver is good through its expiry date (UTC)."""
        return today > self.expires

    def describe(self) -> dict:
        return {"id": self.id, "justification": self.justification, "approver": self.approver, "expires": self.expires.isoformat()}


class WaiverFile(Strict):
    waivers: list[Waiver] = Field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class WaiverSet:
    path: str
    sha256: str
    entries: tuple[Waiver, ...]
    today: date

    def find(self, nodeid: str) -> Waiver | None:
        """The first active waiver for `nodeid`, else the first expired one (so the report can say so)."""
        matching = [w for w in self.entries if w.matches(nodeid)]
        active = [w for w in matching if not w.expired(self.today)]
        return (active or matching or [None])[0]

    def status(self, check_ids: list[str], verdicts: dict[str, str]) -> list[dict]:
        """Every waiver with what it did in this run: active, expired or stale (matched no check)."""
        out = []
        for waiver in self.entries:
            matched = [c for c in check_ids if waiver.matches(c)]
            if not matched:
                state = "stale"
            elif waiver.expired(self.today):
                state = "expired"
            else:
                state = "active"
            waived = [c for c in matched if verdicts.get(c) == Verdict.WAIVED.value]
            out.append({**waiver.describe(), "status": state, "matched": matched, "waived": waived})
        return out


def load(path: Path, today: date | None = None) -> WaiverSet:
    """Read and validate a waiver file; problems raise InventoryError, one line each."""
    from opscheck.inventory.loader import decode, parse_yaml, read_file, sort_problems

    shown = str(path)
    raw = read_file(Path(path), "waiver")
    data, lines, problems = parse_yaml(decode(raw, shown), shown, partial=True)
    if isinstance(data, list):
        data = {"waivers": data}
    if data is None:
        data = {"waivers": []}
    if not isinstance(data, dict):
        raise InventoryError(sort_problems(problems) or [f"{shown}: expected a mapping with a `waivers:` list"])
    try:
        parsed = WaiverFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            line = lines.get(loc) or lines.get(loc[:-1]) or ""
            where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
            message = "required" if error["type"] == "missing" else error["msg"].removeprefix("Value error, ")
            if error["type"].startswith(("date_", "datetime_")):
                message = f"expected a date like 2026-12-31, found {error.get('input')!r}"
            if error["type"] == "list_type":
                message = f"expected a list of waivers, found {error.get('input')!r}"
            if error["type"] in ("model_type", "dict_type", "model_attributes_type"):
                message = f"expected a mapping with id, justification, approver and expires, found {error.get('input')!r}"
            if error["type"] == "extra_forbidden":
                message = "unknown key (expected one of: id, justification, approver, expires)"
            problems.append(f"{shown}:{line}: {where}: {message}" if line else f"{shown}: {where}: {message}")
        raise InventoryError(sort_problems(problems)) from None
    if problems:
        raise InventoryError(sort_problems(problems))
    today = today or datetime.now(timezone.utc).date()
    return WaiverSet(shown, hashlib.sha256(raw).hexdigest(), tuple(parsed.waivers), today)


def configure(config: pytest.Config, path: Path | None) -> None:
    """Load the waiver file once per process; a bad one stops the run before any check."""
    if path is None:
        return
    try:
        config.stash[WAIVERS] = load(path)
    except InventoryError as exc:
        raise pytest.UsageError(*exc.problems) from None


def apply(item: pytest.Item, result: Result, report: pytest.TestReport) -> Result:
    """WAIVED (and a skipped report) for a waived problem; an expired waiver is only noted."""
    waivers = item.config.stash.get(WAIVERS, None)
    if waivers is None or result.verdict not in WAIVABLE:
        return result
    waiver = waivers.find(item.nodeid)
    if waiver is None:
        return result
    if waiver.expired(waivers.today):
        report.opscheck_waiver = {**waiver.describe(), "status": "expired"}
        # In front: the redactor masks a header value up to the end of the line.
        return dataclasses.replace(result, summary=f"[waiver {waiver.id!r} expired {waiver.expires}] {result.summary}")
    report.opscheck_waiver = {**waiver.describe(), "status": "active", "verdict": result.verdict.value}
    summary = (
        f"{result.verdict.value} waived ({waiver.justification}; approved by {waiver.approver} "
        f"until {waiver.expires}): {result.summary}"
    )
    report.outcome = "skipped"
    report.longrepr = (str(item.path), (item.location[1] or 0) + 1, f"WAIVED: {summary}")
    report.user_properties.append(("waived_verdict", result.verdict.value))
    return dataclasses.replace(result, verdict=Verdict.WAIVED, summary=summary)


def report_status(report: pytest.TestReport):
    record = getattr(report, "opscheck", None)
    if record and report.skipped and record.get("verdict") == Verdict.WAIVED.value and report.when in ("setup", "call"):
        return WAIVED_STATUS
    return None


def _glob(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))
