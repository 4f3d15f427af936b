"""`opscheck report allure [RUN]`: the single-file Allure HTML of a run, with the Allure CLI.

Either Allure: Allure 2 (`npm install -g allure-commandline`, needs Java) reads
the history/ that each run carries in allure-results; Allure 3 (npm `allure`, no
Java) keeps its own history file, which opscheck keeps per suite in
`<reports dir>/allure/history-<suite>.jsonl`. The version is asked of the CLI.
The run folder stays untouched (it is sealed), the report goes next to it in
`<reports dir>/allure/<run id>.html` unless `--output` says otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from opscheck.cli import USAGE_ERROR

INSTALL_HINT = "install it with `npm install -g allure-commandline` (needs Java 8+: `apt-get install default-jre-headless`)"


def add_parser(sub) -> None:
    parser = sub.add_parser("report", help="render reports of a run")
    inner = parser.add_subparsers(dest="format", metavar="FORMAT")
    allure = inner.add_parser("allure", help="generate the single-file Allure HTML of a run with the Allure CLI")
    allure.add_argument("run", metavar="RUN", nargs="?", default="reports/latest", help="run folder (default: reports/latest)")
    allure.add_argument("-o", "--output", metavar="PATH", help="HTML file to write (default: <reports dir>/allure/<run id>.html)")
    allure.add_argument("--allure", metavar="PATH", default="allure", help="the Allure CLI (default: allure on PATH)")
    allure.set_defaults(handler=allure_report)
    parser.set_defaults(handler=lambda args: (parser.print_help(sys.stderr), USAGE_ERROR)[1])


def allure_report(args) -> int:
    run = Path(args.run)
    results = run / "allure-results"
    if not results.is_dir():
        print(f"{results}: no Allure results (was the run made with allure-pytest installed?)", file=sys.stderr)
        return USAGE_ERROR
    cli = shutil.which(args.allure)
    if cli is None:
        print(f"{args.allure}: Allure CLI not found; {INSTALL_HINT}", file=sys.stderr)
        return USAGE_ERROR
    run_id = run.resolve().name
    output = Path(args.output) if args.output else run.resolve().parent / "allure" / f"{run_id}.html"
    with tempfile.TemporaryDirectory(prefix="opscheck-allure-") as scratch:
        if allure_major(cli) >= 3:
            command = allure3_command(cli, run.resolve(), Path(scratch))
        else:
            command = [cli, "generate", str(results), "-o", scratch, "--clean", "--single-file", "--name", f"opscheck {run_id}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, env={**os.environ, "NO_COLOR": "1"})
        generated = next(Path(scratch).rglob("index.html"), Path(scratch) / "index.html")
        if done.returncode != 0 or not generated.exists():
            print(f"allure generate failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}", file=sys.stderr)
            return USAGE_ERROR
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(generated, output)
    print(output)
    return 0


def allure_major(cli: str) -> int:
    """2 for allure-commandline (Java), 3 for npm `allure`; 2 when the CLI will not say."""
    try:
        done = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    except (OSError, subprocess.SubprocessError):
        return 2
    text = (done.stdout + done.stderr).strip()
    digits = text.split()[-1] if text else ""
    head = digits.split(".", 1)[0]
    return int(head) if head.isdigit() else 2


def allure3_command(cli: str, run: Path, scratch: Path) -> list[str]:
    """Allure 3 reads its settings from a config file: single file, the run's name, the suite's history."""
    try:
        suite = json.loads((run / "results.json").read_text())["run"]["suite"]
    except (OSError, ValueError, KeyError):
        suite = run.name.split("-", 1)[-1]
    history = run.parent / "allure" / f"history-{suite}.jsonl"
    history.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "name": f"opscheck {run.name}",
        "output": str(scratch / "out"),
        "historyPath": str(history),
        "plugins": {"awesome": {"options": {"singleFile": True, "reportName": f"opscheck {run.name}"}}},
    }
    path = scratch / "allurerc.json"
    path.write_text(json.dumps(config))
    return [cli, "generate", "--config", str(path), "--cwd", str(scratch), str(run / "allure-results")]
