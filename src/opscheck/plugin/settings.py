"""Options and ini keys, registered in one place and resolved once (CLI > env > ini > default)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from opscheck.units import MAX_TIMEOUT
from opscheck.verdict import SEVERITIES

DEFAULT_INVENTORY = "inventories/local.yml"
DEFAULT_REPORTS_DIR = "reports"
# From benchmarks/run.py: 200 endpoints of 200 ms take ~5 s at 16, ~2.8 s at 64; 32 keeps a
# fleet's probes well inside a cron minute without opening more than 32 connections at once.
DEFAULT_CONCURRENCY = 32

HELP = {
    "inventory": f"inventory YAML to check (env OPSCHECK_INVENTORY, ini opscheck_inventory; default {DEFAULT_INVENTORY})",
    "reports_dir": f"folder that receives one report folder per run (env OPSCHECK_REPORTS_DIR, ini opscheck_reports_dir; default {DEFAULT_REPORTS_DIR})",
    "fail_on": "lowest verdict that fails the run: crit (default) or warn",
    "severity": "run only checks of this severity or more urgent (critical > high > medium > low)",
    "concurrency": f"probes measured at once ahead of the checks that judge them (ini opscheck_concurrency; default {DEFAULT_CONCURRENCY}; 1 = one at a time)",
    "suite": "name of the run in report folders and reports (default: the -m expression)",
    "no_reports": "write no report folder for this run",
    "waivers": "YAML file of waivers (check id glob, justification, approver, expires) (env OPSCHECK_WAIVERS, ini opscheck_waivers)",
    "keep_runs": "after the run, keep only the newest N run folders (pruned runs are recorded in the manifest)",
    "keep_days": "after the run, prune run folders older than N days (pruned runs are recorded in the manifest)",
    "metrics_dir": "also write the run's metrics to DIR/opscheck_<suite>.prom, atomically, for node_exporter's textfile collector (env OPSCHECK_METRICS_DIR, ini opscheck_metrics_dir)",
    "shard": "run shard I of N of the fleet: hosts sorted and dealt round-robin, every check of a host in one shard (opscheck merge joins the parts)",
    "deadline": "overall deadline (90s, 10m or seconds): checks not measured by then are UNKNOWN 'not run'",
}


@dataclass(frozen=True)
class Settings:
    inventory: Path
    inventory_explicit: bool
    reports_dir: Path
    fail_on: str
    severity: str | None
    concurrency: int
    suite: str
    write_reports: bool
    waivers: Path | None = None
    keep_runs: int | None = None
    keep_days: float | None = None
    metrics_dir: Path | None = None


# Every option, as (name, argparse attributes); dest = name with "_" for "-". Each is registered as
# `--opscheck-NAME`, and as `--NAME` too where no other plugin has taken it (pytest-ansible owns
# `--inventory`): two plugins registering one flag stop pytest before it starts.
OPTIONS = (
    ("inventory", {"metavar": "PATH"}),
    ("reports-dir", {"metavar": "DIR"}),
    ("fail-on", {"choices": ("crit", "warn"), "default": "crit"}),
    ("severity", {"choices": SEVERITIES}),
    ("concurrency", {"metavar": "N"}),
    ("suite", {"metavar": "NAME"}),
    ("no-reports", {"action": "store_true"}),
    ("waivers", {"metavar": "PATH"}),
    ("keep-runs", {"metavar": "N"}),
    ("keep-days", {"metavar": "DAYS"}),
    ("deadline", {"metavar": "DURATION"}),
    ("metrics-dir", {"metavar": "DIR"}),
    ("shard", {"metavar": "I/N"}),
)
GROUP = "opscheck"
SHORT = pytest.StashKey[frozenset]()


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup(GROUP, "operational checks")
    for name, attrs in OPTIONS:
        dest = name.replace("-", "_")
        group.addoption(f"--opscheck-{name}", dest=dest, help=HELP[dest], **attrs)
    parser.addini("opscheck_inventory", HELP["inventory"])
    parser.addini("opscheck_reports_dir", HELP["reports_dir"])
    parser.addini("opscheck_concurrency", HELP["concurrency"])
    parser.addini("opscheck_waivers", HELP["waivers"])
    parser.addini("opscheck_metrics_dir", HELP["metrics_dir"])


def add_short_spellings(config: pytest.Config, parser: pytest.Parser) -> None:
    """Add `--NAME` for every option no other plugin or initial conftest registered.

    Called once every plugin and initial conftest has added its options, before the final
    parse of the command line: plugins load in entry-point order, so a check made in
    pytest_addoption would miss a plugin loaded after opscheck.
    """
    taken = {flag for options in _registered(parser) for option in options for flag in option.names()}
    short = frozenset(name for name, _ in OPTIONS if f"--{name}" not in taken)
    group = parser.getgroup(GROUP)
    for name, attrs in OPTIONS:
        if name in short:
            dest = name.replace("-", "_")
            group.addoption(f"--{name}", dest=dest, help=f"same as --opscheck-{name}", **attrs)
    config.stash[SHORT] = short


def flag(config: pytest.Config, name: str) -> str:
    """The spelling of an option that reaches opscheck in this run: `--inventory` unless taken."""
    return f"--{name}" if name in config.stash.get(SHORT, frozenset()) else f"--opscheck-{name}"


def _registered(parser: pytest.Parser):
    # pytest offers no public list of registered options; these are the anonymous group's and the
    # named groups' option lists, which pytest itself checks for duplicates within a group.
    yield parser._anonymous.options
    for group in parser._groups:
        yield group.options


def resolve(config: pytest.Config) -> Settings:
    """Read every setting once; a bad value names where it came from."""
    rootdir = Path(config.rootpath)
    inventory, explicit = _first(
        (config.getoption("inventory"), Path.cwd()),
        (os.environ.get("OPSCHECK_INVENTORY"), Path.cwd()),
        (config.getini("opscheck_inventory") or None, rootdir),
        default=(DEFAULT_INVENTORY, rootdir),
    )
    reports_dir, _ = _first(
        (config.getoption("reports_dir"), Path.cwd()),
        (os.environ.get("OPSCHECK_REPORTS_DIR"), Path.cwd()),
        (config.getini("opscheck_reports_dir") or None, rootdir),
        default=(DEFAULT_REPORTS_DIR, rootdir),
    )
    _check_rootdir(config)
    _check_durations(config)
    concurrency = _concurrency(config)
    return Settings(
        inventory=inventory,
        inventory_explicit=explicit,
        reports_dir=reports_dir,
        fail_on=config.getoption("fail_on"),
        severity=config.getoption("severity"),
        concurrency=concurrency,
        suite=config.getoption("suite") or suite_name(config.getoption("markexpr") or ""),
        write_reports=not config.getoption("no_reports"),
        waivers=_waivers_path(config, rootdir),
        keep_runs=_positive(config.getoption("keep_runs"), "--keep-runs", int),
        keep_days=_positive(config.getoption("keep_days"), "--keep-days", float),
        metrics_dir=_metrics_dir(config, rootdir),
    )


def _metrics_dir(config: pytest.Config, rootdir: Path) -> Path | None:
    path, given = _first(
        (config.getoption("metrics_dir"), Path.cwd()),
        (os.environ.get("OPSCHECK_METRICS_DIR"), Path.cwd()),
        (config.getini("opscheck_metrics_dir") or None, rootdir),
        default=("", rootdir),
    )
    return path if given else None


def _waivers_path(config: pytest.Config, rootdir: Path) -> Path | None:
    path, given = _first(
        (config.getoption("waivers"), Path.cwd()),
        (os.environ.get("OPSCHECK_WAIVERS"), Path.cwd()),
        (config.getini("opscheck_waivers") or None, rootdir),
        default=("", rootdir),
    )
    return path if given else None


def _check_durations(config: pytest.Config) -> None:
    """--deadline and pytest-timeout's --timeout, refused before the run folder exists: float()
    takes `nan` and `inf`, and a NaN deadline never arrives."""
    from opscheck.plugin.deadline import parse_deadline

    if config.getoption("deadline", None):
        parse_deadline(config.getoption("deadline"))
    timeout = getattr(config.option, "timeout", None)
    if timeout is not None and not (math.isfinite(timeout) and 0 <= timeout <= MAX_TIMEOUT):
        raise pytest.UsageError(f"--timeout: expected a number of seconds up to {MAX_TIMEOUT:g} (0: none), found {timeout!r}")


def _positive(value, source: str, kind):
    if value is None:
        return None
    try:
        number = kind(value)
    except ValueError:
        raise pytest.UsageError(f"{source}: expected a positive number, found {value!r}") from None
    if not (number > 0 and math.isfinite(number)):
        raise pytest.UsageError(f"{source}: expected a positive number, found {value!r}")
    return number


def suite_name(markexpr: str) -> str:
    """`daily` stays `daily`; `smoke and not slow` becomes `smoke-and-not-slow`; nothing is `all`."""
    name = re.sub(r"[^A-Za-z0-9_]+", "-", markexpr.strip()).strip("-")
    return name[:40] or "all"


def _first(*candidates, default):
    for value, base in candidates:
        if value:
            path = Path(value).expanduser()
            return (path if path.is_absolute() else base / path), True
    value, base = default
    return base / value, False


def _concurrency(config: pytest.Config) -> int:
    for value, source in (
        (config.getoption("concurrency"), "--concurrency"),
        (config.getini("opscheck_concurrency") or None, "ini opscheck_concurrency"),
    ):
        if value is None:
            continue
        try:
            number = int(value)
        except ValueError:
            raise pytest.UsageError(f"{source}: expected a whole number of probes, found {value!r}") from None
        if not 1 <= number <= 512:
            raise pytest.UsageError(f"{source}: expected 1 to 512 probes at once, found {number}")
        return number
    return DEFAULT_CONCURRENCY


def _check_rootdir(config: pytest.Config) -> None:
    """pytest finds the rootdir before plugin options exist, so in `--inventory /elsewhere.yml`
    (with a space) it takes the path for a test path, and the rootdir and ini file are then
    looked up from there instead of from the suite: stop rather than run with the wrong ones."""
    args = [str(a) for a in config.invocation_params.args]
    invocation = Path(config.invocation_params.dir).resolve()
    inipath = Path(config.inipath).resolve() if config.inipath else None
    if inipath is not None and (inipath.parent == invocation or inipath.parent in invocation.parents):
        return
    ours = {flag(config, "inventory"), flag(config, "reports-dir"), "--opscheck-inventory", "--opscheck-reports-dir"}
    for given, value in zip(args, args[1:], strict=False):
        if given in ours:
            raise pytest.UsageError(
                f"{given} {value}: pytest took this path for a test path while finding the rootdir "
                f"(it became {config.rootpath}); write {given}={value} or use the environment variable instead"
            )
