"""The controller's listener: gathers every check's record and hands the run to the writers.

The run folder is decided on the controller in `pytest_configure`, before
pytest-html, junitxml and allure-pytest read their paths, and handed to xdist
workers (allure-pytest writes from each worker). It is removed again when the
session recorded no check, so plain test runs leave no report folders behind.
Writers run after every other `pytest_sessionfinish` (pytest-html and junitxml
have written their files by then); the manifest seals the folder last.

A reports dir that cannot take the run (disk full, read-only, no inodes) is one
line naming the path and the errno, pytest exit 4 (`opscheck run`: 3), and the run
folder is removed: `latest`, the chain and the previous runs stay as they were.
A run interrupted (SIGINT; `opscheck run` turns SIGTERM into it) still writes its
reports, with every selected check it did not finish recorded as UNKNOWN.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from opscheck.plugin import waivers
from opscheck.reports import index, manifest, retention
from opscheck.reports.folder import IN_PROGRESS, latest_name, point_latest, seal_lock, write_atomic
from opscheck.reports.run import Run, utcnow
from opscheck.reports.run import git_commit as _git_commit

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
    marker_fd: int | None = None  # holds the in-progress marker's lock while this process writes


RUN_FOLDER = pytest.StashKey[RunFolder]()


def discard_unused(run_folder: RunFolder) -> None:
    """A run that recorded no check (or never got to its end) leaves no folder behind."""
    _release_marker(run_folder)
    if run_folder.kept:
        return
    shutil.rmtree(run_folder.path, ignore_errors=True)
    if run_folder.created_reports_dir:
        with contextlib.suppress(OSError):
            run_folder.reports_dir.rmdir()


def _release_marker(run_folder: RunFolder) -> None:
    if run_folder.marker_fd is not None:
        with contextlib.suppress(OSError):
            os.close(run_folder.marker_fd)
        run_folder.marker_fd = None


class ReportsUnwritable(Exception):
    """The reports dir refused a write (ENOSPC, EROFS, EDQUOT, ...): one line, exit 4."""

    def __init__(self, exc: OSError, fallback: Path):
        self.line = f"cannot write reports: {exc.filename or fallback}: [Errno {exc.errno}] {exc.strerror or os.strerror(exc.errno or 0)}"
        super().__init__(self.line)


def _unwritable(exc: BaseException) -> OSError | None:
    """The OSError behind a failed report write, if the cause is the file system rather than a bug."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


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
        self.unwritable: str | None = None
        self.refused: list[str] = []
        self.selected: dict[str, object] = {}  # nodeid -> item (None under xdist), for checks the run never reached

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

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from opscheck.plugin.collection import is_check

        self.selected = {item.nodeid: item for item in session.items if is_check(item)}

    def pytest_internalerror(self, excrepr, excinfo) -> bool | None:
        """A report plugin (allure-pytest writes as checks finish) hit a full or read-only disk:
        one line at the end instead of a traceback; the run folder goes at session end."""
        run_folder = self.config.stash.get(RUN_FOLDER, None)
        cause = _unwritable(excinfo.value) if run_folder is not None else None
        if cause is None:
            return None
        self.unwritable = self.unwritable or ReportsUnwritable(cause, run_folder.path).line
        return True

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids: list[str]) -> None:
        """Under xdist the controller collects nothing itself: the workers' selection stands in."""
        for nodeid in ids:
            self.selected.setdefault(nodeid, None)

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        run_folder = self.config.stash.get(RUN_FOLDER, None)
        try:
            result = yield
        except Exception as exc:  # pytest-html or junitxml failed writing into the run folder
            cause = _unwritable(exc)
            if run_folder is None or (cause is None and not self.unwritable):
                raise
            self._give_up(session, run_folder, ReportsUnwritable(cause, run_folder.path) if cause else None)
            return None
        if run_folder is not None and self.unwritable:
            self._give_up(session, run_folder, None)
            return result
        if run_folder is None:
            return result
        self._add_not_run(int(session.exitstatus))  # an interrupted run still lists what it never reached
        if not self.records or not self.settings.write_reports:
            discard_unused(run_folder)
            self._silence_writers(run_folder)
            return result
        run_folder.kept = True
        try:
            self.finish(run_folder, int(session.exitstatus))
        except ReportsUnwritable as exc:
            self._give_up(session, run_folder, exc)
        except Exception as exc:  # noqa: BLE001 - a report failure must not hide the run's outcome
            self.errors.append(f"sealing {run_folder.path}: {type(exc).__name__}: {exc}")
        finally:
            _release_marker(run_folder)
        return result

    def _give_up(self, session: pytest.Session, run_folder: RunFolder, exc: ReportsUnwritable | None) -> None:
        """Remove the half-written folder (the chain and `latest` never saw it) and say why in one line."""
        self.unwritable = self.unwritable or (exc.line if exc else "cannot write reports")
        self.folder = None
        run_folder.kept = False
        discard_unused(run_folder)
        self._silence_writers(run_folder)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR

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
        folder = run_folder.path
        reports_dir = run_folder.reports_dir
        run.id = folder.name
        try:
            with seal_lock(reports_dir):
                run.previous = manifest.previous_run(reports_dir, exclude=folder)
                for name in WRITERS:
                    try:
                        importlib.import_module(name).write(run, folder)
                    except Exception as exc:  # noqa: BLE001 - one broken writer must not cost the others
                        if (cause := _unwritable(exc)) is not None:
                            raise ReportsUnwritable(cause, folder) from None
                        self.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                # Sealed once before pruning: a disk too full for the manifest fails here, with nothing deleted yet.
                self.manifest_sha256 = manifest.write(run, folder)
                pruning = retention.prune(reports_dir, folder, self.settings.keep_runs, self.settings.keep_days, run.suite)
                run.pruned, self.refused = pruning.pruned, pruning.refused
                if run.pruned:
                    self.manifest_sha256 = manifest.write(run, folder)
                # Only now: a reader never finds the folder neither marked nor sealed.
                (folder / IN_PROGRESS).unlink(missing_ok=True)
                point_latest(reports_dir, folder, latest_name(run.suite))
                point_latest(reports_dir, folder)
        except OSError as exc:
            if (cause := _unwritable(exc)) is None:
                raise
            raise ReportsUnwritable(cause, folder) from None
        self.folder = folder
        try:  # elsewhere (node_exporter's directory): a failure there costs neither the run nor its seal
            self._write_metrics_file(run)
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"metrics file in {self.settings.metrics_dir}: {type(exc).__name__}: {exc}")
        try:
            index.write(reports_dir)
        except Exception as exc:  # noqa: BLE001 - the run is sealed; a stale index must not hide that
            self.errors.append(f"index.html: {type(exc).__name__}: {exc}")

    def _write_metrics_file(self, run: Run) -> None:
        """`opscheck_<suite>.prom` for node_exporter's textfile collector, replaced atomically."""
        directory = self.settings.metrics_dir
        if directory is None:
            return
        from opscheck.reports import metrics_prom

        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(directory / f"opscheck_{run.suite}.prom", metrics_prom.render(run).encode())

    def _add_not_run(self, exitstatus: int) -> None:
        """An interrupted run lists every selected check it did not finish as UNKNOWN, never drops it."""
        if exitstatus != pytest.ExitCode.INTERRUPTED:
            return
        from opscheck.measurement import Measurement
        from opscheck.plugin.collection import SEVERITY, targets_of
        from opscheck.result import Result
        from opscheck.verdict import DEFAULT_SEVERITY, Verdict

        message = "not run: the run was interrupted"
        for nodeid, item in self.selected.items():
            if nodeid in self.records:
                continue
            targets = targets_of(item) if item is not None else []
            target = targets[0] if targets else None
            name = item.name if item is not None else nodeid.split("::")[-1]
            measurement = Measurement(target=target, subject=target.id if target else name, error=message)
            severity = (item.stash.get(SEVERITY, None) if item is not None else None) or DEFAULT_SEVERITY.value
            self.records[nodeid] = {**Result(Verdict.UNKNOWN, message, measurement, severity).to_dict(), "id": nodeid}
            self.order[nodeid] = len(self.order) + 1_000_000

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if self.unwritable:
            terminalreporter.write_line(f"opscheck: {self.unwritable}", red=True)
            return
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
        for refused in self.refused:
            terminalreporter.write_line(f"retention: {refused}", red=True)
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

