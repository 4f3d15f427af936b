"""Commands: a runbook line that is a command with an expected result (`./run.sh env-status`).

The probe reports facts (exit code, which expectations the output missed, the number
it parsed) with the redacted tail of the output; `judging` turns unmet expectations
into CRIT and the number into a verdict through the entry's `value:` limits.
"""

from __future__ import annotations

import math
import re

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.redact import redact
from opscheck.registry import Kind
from opscheck.targets import per_host

from .execute import execute

TAIL_LINES = 20
TAIL_CHARS = 2000
NOT_FOUND, NOT_EXECUTABLE = 127, 126
# sh's own complaint (dash: `sh: 1: ufw: not found`, bash: `bash: line 1: ufw: command not found`): inside
# a pipeline the exit status is the last command's, so `ufw status | grep -q active` exits 1, not 127.
_SH_NOT_FOUND = re.compile(r"^(?:/bin/)?(?:sh|bash|dash): (?:line )?\d+: (.+?): (?:command )?not found$", re.MULTILINE)


def tail(text: str, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The redacted end of an output, cut to `lines` lines and `chars` characters."""
    kept = "\n".join(redact(text).rstrip("\n").splitlines()[-lines:])
    return kept if len(kept) <= chars else "…" + kept[-(chars - 1):]


def probe(target: Target) -> Measurement:
    item = target.spec
    shown = redact(item.display())
    done = execute(target.host, item.command, item.shell, item.env, item.cwd, target.timeout)
    evidence = {
        "command": shown, "shell": item.shell is not None, "host": target.host.name, "cwd": item.cwd,
        "env": sorted(item.env), "exit": done.rc, "expected_exit": item.expect.exit,
        "seconds": round(done.seconds, 3), "stdout_tail": tail(done.stdout), "stderr_tail": tail(done.stderr),
    }
    name = item.name or shown
    if done.timed_out:
        return Measurement(subject=name, evidence=evidence,
                           problems=(f"`{shown}` timed out after {target.timeout:g} s",))
    if done.rc in (NOT_FOUND, NOT_EXECUTABLE) and done.rc not in item.expect.exit:
        what = "not found" if done.rc == NOT_FOUND else "not executable"
        said = tail(done.stderr, 2, 300).strip()
        raise Unmeasurable(f"command {what} on {target.host}: `{shown}`" + (f" ({said})" if said else ""))
    missing = _SH_NOT_FOUND.search(done.stderr) if item.shell is not None else None
    if missing:
        raise Unmeasurable(f"command not found on {target.host}: {redact(missing.group(1))} (in `{shown}`)")
    problems = []
    if done.rc not in item.expect.exit:
        expected = ", ".join(str(c) for c in item.expect.exit)
        output = tail(done.stderr or done.stdout, 3, 300).replace("\n", " | ")
        problems.append(f"exit {done.rc}, expected {expected}" + (f": {output}" if output else ""))
    problems.extend(_regex_problems(item.expect, done.stdout, done.stderr))
    value = None
    if item.value is not None:
        value = _parse(item.value, done.stdout if item.value.stream == "stdout" else done.stderr)
        evidence["value"] = value
        if value is None and not problems:
            raise Unmeasurable(f"value regex /{item.value.regex}/ found no number in the {item.value.stream} of `{shown}`")
    return Measurement(value=value, subject=name, evidence=evidence, problems=tuple(problems),
                       label=f"(parsed from {item.value.stream})" if value is not None else "")


def _regex_problems(expect, stdout: str, stderr: str) -> list[str]:
    out = []
    for stream, text in (("stdout", stdout), ("stderr", stderr)):
        must, must_not = getattr(expect, stream), getattr(expect, f"not_{stream}")
        if must is not None and not re.search(must, text, re.MULTILINE):
            out.append(f"{stream} does not match /{must}/")
        if must_not is not None:
            found = re.search(must_not, text, re.MULTILINE)
            if found:
                line = text[text.rfind("\n", 0, found.start()) + 1:].split("\n", 1)[0]
                out.append(f"{stream} matches /{must_not}/: {tail(line, 1, 200)}")
    return out


def _parse(spec, text: str) -> float | None:
    found = re.search(spec.regex, text, re.MULTILINE)
    if not found:
        return None
    raw = found.group(1) if found.groups() else found.group(0)
    try:
        number = float(raw.replace(",", "")) if raw else math.nan
    except ValueError:
        return None
    if math.isnan(number):
        return None
    return int(number) if number.is_integer() else number


def _id(p) -> str:
    return f"{p.host.name}:{p.item.name or p.item.display()}"


KINDS = (
    Kind("command", "command", "commands", per_host(
        id=_id, threshold=lambda p: p.item.value.threshold() if p.item.value is not None else None,
        check=lambda p: f"command {p.item.name}" if p.item.name else "command",
    ), probe),
)
