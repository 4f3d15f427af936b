"""Recognisers: one module per area, each a table of command name -> function(pipe, ctx) -> drafts.

A recogniser returns the drafts it is sure of, or None when the command is not one
it understands (the pipeline is then listed as "not recognised", never guessed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opscheck.importer import prose
from opscheck.importer.markdown import Block
from opscheck.importer.model import Draft, Source
from opscheck.importer.shell import Pipe


@dataclass
class Ctx:
    source: Source
    block: Block
    hints: list[prose.Hint]
    schedule: str | None
    expected_json: object = None
    extra: dict = field(default_factory=dict)

    def draft(self, section: str, kind: str, target: str, entry: dict, **kw) -> Draft:
        return Draft(section, kind, target, entry, self.source, schedule=self.schedule, **kw)


def name(argv: list[str]) -> str:
    return argv[0].rsplit("/", 1)[-1]


def levels(pipe: Pipe, ctx: Ctx, metric: str | None, unit: str = "") -> dict[str, object]:
    """warn/crit from the script's own test (`[ $X -gt 90 ]`), else from prose and alert configs."""
    out: dict[str, object] = {}
    for _op, number, _line in pipe.tests:
        text = pipe.alert_text.upper()
        level = "warn" if "WARN" in text and "CRIT" not in text else "crit"
        out[level] = number
    if metric:
        for level, (value, hint_unit) in prose.limits(ctx.hints, metric, ctx.source.line, with_unit=True).items():
            if unit == "s" and hint_unit == "ms":
                value = value / 1000
            elif unit == "s" and hint_unit.startswith("min"):
                value = value * 60
            out.setdefault(level, value)
    from_code = {("warn" if "WARN" in pipe.alert_text.upper() and "CRIT" not in pipe.alert_text.upper() else "crit")
                 for _ in pipe.tests}
    if "warn" in out and "crit" in out:
        falling = metric in ("tls_days", "hit_ratio")
        wrong_order = out["warn"] <= out["crit"] if falling else out["warn"] >= out["crit"]
        if wrong_order:  # prose and script disagree: the script's own test wins
            out.pop("crit" if "warn" in from_code else "warn")
    return {k: (f"{_num(v)}{unit}" if unit else _num(v)) for k, v in sorted(out.items(), key=lambda kv: kv[0] != "warn")}


def _num(value):
    return int(value) if isinstance(value, float) and value.is_integer() else value


def flag_value(argv: list[str], *flags: str) -> str | None:
    for i, arg in enumerate(argv):
        for flag in flags:
            if arg == flag and i + 1 < len(argv):
                return argv[i + 1]
            if flag.startswith("--") and arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
            if not flag.startswith("--") and arg.startswith(flag) and len(arg) > len(flag) and len(flag) == 2:
                return arg[len(flag):]
    return None


def positionals(argv: list[str], with_value: tuple[str, ...] = ()) -> list[str]:
    out, skip = [], False
    for arg in argv[1:]:
        if skip:
            skip = False
            continue
        if arg in with_value:
            skip = True
            continue
        if not arg.startswith("-"):
            out.append(arg)
    return out


def recognisers():
    from opscheck.importer.recognise import backups, containers, data, host, logs, web

    table = {}
    for module in (web, host, data, backups, logs, containers):
        table.update(module.COMMANDS)
    return table
