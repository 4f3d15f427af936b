"""`opscheck report allure [RUN]`: the single-file Allure HTML of a run, with the Allure CLI.

The Allure CLI comes from npm (`npm install -g allure-commandline`, needs Java);
the run folder stays untouched (it is sealed), the report goes next to it in
`<reports dir>/allure/<run id>.html` unless `--output` says otherwise.
"""

from __future__ import annotations

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
        command = [cli, "generate", str(results), "-o", scratch, "--clean", "--single-file", "--name", f"opscheck {run_id}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        generated = Path(scratch) / "index.html"
        if done.returncode != 0 or not generated.exists():
            print(f"allure generate failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}", file=sys.stderr)
            return USAGE_ERROR
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(generated, output)
    print(output)
    return 0
