"""The command check on real commands: sh scripts this test writes, their exit codes, output,
sleeps for timeouts, and a secret passed through the environment and echoed (masked everywhere)."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory.loader import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes.commands import probe as _probe  # noqa: F401 - imported before pytester runs (brief)

SECRET = "cmdj-Zq8-vault-7781"   # distinctive: secrets of 4+ chars are masked everywhere


def script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def inventory(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(text))
    return path


def measure_all(tmp_path: Path, text: str) -> dict:
    """{target id: (result, measurement)} for every command target of the inventory."""
    out = {}
    for target in registry.get("command").targets(load_inventory(inventory(tmp_path, text))):
        m = probe_once(target)
        out[target.id] = (evaluate(m), m)
    return out


def only(results: dict):
    (pair,) = results.values()
    return pair


def test_expected_exit_and_output_is_ok(tmp_path):
    run = script(tmp_path, "run.sh", 'echo "mode: PAPER"; echo "db: connected"; echo "debug on stderr" >&2\n')
    result, m = only(measure_all(tmp_path, f"""
        commands:
          - name: env status
            command: ["{run}", "env-status"]
            read_only: true
            expect: {{stdout: "PAPER", not_stdout: "LIVE", not_stderr: "Traceback"}}
    """))
    assert result.verdict.value == "OK", result.summary
    assert result.summary == "env status"
    assert m.evidence["exit"] == 0 and m.evidence["expected_exit"] == [0]
    assert m.evidence["stdout_tail"] == "mode: PAPER\ndb: connected"
    assert m.evidence["stderr_tail"] == "debug on stderr"
    assert m.evidence["command"] == f"{run} env-status"


def test_wrong_exit_is_crit_with_the_tail_of_the_output(tmp_path):
    run = script(tmp_path, "run.sh", """\
        for i in $(seq 1 40); do echo "step $i"; done
        echo "fatal: redis unreachable" >&2
        exit 3
    """)
    result, m = only(measure_all(tmp_path, f"""
        commands:
          - {{name: status, command: ["{run}"], read_only: true}}
    """))
    assert result.verdict.value == "CRIT"
    assert result.summary == "status: exit 3, expected 0: fatal: redis unreachable"
    assert m.evidence["exit"] == 3
    # Evidence keeps the tail: the last 20 lines, not all 40.
    assert m.evidence["stdout_tail"].splitlines() == [f"step {i}" for i in range(21, 41)]
    results = measure_all(tmp_path, f"""
        commands:
          - {{name: allowed, command: ["{run}"], read_only: true, expect: {{exit: [0, 3]}}}}
    """)
    assert only(results)[0].verdict.value == "OK"


def test_regexes_unmet_are_crit_naming_them(tmp_path):
    run = script(tmp_path, "run.sh", 'echo "mode: LIVE trading"; echo "warning: low disk" >&2\n')
    result, _ = only(measure_all(tmp_path, f"""
        commands:
          - name: env status
            command: ["{run}"]
            read_only: true
            expect: {{stdout: "PAPER", not_stdout: "LIVE", stderr: "^all good$", not_stderr: "low disk"}}
    """))
    assert result.verdict.value == "CRIT"
    assert result.summary == (
        "env status: stdout does not match /PAPER/; stdout matches /LIVE/: mode: LIVE trading; "
        "stderr does not match /^all good$/; stderr matches /low disk/: warning: low disk"
    )


def test_shell_only_when_asked(tmp_path):
    (tmp_path / "ufw.txt").write_text("Status: active\n")
    results = measure_all(tmp_path, f"""
        commands:
          - {{name: ufw, shell: "cat {tmp_path}/ufw.txt | grep -q active", read_only: true}}
          - {{name: ufw off, shell: "echo 'Status: inactive' | grep -qw active", read_only: true}}
          - {{name: no shell, command: ["echo", "$HOME | grep x"], read_only: true, expect: {{stdout: "^[$]HOME [|] grep x$"}}}}
    """)
    assert results["local:ufw"][0].verdict.value == "OK"
    assert results["local:ufw off"][0].verdict.value == "CRIT"
    assert results["local:ufw off"][0].summary == "ufw off: exit 1, expected 0"
    # An argv list reaches the program as it is: no expansion, no pipe.
    assert results["local:no shell"][0].verdict.value == "OK", results["local:no shell"][0].summary


@pytest.mark.parametrize("count, verdict", [(0, "OK"), (2, "WARN"), (7, "CRIT")])
def test_value_parsed_from_output_is_judged(tmp_path, count, verdict):
    audit = script(tmp_path, "audit.sh", f"""\
        echo "# npm audit report"
        echo "{count} high severity vulnerabilities"
        exit {1 if count else 0}
    """)
    result, m = only(measure_all(tmp_path, f"""
        commands:
          - name: npm audit
            command: ["{audit}", "--audit-level=high"]
            read_only: true
            expect: {{exit: [0, 1]}}
            value: {{regex: "(\\\\d+) high", warn: 1, crit: 5}}
    """))
    assert result.verdict.value == verdict, result.summary
    assert m.value == count
    assert result.summary == f"npm audit {count} (parsed from stdout) (warn 1, crit 5)"


def test_value_not_found_is_unknown(tmp_path):
    audit = script(tmp_path, "audit.sh", 'echo "found nothing to report"\n')
    result, _ = only(measure_all(tmp_path, f"""
        commands:
          - {{name: audit, command: ["{audit}"], read_only: true, value: {{regex: "(\\\\d+) high", crit: 5}}}}
    """))
    assert result.verdict.value == "UNKNOWN"
    assert result.summary == f"local:audit: value regex /(\\d+) high/ found no number in the stdout of `{audit}`"


def test_timeout_is_crit_and_the_whole_group_is_killed(tmp_path):
    pidfile = tmp_path / "child.pid"
    slow = script(tmp_path, "slow.sh", f"""\
        echo started
        sleep 60 &
        echo $! > {pidfile}
        wait
    """)
    started = time.monotonic()
    result, m = only(measure_all(tmp_path, f"""
        commands:
          - {{name: slow, command: ["{slow}"], read_only: true, timeout: 1s}}
    """))
    assert time.monotonic() - started < 30   # an error bound, not a timing claim: it did not wait for the sleep
    assert result.verdict.value == "CRIT"
    assert result.summary == f"slow: `{slow}` timed out after 1 s"
    assert m.evidence["exit"] is None and m.evidence["stdout_tail"] == "started"
    child = int(pidfile.read_text())
    for _ in range(100):
        if not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the script's child {child} outlived the timeout")


def test_command_not_found_is_unknown_naming_it(tmp_path):
    results = measure_all(tmp_path, f"""
        commands:
          - {{name: missing, command: ["/nonexistent/run.sh", "status"], read_only: true}}
          - {{name: missing in shell, shell: "opscheck-no-such-tool --status", read_only: true}}
          - {{name: bad cwd, command: ["true"], cwd: {tmp_path}/gone, read_only: true}}
          - {{name: in a pipe, shell: "opscheck-no-ufw status | grep -q active", read_only: true}}
    """)
    assert results["local:missing"][0].verdict.value == "UNKNOWN"
    assert results["local:missing"][0].summary == "local:missing: command not found: /nonexistent/run.sh"
    shell = results["local:missing in shell"][0]
    assert shell.verdict.value == "UNKNOWN"
    assert shell.summary.startswith("local:missing in shell: command not found on local: `opscheck-no-such-tool --status`")
    assert "opscheck-no-such-tool: not found" in shell.summary
    assert results["local:bad cwd"][0].summary == f"local:bad cwd: working directory {tmp_path}/gone does not exist"
    # In a pipeline the exit status is grep's (1): sh's "not found" still makes it UNKNOWN, not a CRIT.
    piped = results["local:in a pipe"][0]
    assert (piped.verdict.value, piped.summary) == (
        "UNKNOWN", "local:in a pipe: command not found on local: opscheck-no-ufw (in `opscheck-no-ufw status | grep -q active`)")


def test_secret_passes_through_the_environment_and_is_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("CMDJ_API_TOKEN", SECRET)
    cmdline = tmp_path / "cmdline"
    leaky = script(tmp_path, "leaky.sh", f"""\
        tr '\\0' ' ' < /proc/$$/cmdline > {cmdline}
        echo "using token $API_TOKEN in mode $MODE"
        echo "auth failed for $API_TOKEN" >&2
        exit 2
    """)
    result, m = only(measure_all(tmp_path, f"""
        commands:
          - name: leaky
            command: ["{leaky}"]
            read_only: true
            env: {{API_TOKEN: "env:CMDJ_API_TOKEN", MODE: paper}}
    """))
    assert result.verdict.value == "CRIT"
    # The command saw the secret (it echoed it), but never on its command line.
    assert cmdline.read_text().strip() == f"/bin/sh {leaky}"
    assert m.evidence["stdout_tail"] == "using token *** in mode paper"
    assert result.summary == "leaky: exit 2, expected 0: auth failed for ***"
    assert SECRET not in json.dumps(m.evidence) + result.summary
    assert m.evidence["env"] == ["API_TOKEN", "MODE"]


def test_secret_is_not_sent_to_a_remote_host_on_a_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("CMDJ_API_TOKEN", SECRET)
    result, _ = only(measure_all(tmp_path, """
        hosts: {app: ["ssh://deploy@192.0.2.1"]}
        commands:
          - {name: remote, on: app, command: ["./run.sh"], read_only: true, env: {API_TOKEN: "env:CMDJ_API_TOKEN"}}
    """))
    assert result.verdict.value == "UNKNOWN"
    assert "env API_TOKEN holds a secret" in result.summary and "command line" in result.summary


@pytest.mark.parametrize("entry, message", [
    ('{name: x, command: ["true"]}',
     "commands[0].read_only: required: set `read_only: true` to state that this command changes nothing."),
    ('{name: x, command: ["true"], read_only: false}', "commands[0].read_only: must be true"),
    ('{name: x, command: ["true"], shell: "true", read_only: true}', "commands[0]: give exactly one of command:"),
    ('{name: x, read_only: true}', "commands[0]: give exactly one of command:"),
    ('{name: x, command: ["true"], read_only: true, expect: {stdout: "(unclosed"}}', "commands[0].expect.stdout: not a valid regular expression"),
    ('{name: x, command: ["true"], read_only: true, value: {regex: "(\\\\d+)", warn: 5, crit: 1}}', "commands[0].value"),
    ('{name: x, command: ["true"], read_only: true, env: {TOKEN: "env:CMDJ_UNSET_VAR"}}', "environment variable CMDJ_UNSET_VAR is not set"),
])
def test_inventory_errors_name_the_line_and_key(tmp_path, entry, message):
    path = inventory(tmp_path, f"environment: test\ncommands:\n  - {entry}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}:3: "), line
    assert message in line, line


def test_commands_end_to_end(suite, tmp_path, monkeypatch):
    monkeypatch.setenv("CMDJ_API_TOKEN", SECRET)
    ok = script(tmp_path, "ok.sh", 'echo "PAPER mode, token $API_TOKEN"\n')
    audit = script(tmp_path, "audit.sh", 'echo "3 high severity vulnerabilities"; exit 1\n')
    result = suite.run("-m", "daily", "--concurrency=4", inventory=f"""
        commands:
          - {{name: env status, command: ["{ok}"], read_only: true, expect: {{stdout: PAPER}}, env: {{API_TOKEN: "env:CMDJ_API_TOKEN"}}}}
          - {{name: npm audit, command: ["{audit}"], read_only: true, expect: {{exit: [0, 1]}}, value: {{regex: "(\\\\d+) high", warn: 1, crit: 5}}}}
          - {{name: ufw, shell: "echo inactive | grep -qx active", read_only: true}}
    """)
    assert result.ret == 1, result.stdout.str()
    assert suite.verdicts() == {
        "test_command[local:env status]": "OK", "test_command[local:npm audit]": "WARN", "test_command[local:ufw]": "CRIT",
    }
    assert suite.check("test_command[local:npm audit]")["value"] == 3
    text = (suite.reports / "latest" / "results.json").read_text()
    assert "PAPER mode, token ***" in text
    assert SECRET not in text and SECRET not in result.stdout.str()
    for path in (suite.reports / "latest").resolve().rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
