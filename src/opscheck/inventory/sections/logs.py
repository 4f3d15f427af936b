"""`logs:` — counts of named regexes in a time window, across rotated files.

Replaces `grep -i "error|critical" backend.log | tail`, the nginx 401/403/429 counts,
the `sqlmap|nikto` user-agent grep, "more than 50 failed SSH logins in an hour" and,
where there is no syslog file (Debian 12), `journalctl --since -1h -u nginx -p err`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from opscheck.inventory.sections.common import Item
from opscheck.inventory.sections.containers import engine_url
from opscheck.inventory.types import CountLimits, Duration, Regex, Strict, str_or_list

LogFormat = Literal["auto", "iso8601", "syslog", "combined", "python"]
EVERY_ENTRY = "^"   # the pattern of a journal entry without one: each entry the filters let through
PRIORITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


def _priority(value: Any) -> Any:
    """journalctl -p: a name or 0-7 (that level and more severe), or a range `warning..err`."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    for part in value.split(".."):
        if part not in PRIORITIES and not (part.isdigit() and int(part) < len(PRIORITIES)):
            raise ValueError(f"expected a syslog priority ({', '.join(PRIORITIES)} or 0-7, or a range like warning..err), found {value!r}")
    return value


def _absolute(value: str | None) -> str | None:
    if value is not None and not value.startswith("/"):
        raise ValueError(f"expected an absolute path, found {value!r}")
    return value


class JournalSource(Strict):
    """Which journal entries to read (`journalctl -u/-p/-t`), and where the journal lies."""

    unit: Annotated[list[str], BeforeValidator(str_or_list)] = Field(default_factory=list)
    priority: Annotated[str | None, BeforeValidator(_priority)] = None
    identifier: Annotated[list[str], BeforeValidator(str_or_list)] = Field(default_factory=list)
    directory: Annotated[str | None, BeforeValidator(_absolute)] = None   # journalctl --directory (default: the system journal)
    file: Annotated[str | None, BeforeValidator(_absolute)] = None        # journalctl --file

    @model_validator(mode="after")
    def _one_place(self):
        if self.directory is not None and self.file is not None:
            raise ValueError("give directory: or file:, not both")
        return self

    def describe(self) -> str:
        """`journal:nginx` and the like: short, for check ids and summaries."""
        what = ",".join(self.unit) or ",".join(self.identifier) or "all"
        return f"journal:{what}" + (f":{self.priority}" if self.priority else "")


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
    path: str | None = None                          # a log file, or
    journal: JournalSource | None = None             # the journal of the host (journalctl)
    container: str | None = None                     # a container's log (`docker logs --since`)
    engine: str | None = None                        # the container's engine (default: the host's, see docs/containers.md)
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
    def _absolute(cls, value: str | None) -> str | None:
        return _absolute(value)

    @field_validator("engine")
    @classmethod
    def _engine(cls, value: str | None) -> str | None:
        return engine_url(value)

    @model_validator(mode="after")
    def _one_source(self):
        sources = [key for key in ("path", "journal", "container") if getattr(self, key) is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one source: path: (a log file), journal: (journalctl) or container: (docker logs)"
                             + (f", found {' and '.join(sources)}" if sources else ""))
        if self.engine is not None and self.container is None:
            raise ValueError("engine: belongs to container: entries")
        if self.path is None:
            files_only = sorted({"format", "rotated"} & self.model_fields_set)
            if files_only:
                raise ValueError(f"{' and '.join(files_only)} apply to log files, not to {sources[0]}:")
        return self

    @model_validator(mode="after")
    def _something_to_count(self):
        if self.pattern is None and (self.warn is not None or self.crit is not None) and not self._counts_entries():
            raise ValueError("warn/crit at the entry's level belong to `pattern:`; put them on each of `patterns:`")
        if self.pattern is not None:
            LogPattern(regex=self.pattern, warn=self.warn, crit=self.crit)  # same checks as a named one
        if self._counts_entries():
            CountLimits(warn=self.warn, crit=self.crit)
        elif self.pattern is None and not self.patterns and self.preset is None:
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
        if self._counts_entries():
            # `journal: {unit: nginx, priority: err}, crit: 1`: the filters select, every entry counts.
            out[self.name or "entries"] = LogPattern(regex=EVERY_ENTRY, warn=self.warn, crit=self.crit)
        out.update(self.patterns)
        return out

    def _counts_entries(self) -> bool:
        return self.journal is not None and self.pattern is None and not self.patterns and self.preset is None

    def source(self) -> str:
        """The log file, `journal:<unit>` or `container:NAME`: what check ids and summaries name."""
        if self.container is not None:
            return f"container:{self.container}"
        return self.path if self.path is not None else self.journal.describe()

    def window_s(self) -> float:
        if self.window is not None:
            return self.window
        return PRESETS[self.preset]["window"] if self.preset else 86400.0


# The inventory key this module adds (the Inventory model is assembled from these).
SECTIONS = {"logs": LogItem}
