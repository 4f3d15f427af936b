"""`logs:` — counts of named regexes in a time window, across rotated files.

Replaces `grep -i "error|critical" backend.log | tail`, the nginx 401/403/429 counts,
the `sqlmap|nikto` user-agent grep and "more than 50 failed SSH logins in an hour".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.types import CountLimits, Duration, Regex

LogFormat = Literal["auto", "iso8601", "syslog", "combined", "python"]


class LogPattern(CountLimits):
    """One named regex and the warn/crit limits on how often it matched in the window."""

    regex: Regex
    ignore_case: bool = False


# Security presets: the runbook's greps, with its thresholds as defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "http_status": {  # nginx/apache combined: the status follows the quoted request
        "window": 3600.0,
        "patterns": {
            "http_401": {"regex": r'"[A-Z]+ [^"]*" 401 ', "warn": 50, "crit": 500},
            "http_403": {"regex": r'"[A-Z]+ [^"]*" 403 ', "warn": 50, "crit": 500},
            "http_429": {"regex": r'"[A-Z]+ [^"]*" 429 ', "warn": 100, "crit": 1000},
        },
    },
    "scanners": {
        "window": 86400.0,
        "patterns": {"scanner_user_agents": {"regex": r"sqlmap|nikto|nmap|masscan|zgrab|nuclei", "ignore_case": True, "warn": 0}},
    },
    "ssh_failed": {  # auth.log: "more than 50 failed logins in an hour"
        "window": 3600.0,
        "patterns": {"ssh_failed_logins": {"regex": r"sshd\[\d+\]: (Failed (password|publickey) for|Invalid user)", "warn": 10, "crit": 50}},
    },
}


def _patterns(value: Any) -> Any:
    """`patterns: {error: "ERROR|CRITICAL"}` is a regex without limits."""
    if isinstance(value, dict):
        return {k: ({"regex": v} if isinstance(v, str) else v) for k, v in value.items()}
    return value


class LogItem(Item):
    path: str
    window: Duration | None = None                  # default: the preset's, else 24h
    format: LogFormat = "auto"
    rotated: int = Field(default=5, ge=0, le=100)   # how many rotations (.1, .2.gz, ...) may be read
    preset: Literal["http_status", "scanners", "ssh_failed"] | None = None
    patterns: Annotated[dict[str, LogPattern], BeforeValidator(_patterns)] = Field(default_factory=dict)
    # DESIGN.md's shorthand for one pattern: `pattern: "ERROR|CRITICAL", warn: 5, crit: 50`
    pattern: Regex | None = None  # a Regex here, so that a bad one is reported as `pattern`, not `regex`
    warn: int | None = None
    crit: int | None = None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"expected an absolute path, found {value!r}")
        return value

    @model_validator(mode="after")
    def _something_to_count(self):
        if self.pattern is None and (self.warn is not None or self.crit is not None):
            raise ValueError("warn/crit at the entry's level belong to `pattern:`; put them on each of `patterns:`")
        if self.pattern is not None and self.warn is not None and self.crit is not None and self.warn > self.crit:
            raise ValueError(f"warn {self.warn} is above crit {self.crit} (warn must come first as the count rises)")
        if self.pattern is None and not self.patterns and self.preset is None:
            raise ValueError("nothing to count: give pattern:, patterns: or preset:")
        return self

    def all_patterns(self) -> dict[str, LogPattern]:
        """Preset patterns, then the entry's own (which override a preset's by name)."""
        out: dict[str, LogPattern] = {}
        if self.preset is not None:
            for name, spec in PRESETS[self.preset]["patterns"].items():
                out[name] = LogPattern(**spec)
        if self.pattern is not None:
            out[self.name or "matches"] = LogPattern(regex=self.pattern, warn=self.warn, crit=self.crit)
        out.update(self.patterns)
        return out

    def window_s(self) -> float:
        if self.window is not None:
            return self.window
        return PRESETS[self.preset]["window"] if self.preset else 86400.0


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"logs": LogItem}
