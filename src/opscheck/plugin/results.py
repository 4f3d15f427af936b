"""The controller's listener: gathers every check's record and hands the run to the writers.

Registered only where reports should be written (not on xdist workers), like
pytest-html's reporter.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from opscheck.reports.folder import create_run_folder, point_latest
from opscheck.reports.run import Run, utcnow

# One module per output format, each with `write(run, folder) -> Path`.
WRITERS = [
    "opscheck.reports.results_json",
]


class ResultsListener:
    def __init__(self, config: pytest.Config, settings) -> None:
        self.config = config
        self.settings = settings
        self.run = Run(id="", suite=settings.suite, environment="", started=utcnow())
        self.records: dict[str, dict] = {}
        self.order: dict[str, float] = {}
        self.durations: dict[str, float] = {}
        self.folder: Path | None = None
        self.errors: list[str] = []

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
        if nodeid not in self.order:
            self.order[nodeid] = getattr(report, "item_index", len(self.order))
        if report.when != "teardown" or nodeid not in self.records:
            self.records[nodeid] = record

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.records or not self.settings.write_reports:
            return
        run = self.run
        run.finished = utcnow()
        run.exit_status = int(exitstatus)
        run.checks = [
            {**self.records[nodeid], "duration_s": round(self.durations.get(nodeid, 0.0), 4)}
            for nodeid in sorted(self.records, key=lambda n: self.order[n])
        ]
        reports_dir = self.settings.reports_dir
        self.folder = create_run_folder(reports_dir, run.started, run.suite)
        run.id = self.folder.name
        for name in WRITERS:
            try:
                importlib.import_module(name).write(run, self.folder)
            except Exception as exc:  # noqa: BLE001 - one broken writer must not cost the others
                self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        point_latest(reports_dir, self.folder)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.folder is None:
            return
        counts = self.run.counts()
        shown = ", ".join(f"{counts[v]} {v}" for v in counts if counts[v])
        terminalreporter.write_sep("-", "opscheck")
        terminalreporter.write_line(f"{shown}; reports in {self.folder}")
        for error in self.errors:
            terminalreporter.write_line(f"report writer failed: {error}", red=True)
