"""The controller's listener: gathers every check's record and hands the run to the writers.

The run folder is decided on the controller in `pytest_configure`, before
pytest-html, junitxml and allure-pytest read their paths, and handed to xdist
workers (allure-pytest writes from each worker). It is removed again when the
session recorded no check, so plain test runs leave no report folders behind.
Writers run after every other `pytest_sessionfinish` (pytest-html and junitxml
have written their files by then); the manifest seals the folder last.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from opscheck.plugin import waivers
from opscheck.reports import manifest, retention
from opscheck.reports.folder import point_latest
from opscheck.reports.run import Run, utcnow
from opscheck.reports.run import git_commit as _git_commit

# One module per output format, each with `write(run, folder) -> Path | None`; the manifest comes last.
WRITERS = [
    "opscheck.reports.results_json",
    "opscheck.reports.junit",
    "opscheck.reports.allure",
    "opscheck.reports.metrics_prom",
]
HTML = "report.html"
JUNIT = "junit.xml"
ALLURE = "allure-results"
WORKER_KEY = "opscheck_run_folder"


@dataclass
class RunFolder:
    path: Path
    reports_dir: Path
    started: datetime
    created_reports_dir: bool
    kept: bool = False  # the run recorded checks: never discard it, even if sealing failed


RUN_FOLDER = pytest.StashKey[RunFolder]()


def discard_unused(run_folder: RunFolder) -> None:
    """A run that recorded no check (or never got to its end) leaves no folder behind."""
    if run_folder.kept:
        return
    shutil.rmtree(run_folder.path, ignore_errors=True)
    if run_folder.created_reports_dir:
        with contextlib.suppress(OSError):
            run_folder.reports_dir.rmdir()


class ResultsListener:
    def __init__(self, config: pytest.Config, settings) -> None:
        self.config = config
        self.settings = settings
        run_folder = config.stash.get(RUN_FOLDER, None)
        started = run_folder.started if run_folder else utcnow()
        self.run = Run(id="", suite=settings.suite, environment="", started=started)
        self.records: dict[str, dict] = {}
        self.order: dict[str, float] = {}
        self.durations: dict[str, float] = {}
        self.folder: Path | None = None
        self.errors: list[str] = []
        self.manifest_sha256 = ""

    def use_inventory(self, inventory) -> None:
        self.run.environment = inventory.environment
        self.run.inventory_path = inventory.path
        self.run.inventory_sha256 = inventory.sha256

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = report.nodeid
        self.durations[nodeid] = self.durations.get(nodeid, 0.0) + (report.duration or 0.0)
        record = getattr(report, "opscheck", None)
        if record is None:
            return
        waiver = getattr(report, "opscheck_waiver", None)
        if waiver is not None and "waiver" not in record:
            record = report.opscheck = {**record, "waiver": waiver}
        if nodeid not in self.order:
            self.order[nodeid] = getattr(report, "item_index", len(self.order))
        if report.when != "teardown" or nodeid not in self.records:
            self.records[nodeid] = record
            html = self.config.pluginmanager.get_plugin("opscheck-html")
            if html is not None and report.when in ("setup", "call"):
                html.add_evidence(report, record)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        result = yield
        run_folder = self.config.stash.get(RUN_FOLDER, None)
        if run_folder is None:
            return result
        if not self.records or not self.settings.write_reports:
            discard_unused(run_folder)
            self._silence_writers(run_folder)
            return result
        run_folder.kept = True
        try:
            self.finish(run_folder, int(session.exitstatus))
        except Exception as exc:  # noqa: BLE001 - a report failure must not hide the run's outcome
            self.errors.append(f"sealing {run_folder.path}: {type(exc).__name__}: {exc}")
        return result

    def _silence_writers(self, run_folder: RunFolder) -> None:
        """pytest-html would announce a report that went with the discarded folder."""
        html_path = getattr(self.config.option, "htmlpath", None)
        if not html_path or not str(html_path).startswith(str(run_folder.path)):
            return
        try:
            from pytest_html.basereport import BaseReport
        except ImportError:
            return
        for plugin in self.config.pluginmanager.get_plugins():
            if isinstance(plugin, BaseReport):
                self.config.pluginmanager.unregister(plugin)

    def finish(self, run_folder: RunFolder, exitstatus: int) -> None:
        run = self.run
        run.finished = utcnow()
        run.exit_status = exitstatus
        run.checks = [
            {**self.records[nodeid], "duration_s": round(self.durations.get(nodeid, 0.0), 4)}
            for nodeid in sorted(self.records, key=lambda n: self.order[n])
        ]
        waiver_set = self.config.stash.get(waivers.WAIVERS, None)
        if waiver_set is not None:
            run.waivers_file = {"path": waiver_set.path, "sha256": waiver_set.sha256}
            run.waivers = waiver_set.status([c["id"] for c in run.checks], {c["id"]: c["verdict"] for c in run.checks})
        run.git_commit = _git_commit(Path(self.config.rootpath))
        self.folder = folder = run_folder.path
        run.id = folder.name
        run.previous = manifest.previous_run(run_folder.reports_dir, exclude=folder)
        for name in WRITERS:
            try:
                importlib.import_module(name).write(run, folder)
            except Exception as exc:  # noqa: BLE001 - one broken writer must not cost the others
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        run.pruned = retention.prune(run_folder.reports_dir, folder, self.settings.keep_runs, self.settings.keep_days)
        self.manifest_sha256 = manifest.write(run, folder)
        point_latest(run_folder.reports_dir, folder)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.folder is None:
            for error in self.errors:
                terminalreporter.write_line(f"report writer failed: {error}", red=True)
            return
        counts = self.run.counts()
        shown = ", ".join(f"{counts[v]} {v}" for v in counts if counts[v])
        terminalreporter.write_sep("-", "opscheck")
        terminalreporter.write_line(f"{shown}; reports in {self.folder}")
        if self.manifest_sha256:
            terminalreporter.write_line(f"manifest sha256 {self.manifest_sha256}")
        for waiver in self.run.waivers:
            if waiver["status"] != "active":
                terminalreporter.write_line(f"waiver {waiver['id']!r}: {waiver['status']}", yellow=True)
        for pruned in self.run.pruned:
            terminalreporter.write_line(f"pruned old run {pruned['run']}")
        for error in self.errors:
            terminalreporter.write_line(f"report writer failed: {error}", red=True)
