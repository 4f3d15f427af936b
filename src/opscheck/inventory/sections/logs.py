"""`logs:` — counts of named regexes in a time window, across rotated files.

Replaces `grep -i "error|critical" backend.log | tail`, the nginx 401/403/429 counts,
the `sqlmap|nikto` user-agent grep and "more than 50 failed SSH logins in an hour".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.sections.containers import engine_url
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
    path: str | None = None                         # a log file ...
    container: str | None = None                    # ... or a container's log (`docker logs --since`)
    engine: str | None = None                       # the container's engine (default: the host's, see docs/containers.md)
    window: Duration | None = None                  # default: the preset's, else 24h
    format: LogFormat = "auto"
    rotated: int = Field(default=5, ge=0, le=100)   # how many rotations (.1, .2.gz, ...) may be read
    preset: Literal["http_status", "scanners", "ssh_failed"] | None = None
    patterns: Annotated[dict[str, LogPattern], BeforeValidator(_patterns)] = Field(default_factory=dict)
    # DESIGN.md's shorthand for one pattern: `pattern: "ERROR|CRITICAL", warn: 5, crit: 50`
    pattern: str | None = None
    warn: int | None = None
    crit: int | None = None

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"expected an absolute path, found {value!r}")
        return value

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str | None) -> str | None:
        return engine_url(value)

    @model_validator(mode="after")
    def _something_to_count(self):
        sources = [key for key in ("path", "container") if getattr(self, key) is not None]
        if len(sources) != 1:
            raise ValueError(f"give one log source, path: or container:, found {' and '.join(sources) or 'neither'}")
        if self.engine is not None and self.container is None:
            raise ValueError("engine: belongs to container: entries")
        if self.pattern is None and (self.warn is not None or self.crit is not None):
            raise ValueError("warn/crit at the entry's level belong to `pattern:`; put them on each of `patterns:`")
        if self.pattern is not None:
            LogPattern(regex=self.pattern, warn=self.warn, crit=self.crit)  # same checks as a named one
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

    def source(self) -> str:
        """The log in ids and summaries: its path, or `container:NAME`."""
        return self.path if self.path is not None else f"container:{self.container}"

    def window_s(self) -> float:
        if self.window is not None:
            return self.window
        return PRESETS[self.preset]["window"] if self.preset else 86400.0


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"logs": LogItem}
