"""`opscheck status SUITE`: the latest sealed run of a suite, without running anything.

For NRPE and Icinga active checks, which call a command and read its exit code:
cron (`opscheck run`) does the work, this reports it. `--nagios` prints the
plugin output of that run (`opscheck run --nagios` prints the same) and is
UNKNOWN when there is no sealed run, or when the latest one is older than
`--max-age` (cron stopped running it: silence is not health).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from opscheck.cli import USAGE_ERROR


def add_parser(sub) -> None:
    p = sub.add_parser("status", help="report the latest sealed run of a suite (Nagios/NRPE), running nothing", description=__doc__.split("\n\n")[0])
    p.add_argument("suite", metavar="SUITE", help="the suite name as `opscheck run` writes it (daily, smoke, ...)")
    p.add_argument("--reports-dir", metavar="DIR", help="the reports dir (env OPSCHECK_REPORTS_DIR; default reports)")
    p.add_argument("--max-age", default="26h", metavar="DURATION", help="older than this is UNKNOWN (default 26h)")
    p.add_argument("--nagios", action="store_true", help="print the Nagios plugin output and exit 0/1/2/3 (OK/WARNING/CRITICAL/UNKNOWN)")
    p.set_defaults(handler=main)


def main(args) -> int:
    from opscheck.redact import redact
    from opscheck.reports.history import sealed_runs
    from opscheck.runner import exitcodes, outcome
    from opscheck.units import parse_duration

    def unknown(reason: str) -> int:
        if args.nagios:
            line, code = outcome.nagios_error(reason)
            print(redact(line))
            return code
        print(redact(f"opscheck status: {reason}"), file=sys.stderr)
        return exitcodes.UNKNOWN

    try:
        max_age = parse_duration(args.max_age)
    except ValueError as exc:
        if args.nagios:
            return unknown(f"--max-age {args.max_age}: {exc}")
        print(f"opscheck status: --max-age {args.max_age}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    reports_dir = Path(args.reports_dir or os.environ.get("OPSCHECK_REPORTS_DIR") or "reports").resolve()
    runs = sealed_runs(reports_dir, args.suite)
    if not runs:
        return unknown(f"no sealed run of suite {args.suite} in {reports_dir}")
    latest = runs[-1]
    try:
        results = json.loads((latest.folder / "results.json").read_text())
    except (OSError, ValueError) as exc:
        return unknown(f"{latest.id}: results.json unreadable ({exc})")
    finished = latest.run.get("finished") or latest.run.get("started")
    try:
        moment = datetime.fromisoformat(str(finished).replace("Z", "+00:00"))
    except ValueError:
        return unknown(f"{latest.id}: no finish time in results.json")
    age = (datetime.now(timezone.utc) - moment).total_seconds()
    if age > max_age:
        return unknown(f"stale: the latest {args.suite} run {latest.id} finished {age / 3600:.1f}h ago (limit {args.max_age})")
    if args.nagios:
        text, code = outcome.nagios_output(results)
        print(redact(text))
        return code
    code = exitcodes.from_counts(outcome.counts_of(results))
    print(redact("\n".join(outcome.cron_text(results, latest.folder, code))))
    return code
