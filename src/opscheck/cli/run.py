"""`opscheck run SUITE`: the cron and CI entry point.

Takes the suite's lock, runs pytest on the suite in a subprocess, reads the run's
results.json, notifies changes, prints cron-mail text (or one Nagios line) and
exits with the run's verdict (DESIGN.md): 0 OK/WARN, 1 CRIT, 2 UNKNOWN (also a
run stopped by SIGTERM/SIGINT), 3 usage/inventory error, nothing selected or a
reports dir that cannot take the run, 75 another run of the suite holds the lock.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from opscheck.redact import redact
from opscheck.runner import exitcodes

SUITES = ("daily", "weekly", "monthly", "quarterly", "smoke")
DEFAULT_CHECK_TIMEOUT = "10m"
# Below this much free space (or free inodes) a run would fail half-way through its reports.
MIN_FREE_BYTES = 16 << 20
MIN_FREE_INODES = 200


def lock_name(suite: str) -> str:
    """One lock per suite: different suites run side by side, the same suite never twice at once."""
    return f".opscheck-{suite}.lock"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="run a suite for cron or CI: lock, deadline, notifications, exit code",
        description=__doc__.split("\n\n")[0],
        epilog="Everything after --pytest goes to pytest as is: `opscheck run daily --nagios --pytest -x`.",
    )
    p.add_argument("suite", metavar="SUITE", help=f"{', '.join(SUITES)}, or a marker expression ('smoke and not slow')")
    p.add_argument("-k", dest="keyword", metavar="EXPRESSION", help="only checks whose id matches (pytest -k)")
    p.add_argument(
        "--plugins", choices=("suite", "all"), default="suite",
        help="suite: load only the plugins the suite uses (default; fast, unaffected by other installed "
        "plugins); all: let pytest autoload every installed plugin",
    )
    p.add_argument("--pytest", nargs=argparse.REMAINDER, dest="pytest_args", default=[], metavar="ARG", help="pass the rest of the command line to pytest")
    p.add_argument("--inventory", metavar="PATH", help="inventory YAML (env OPSCHECK_INVENTORY; default inventories/local.yml of the suite dir)")
    p.add_argument("--reports-dir", metavar="DIR", help="where run folders go (env OPSCHECK_REPORTS_DIR; default reports/ of the suite dir)")
    p.add_argument("--suite-dir", metavar="DIR", default=".", help="the folder with checks/ and conftest.py (default: the current one)")
    p.add_argument("--fail-on", choices=("crit", "warn"), default="crit", help="lowest verdict that fails the run (default crit)")
    p.add_argument("--severity", choices=("critical", "high", "medium", "low"), help="run only checks this urgent or more")
    p.add_argument("--deadline", metavar="DURATION", help="stop the run after this long (90s, 10m, 1h); what did not run is UNKNOWN")
    p.add_argument("--timeout", metavar="DURATION", default=DEFAULT_CHECK_TIMEOUT, help=f"per-check limit, setup included (pytest-timeout, signal method; default {DEFAULT_CHECK_TIMEOUT}; 0: none)")
    p.add_argument("--shard", metavar="I/N", help="run only shard I of N of the fleet, split by host (merge the parts with `opscheck merge`)")
    p.add_argument("-n", "--workers", metavar="N", help="pytest-xdist workers: a number or auto; checks of one host stay on one worker")
    p.add_argument("--lock", metavar="PATH", help="lock file (default <reports dir>/.opscheck-<suite>.lock)")
    p.add_argument("--wait", metavar="DURATION", help="if a run of the same suite holds the lock, wait up to this long for it (default: exit 75 at once)")
    p.add_argument("--waivers", metavar="PATH", help="waiver file (env OPSCHECK_WAIVERS)")
    p.add_argument("--keep-runs", metavar="N", type=_count, help="after the run, keep only this suite's newest N runs (verified, then pruned; recorded in the manifest)")
    p.add_argument("--keep-days", metavar="DAYS", type=_days, help="after the run, prune this suite's runs older than DAYS (verified first; recorded in the manifest)")
    p.add_argument("--metrics-dir", metavar="DIR", help="also write DIR/opscheck_<suite>.prom atomically, for node_exporter's textfile collector (env OPSCHECK_METRICS_DIR)")
    p.add_argument("--no-reports", action="store_true", help="keep no run folder (verdicts, exit code, notifications and the state file as usual)")
    p.add_argument("--nagios", action="store_true", help="print the Nagios plugin output (one line, the non-OK checks, per-check perfdata) and exit 0/1/2/3 (OK/WARNING/CRITICAL/UNKNOWN)")
    p.add_argument("--no-notify", action="store_true", help="send no notifications (the state file is still updated)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing when the run exits 0 (cron mails only problems)")
    p.add_argument("-v", "--verbose", action="store_true", help="show pytest's own output as it runs")
    p.add_argument("--dry-run", action="store_true", help="list the checks the suite would run (ids, schedules, severities, targets); measure nothing")
    p.set_defaults(handler=main)


def main(args) -> int:
    if args.dry_run:  # no lock, no pytest run: the listing of `opscheck inventory list` (cli/listing.py)
        from opscheck.cli.inventory import print_listing

        suite_dir = Path(args.suite_dir).resolve()
        inventory = _path(args.inventory or os.environ.get("OPSCHECK_INVENTORY"), suite_dir, "inventories/local.yml")
        return print_listing(suite_dir, inventory, args.suite, args.severity)
    runner = _Runner(args)
    try:
        return runner.run()
    except _Stop as stop:
        return runner.stop(stop)


class _Stop(Exception):
    def __init__(self, code: int, lines: list[str]):
        self.code = code
        self.lines = lines


class _Runner:
    def __init__(self, args):
        self.args = args
        self.out: list[str] = []
        self.scratch: Path | None = None
        self.state_dir: Path | None = None

    def stop(self, stop: _Stop) -> int:
        from opscheck.runner.outcome import nagios_error

        if self.args.nagios:
            line, code = nagios_error("; ".join(stop.lines[:3]))
            print(redact(line))
            return code
        for line in stop.lines:
            print(redact(f"opscheck run: {line}"), file=sys.stderr)
        return stop.code

    def run(self) -> int:
        from opscheck.runner import invoke
        from opscheck.runner.lock import Locked, RunLock

        args = self.args
        suite_dir = Path(args.suite_dir).resolve()
        if not suite_dir.is_dir():
            raise _Stop(exitcodes.USAGE, [f"--suite-dir {args.suite_dir}: not a folder"])
        inventory_path = _path(args.inventory or os.environ.get("OPSCHECK_INVENTORY"), suite_dir, "inventories/local.yml")
        reports_dir = _path(args.reports_dir or os.environ.get("OPSCHECK_REPORTS_DIR"), suite_dir, "reports")
        suite = suite_name(args.suite)
        deadline_s = _seconds(args.deadline, "--deadline") if args.deadline else None
        wait_s = _seconds(args.wait, "--wait", zero_ok=True) if args.wait else 0.0
        timeout_s = _seconds(args.timeout, "--timeout", zero_ok=True) if args.timeout else None
        if args.workers is not None and args.workers != "auto" and not args.workers.isdigit():
            raise _Stop(exitcodes.USAGE, [f"-n {args.workers}: expected a number of workers or auto"])
        self.state_dir = reports_dir
        if args.no_reports:
            import tempfile

            # The run still needs its results.json to judge; it goes to a folder removed afterwards.
            self.scratch = Path(tempfile.mkdtemp(prefix="opscheck-run-"))
            run_reports = self.scratch
        else:
            run_reports = reports_dir
            _check_free_space(reports_dir)
        extra = []
        if args.waivers:
            extra.append(f"--opscheck-waivers={_path(args.waivers, Path.cwd(), '')}")
        if args.keep_runs:
            extra.append(f"--opscheck-keep-runs={args.keep_runs}")
        if args.keep_days:
            extra.append(f"--opscheck-keep-days={args.keep_days:g}")
        if args.shard:
            if not re.match(r"^\d+/\d+$", args.shard) or not 1 <= int(args.shard.split("/")[0]) <= int(args.shard.split("/")[1]):
                raise _Stop(exitcodes.USAGE, [f"--shard {args.shard}: expected I/N with 1 <= I <= N (e.g. --shard 2/3)"])
            extra.append(f"--opscheck-shard={args.shard}")
        if args.metrics_dir:
            extra.append(f"--opscheck-metrics-dir={_path(args.metrics_dir, Path.cwd(), '')}")
        invocation = invoke.Invocation(
            suite_dir=suite_dir,
            markexpr=args.suite,
            suite=suite,
            reports_dir=run_reports,
            inventory=inventory_path,
            fail_on=args.fail_on,
            deadline=args.deadline,
            deadline_s=deadline_s,
            # From here, not from pytest's start-up: the run must end by then, imports included.
            deadline_at=time.time() + deadline_s if deadline_s else None,
            check_timeout_s=timeout_s or None,
            workers=args.workers,
            severity=args.severity,
            extra=tuple(extra) + (("-k", args.keyword) if args.keyword else ()) + tuple(args.pytest_args),
            plugins=args.plugins,
        )
        lock_path = Path(args.lock).resolve() if args.lock else reports_dir / lock_name(suite)
        try:
            lock = RunLock(lock_path, suite).acquire(wait_s)
        except Locked as exc:
            if args.nagios:
                print(f"OPSCHECK UNKNOWN - {exc}")
                return exitcodes.NAGIOS["UNKNOWN"]
            print(f"opscheck run: {exc}; not running {suite} (exit {exitcodes.LOCKED})", file=sys.stderr)
            return exitcodes.LOCKED
        try:
            # After the lock, so that an overlapping cron run answers at once, before the imports.
            # Read while pytest starts (its own start-up loads the same inventory and refuses a bad
            # one before any check): the runner's copy is for notifying and Nagios output afterwards,
            # and reading it first kept a core idle for ~0.3 s of every run's start-up.
            if not inventory_path.exists():
                raise _Stop(exitcodes.USAGE, [f"{inventory_path}: inventory file not found (pass --inventory PATH)"])
            loading = _InBackground(self._inventory, inventory_path)
            keep = (lock.fd,) if lock.fd is not None else ()
            completed = invoke.run(invocation, stream=args.verbose and not args.nagios, keep_fds=keep, spawned=loading.start)
            inventory = loading.result()
            return self._finish(invocation, completed, inventory)
        finally:
            lock.release()
            if self.scratch is not None:
                import shutil

                shutil.rmtree(self.scratch, ignore_errors=True)

    def _inventory(self, path: Path):
        from opscheck.errors import InventoryError
        from opscheck.registry import load_inventory

        if not path.exists():
            raise _Stop(exitcodes.USAGE, [f"{path}: inventory file not found (pass --inventory PATH)"])
        try:
            return load_inventory(path)
        except InventoryError as exc:
            raise _Stop(exitcodes.USAGE, list(exc.problems)) from None

    def _finish(self, invocation, completed, inventory) -> int:
        from opscheck.runner import outcome

        args = self.args
        rc = completed.returncode
        if completed.folder is None:
            if completed.interrupted:
                raise _Stop(exitcodes.UNKNOWN, [f"stopped by {completed.interrupted} before any result was written"])
            raise _Stop(*_without_results(invocation, completed))
        results = outcome.load_results(completed.folder)
        counts = outcome.counts_of(results)
        code = exitcodes.from_counts(counts, args.fail_on)
        notes = []
        if completed.killed:
            notes.append(completed.killed)
        if completed.interrupted:
            code = exitcodes.UNKNOWN
            notes.append(f"stopped by {completed.interrupted}: checks not run are UNKNOWN")
        if (completed.killed or rc in (exitcodes.PYTEST_INTERRUPTED, exitcodes.PYTEST_INTERNAL)) and code == exitcodes.OK:
            code = exitcodes.UNKNOWN
            notes.append(f"pytest ended abnormally (exit {rc}): the run may be incomplete")
        elif rc == exitcodes.PYTEST_FAILED and code == exitcodes.OK:
            code = exitcodes.CRIT
            notes.append("pytest reported failures outside the checks: " + "; ".join(_failure_lines(completed.output)[:3]))
        config = inventory.notify
        report_url = config.report_url if config is not None else None
        run_state = outcome.run_state(counts, code)
        report = outcome.report_location(completed.folder, report_url)
        from opscheck.notify.after_run import Notified, after_run

        try:
            notified = after_run(None if args.no_notify else config, results, self.state_dir, invocation.suite, run_state, report)
        except Exception as exc:  # noqa: BLE001 - state or notification trouble must not cost the verdict
            notified = Notified()
            notes.append(f"state file or notifications failed: {type(exc).__name__}: {exc}")
        if args.nagios:
            text, nagios_code = outcome.nagios_output(results)
            print(redact(text))
            return nagios_code
        failed_delivery = any(not d.ok for d in notified.deliveries)
        anchor = [] if args.no_reports else [outcome.manifest_line(completed.folder)]
        # The manifest hash is the audit anchor kept from the cron mail: printed even when quiet.
        refused = [line for line in completed.output.splitlines() if line.startswith("retention: ")]
        if args.quiet and code == exitcodes.OK and not failed_delivery and not notes:
            # A run that would not prune because an old run does not verify is news even when all is OK.
            quiet = outcome.waiver_lines(results) + refused + anchor
            if quiet:
                print(redact("\n".join(quiet)))
            return code
        lines = outcome.cron_text(results, completed.folder, code, report_url, reports=not args.no_reports)
        lines += outcome.waiver_lines(results) + outcome.retention_lines(completed.folder)
        lines += refused
        lines += [f"note: {n}" for n in notes] + notified.lines() + anchor
        print(redact("\n".join(lines)))
        return code


class _InBackground:
    """A call run on a thread from `start()`; `result()` returns its value or raises what it
    raised (and makes the call itself if nothing started it)."""

    def __init__(self, function, *args) -> None:
        import threading

        self._call = (function, *args)
        self._value = self._error = None
        self._thread = threading.Thread(target=self._run, name="opscheck-inventory", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        function, *args = self._call
        try:
            self._value = function(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to result(), raised on the main thread
            self._error = exc

    def result(self):
        if self._thread.ident is None:
            self._run()
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def suite_name(markexpr: str) -> str:
    """`daily` stays `daily`; `smoke and not slow` becomes `smoke-and-not-slow` (passed as --suite)."""
    name = re.sub(r"[^A-Za-z0-9_]+", "-", markexpr.strip()).strip("-")
    return name[:40] or "all"


def _without_results(invocation, completed) -> tuple[int, list[str]]:
    rc = completed.returncode
    if rc == exitcodes.PYTEST_NO_TESTS:
        return exitcodes.USAGE, [
            f"no check selected by -m {invocation.markexpr!r} in {invocation.suite_dir} "
            f"with inventory {invocation.inventory}: nothing was checked"
        ]
    if completed.killed:
        return exitcodes.UNKNOWN, [completed.killed + "; no results were written"]
    errors = _failure_lines(completed.output) or completed.output.strip().splitlines()[-10:]
    unwritable = [line.split("opscheck: ", 1)[1] for line in completed.output.splitlines() if line.startswith("opscheck: cannot write reports: ")]
    if unwritable:
        return exitcodes.USAGE, unwritable[:1]
    if rc in (exitcodes.PYTEST_USAGE, exitcodes.PYTEST_INTERNAL):
        return exitcodes.USAGE, errors or [f"pytest exited {rc}"]
    if rc == exitcodes.PYTEST_OK:
        return exitcodes.USAGE, [f"-m {invocation.markexpr!r} selected no opscheck check (pytest ran only plain tests)"]
    # Nothing was judged, so nothing is known: UNKNOWN, whatever pytest's own code.
    return exitcodes.UNKNOWN, [f"pytest exited {rc} and wrote no results.json", *errors[-5:]]


def _check_free_space(reports_dir: Path) -> None:
    """Refuse a run the reports dir cannot take, before it starts, rather than half-way through."""
    import errno

    probe = reports_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        stats = os.statvfs(probe)
    except OSError as exc:
        raise _Stop(exitcodes.USAGE, [f"{reports_dir}: [Errno {exc.errno}] {exc.strerror}"]) from None
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES or (stats.f_files and stats.f_favail < MIN_FREE_INODES):
        raise _Stop(exitcodes.USAGE, [
            f"{reports_dir}: [Errno {errno.ENOSPC}] {os.strerror(errno.ENOSPC)} "
            f"({free >> 10} KiB, {stats.f_favail} inodes free; a run needs {MIN_FREE_BYTES >> 20} MiB): nothing was run"
        ])


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of runs of at least 1, found {text!r}")
    return int(text)


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not days > 0 or days == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of days, found {text!r}")
    return days


def _failure_lines(output: str) -> list[str]:
    keep = ("ERROR", "FAILED", "E ", "error:")
    return [line.strip() for line in output.splitlines() if line.startswith(keep)][:20]


def _path(value: str | None, base: Path, default: str) -> Path:
    path = Path(value).expanduser() if value else base / default
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


def _seconds(text: str, option: str, zero_ok: bool = False) -> float:
    from opscheck.units import parse_seconds

    try:
        seconds = parse_seconds(text)
    except ValueError as exc:
        raise _Stop(exitcodes.USAGE, [f"{option} {text}: {exc}"]) from None
    if not seconds == seconds or seconds in (float("inf"), float("-inf")):  # nan, inf
        raise _Stop(exitcodes.USAGE, [f"{option} {text}: expected a finite duration"])
    if seconds < 0 or (seconds == 0 and not zero_ok):
        raise _Stop(exitcodes.USAGE, [f"{option} {text}: expected a positive duration"])
    return seconds
