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
from opscheck.reports import index, manifest, retention
from opscheck.reports.folder import point_latest
from opscheck.reports.run import Run, utcnow

# One module per output format, each with `write(run, folder) -> Path | None`; the manifest comes last.
WRITERS = [
    "opscheck.reports.results_json",
    "opscheck.reports.junit",
    "opscheck.reports.allure",
    "opscheck.reports.metrics_prom",
    "opscheck.reports.html",
]
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
        inside = str(run_folder.path)
        for plugin in self.config.pluginmanager.get_plugins():
            path = getattr(plugin, "_report_path", None)
            if path is not None and str(path).startswith(inside):
                self.config.pluginmanager.unregister(plugin)

    def finish(self, run_folder: RunFolder, exitstatus: int) -> None:
        run = self.run
        run.finished = utcnow()
        run.exit_status = exitstatus
        run.checks = [
            # The probe's own time when the check measured; pytest's setup+call+teardown otherwise.
            {**self.records[nodeid], "duration_s": round(self.records[nodeid].get("duration_s") or self.durations.get(nodeid, 0.0), 4)}
            for nodeid in sorted(self.records, key=lambda n: self.order[n])
        ]
        waiver_set = self.config.stash.get(waivers.WAIVERS, None)
        if waiver_set is not None:
            run.waivers_file = {"path": waiver_set.path, "sha256": waiver_set.sha256}
            run.waivers = waiver_set.status([c["id"] for c in run.checks], {c["id"]: c["verdict"] for c in run.checks})
        run.git_commit = _git_commit(Path(self.config.rootpath))
        run.plugins = _plugins(self.config)
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
        try:
            index.write(run_folder.reports_dir)
        except Exception as exc:  # noqa: BLE001 - the run is sealed; a stale index must not hide that
            self.errors.append(f"index.html: {type(exc).__name__}: {exc}")

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


def _plugins(config: pytest.Config) -> dict[str, str]:
    """The distributions whose pytest plugins took part in the run, with their versions.

    Autoloaded plugins come with their distribution; those loaded with `-p module` (as
    `opscheck run` loads them) are traced back to theirs through the module's package."""
    import types
    from importlib import metadata

    plugins = {}
    for _plugin, dist in config.pluginmanager.list_plugin_distinfo():
        plugins[getattr(dist, "project_name", None) or dist.metadata["name"]] = dist.version
    owners = None
    for plugin in config.pluginmanager.get_plugins():
        module = plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__
        top = (module or "").split(".", 1)[0]
        if top in ("", "_pytest", "pytest", "__main__", "conftest", "builtins"):
            continue
        if owners is None:
            owners = metadata.packages_distributions()
        for name in owners.get(top, ()):
            if name not in plugins:
                try:
                    plugins[name] = metadata.version(name)
                except metadata.PackageNotFoundError:
                    continue
    return plugins


def _git_commit(root: Path) -> str | None:
    """The commit of the checks, when the suite is a git checkout (`+modified` if dirty)."""
    import subprocess

    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + ("+modified" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None
