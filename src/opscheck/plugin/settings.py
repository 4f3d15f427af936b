"""Options and ini keys, registered in one place and resolved once (CLI > env > ini > default)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("opscheck", "operational checks")
    group.addoption("--inventory", metavar="PATH", help=HELP["inventory"])
    group.addoption("--reports-dir", metavar="DIR", help=HELP["reports_dir"])
    group.addoption("--fail-on", choices=("crit", "warn"), default="crit", help=HELP["fail_on"])
    group.addoption("--severity", choices=SEVERITIES, help=HELP["severity"])
    group.addoption("--concurrency", metavar="N", help=HELP["concurrency"])
    group.addoption("--suite", metavar="NAME", help=HELP["suite"])
    group.addoption("--no-reports", action="store_true", help=HELP["no_reports"])
    group.addoption("--waivers", metavar="PATH", help=HELP["waivers"])
    group.addoption("--keep-runs", metavar="N", help=HELP["keep_runs"])
    group.addoption("--keep-days", metavar="DAYS", help=HELP["keep_days"])
    group.addoption("--deadline", metavar="DURATION", help=HELP["deadline"])
    parser.addini("opscheck_inventory", HELP["inventory"])
    parser.addini("opscheck_reports_dir", HELP["reports_dir"])
    parser.addini("opscheck_concurrency", HELP["concurrency"])
    parser.addini("opscheck_waivers", HELP["waivers"])


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
    )


def _waivers_path(config: pytest.Config, rootdir: Path) -> Path | None:
    path, given = _first(
        (config.getoption("waivers"), Path.cwd()),
        (os.environ.get("OPSCHECK_WAIVERS"), Path.cwd()),
        (config.getini("opscheck_waivers") or None, rootdir),
        default=("", rootdir),
    )
    return path if given else None


def _positive(value, source: str, kind):
    if value is None:
        return None
    try:
        number = kind(value)
    except ValueError:
        raise pytest.UsageError(f"{source}: expected a positive number, found {value!r}") from None
    if number <= 0:
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
    for flag, value in zip(args, args[1:], strict=False):
        if flag in ("--inventory", "--reports-dir"):
            raise pytest.UsageError(
                f"{flag} {value}: pytest took this path for a test path while finding the rootdir "
                f"(it became {config.rootpath}); write {flag}={value} or use the environment variable instead"
            )
