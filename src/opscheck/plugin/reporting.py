"""Report-side hooks: decide the run folder, hand it to xdist workers, mask secrets early.

The run folder is decided on the controller in a `tryfirst` `pytest_configure`,
before junitxml and allure-pytest read their paths; each xdist
worker gets it through `workerinput` (allure-pytest writes from the workers).
A check's failure text, captured output and exception message are redacted
where the report is made, so no reporter (terminal, JUnit, HTML, Allure) sees
a secret. Kept apart from results.py so pytest can register it by name.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from opscheck.plugin import state, waivers
from opscheck.plugin.collection import is_check
from opscheck.plugin.results import (
    ALLURE,
    JUNIT,
    RUN_FOLDER,
    WORKER_KEY,
    RunFolder,
    discard_unused,
)
from opscheck.redact import redact
from opscheck.reports.folder import create_run_folder, mark_in_progress
from opscheck.reports.run import utcnow


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Decide the run folder before the report plugins configure themselves."""
    resolved = state.settings(config)
    waivers.configure(config, resolved.waivers)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        folder = workerinput.get(WORKER_KEY)
        if folder and _unset(config, "allure_report_dir"):
            config.option.allure_report_dir = str(Path(folder) / ALLURE)
        return
    if not resolved.write_reports or config.option.collectonly:
        return
    if not (resolved.inventory_explicit or resolved.inventory.exists()):
        # No inventory in play: an ordinary pytest run in an environment where opscheck is
        # installed. It must not pay for (nor announce) JUnit and Allure reports.
        return
    reports_dir = resolved.reports_dir
    created = not reports_dir.exists()
    started = utcnow()
    run_folder = RunFolder(create_run_folder(reports_dir, started, resolved.suite), reports_dir, started, created)
    run_folder.marker_fd = mark_in_progress(run_folder.path)  # `opscheck verify`: in progress, not tampered
    config.stash[RUN_FOLDER] = run_folder
    if _unset(config, "xmlpath"):
        config.option.xmlpath = str(run_folder.path / JUNIT)
    if _unset(config, "allure_report_dir"):
        config.option.allure_report_dir = str(run_folder.path / ALLURE)
    config.add_cleanup(lambda: discard_unused(run_folder))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    run_folder = node.config.stash.get(RUN_FOLDER, None)
    if run_folder is not None:
        node.workerinput[WORKER_KEY] = str(run_folder.path)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tag each check's Allure result with its test id, so the controller can complete it."""
    if not getattr(config.option, "allure_report_dir", None):
        return
    for item in items:
        if is_check(item):
            item.add_marker(pytest.mark.allure_label(item.nodeid, label_type="opscheck_id"))


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Mask secrets in a check's failure text and captured output before any reporter sees them."""
    report = yield
    if is_check(item):
        redact_report(report)
        _redact_exception(call)
    return report


def _redact_exception(call: pytest.CallInfo) -> None:
    """allure-pytest reads the message from the exception itself: mask it there too."""
    exc = call.excinfo.value if call.excinfo is not None else None
    if exc is None or not exc.args or not all(isinstance(a, str) for a in exc.args):
        return
    masked = tuple(redact(a) for a in exc.args)
    if masked != exc.args:
        with contextlib.suppress(AttributeError, TypeError):
            exc.args = masked


def redact_report(report: pytest.TestReport) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], redact(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]


def _unset(config: pytest.Config, option: str) -> bool:
    return hasattr(config.option, option) and not getattr(config.option, option)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    """allure-pytest writes as each check ends: a full or read-only reports disk stops the run
    with one line (results.py removes the folder at the end), not an INTERNALERROR traceback."""
    try:
        return (yield)
    except OSError as exc:
        from opscheck.plugin.results import ReportsUnwritable, _unwritable

        run_folder = item.config.stash.get(RUN_FOLDER, None)
        cause = _unwritable(exc)
        if cause is None or run_folder is None:
            raise
        line = ReportsUnwritable(cause, run_folder.path).line
        listener = item.config.pluginmanager.get_plugin("opscheck-results")
        if listener is not None and not listener.unwritable:
            listener.unwritable = line
        item.session.shouldstop = line
        return True
