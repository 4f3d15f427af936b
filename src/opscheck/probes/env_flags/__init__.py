"""Configuration safety flags: variables of a process's environment or an env file.

Values never leave the host: a shell on the host prints, per variable, whether
it is set, its length, whether it reads as true, and the SHA-256 of its value;
expected values are compared by hash here. So a secret cannot reach a report,
a log line (not even testinfra's debug log) or an assertion message.
"""

from __future__ import annotations

import hashlib
import shlex

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import denied, missing_sh, run
from opscheck.measurement import Measurement, Target
from opscheck.probes.services.processes import matching, processes
from opscheck.redact import redact
from opscheck.registry import Kind
from opscheck.targets import per_host

# Per name: the last `NAME=` line (env files may also say `export NAME=`), quotes stripped.
_READ = r"""
for n in {names}; do
  line=$(read_source | grep -E "^[[:space:]]*{export}$n=" | tail -n 1)
  if [ -z "$line" ]; then echo "$n unset"; continue; fi
  v=${{line#*=}}
  {unquote}
  case $(printf %s "$v" | tr 'A-Z' 'a-z') in true|1|yes|on) t=true;; *) t=false;; esac
  printf '%s set %s %s %s\n' "$n" "$(printf %s "$v" | wc -m | tr -d ' ')" "$t" "$(printf %s "$v" | sha256sum | cut -c1-64)"
done
"""
_UNQUOTE = (
    r"""v=$(printf %s "$v" | sed 's/[[:space:]]*$//'); """
    r"""case $v in \"*\") v=${v#\"}; v=${v%\"};; \'*\') v=${v#\'}; v=${v%\'};; esac"""
)


def file_script(path: str, names: list[str]) -> str:
    quoted = shlex.quote(path)
    body = _READ.format(names=" ".join(names), export="(export[[:space:]]+)?", unquote=_UNQUOTE)
    return f"{_unreadable(quoted)}\nread_source() {{ cat {quoted}; }}\n{body}"


def environ_script(pid: int, names: list[str]) -> str:
    path = f"/proc/{pid}/environ"
    body = _READ.format(names=" ".join(names), export="", unquote="")
    return f"{_unreadable(path)}\nread_source() {{ tr '\\000' '\\n' < {path}; }}\n{body}"


def _unreadable(quoted: str) -> str:
    """MISSING or UNREADABLE on the first line when the file cannot be read, and stop."""
    return f"[ -r {quoted} ] || {{ {missing_sh(quoted)} && echo MISSING || echo UNREADABLE; exit 0; }}"


def parse(text: str) -> dict[str, dict]:
    """NAME -> {set, length, true, sha256}; the first line may say MISSING or UNREADABLE."""
    seen = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "unset":
            seen[fields[0]] = {"set": False}
        elif len(fields) == 5 and fields[1] == "set":
            seen[fields[0]] = {"set": True, "length": int(fields[2]), "true": fields[3] == "true", "sha256": fields[4]}
    return seen


def judge_flags(item, seen: dict[str, dict], where: str = "") -> tuple[dict[str, str], list[str]]:
    """Evidence (one phrase per variable, never its value) and problems."""
    evidence, problems = {}, []
    suffix = f" ({where})" if where else ""
    for name in item.names():
        state = seen.get(name)
        if state is None:
            raise Unmeasurable(f"no answer for {name}{suffix}")
        shown = f"set ({state['length']} chars)" if state["set"] else "not set"
        if name in item.expect:
            want = hashlib.sha256(item.expect[name].reveal().encode()).hexdigest()
            if not state["set"]:
                problems.append(f"{name} is not set (expected a value){suffix}")
            elif state["sha256"] != want:
                shown += ", differs from expected"
                problems.append(f"{name} differs from expected{suffix}")
            else:
                shown += ", as expected"
        if name in item.present and not state["set"]:
            problems.append(f"{name} is not set{suffix}")
        if name in item.absent and state["set"]:
            problems.append(f"{name} is set, must be absent{suffix}")
        if name in item.not_true and state["set"] and state["true"]:
            shown += ", true"
            problems.append(f"{name} is true, must not be{suffix}")
        evidence[name] = shown
    return evidence, problems


def _read(target: Target, script: str, what: str) -> dict[str, dict]:
    result = run(target.host, script, target.timeout)
    first = result.stdout.split("\n", 1)[0].strip()
    if first == "MISSING":
        raise TargetDown(f"{what} does not exist")
    if first == "UNREADABLE":
        raise Unmeasurable(denied(what))
    if result.rc != 0:
        raise Unmeasurable(f"reading {what} failed: {redact(result.stderr.strip())[:200] or f'exit {result.rc}'}")
    return parse(result.stdout)


def probe(target: Target) -> Measurement:
    item = target.spec
    names = item.names()
    if item.file is not None:
        evidence, problems = judge_flags(item, _read(target, file_script(item.file, names), item.file))
        return Measurement(value=len(problems), subject=_subject(item.file, evidence), evidence=evidence, problems=tuple(problems))
    found = matching(processes(target), item.process)
    if not found:
        raise TargetDown(f"no process matches /{item.process}/: nothing to read the environment of")
    evidence, problems = {}, []
    for proc in found[:20]:
        where = f"pid {proc['pid']}"
        seen = _read(target, environ_script(proc["pid"], names), f"/proc/{proc['pid']}/environ")
        flags, issues = judge_flags(item, seen, where if len(found) > 1 else "")
        evidence[f"{where} ({redact(proc['args'])[:80]})"] = flags
        problems.extend(issues)
    return Measurement(
        value=len(problems), subject=_subject(f"/{item.process}/ in {len(found)} process{'es' if len(found) != 1 else ''}", item.names()),
        evidence=evidence, problems=tuple(problems),
    )


def _subject(source: str, names) -> str:
    count = len(names)
    return f"{source}: {count} flag{'s' if count != 1 else ''} checked"


KINDS = (
    Kind("env_flags", "env flags", "env_flags",
         per_host(id=lambda p: f"{p.host.name}:{p.item.name or p.item.file or p.item.process}"), probe),
)
