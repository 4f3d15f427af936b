"""Report-side hooks: decide the run folder, hand it to xdist workers, mask secrets early.

The run folder is decided on the controller in a `tryfirst` `pytest_configure`,
before pytest-html, junitxml and allure-pytest read their paths; each xdist
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
    HTML,
    JUNIT,
    RUN_FOLDER,
    WORKER_KEY,
    RunFolder,
    discard_unused,
)
from opscheck.redact import redact
from opscheck.reports.folder import create_run_folder
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
        # installed. It must not pay for (nor announce) HTML, JUnit and Allure reports.
        return
    reports_dir = resolved.reports_dir
    created = not reports_dir.exists()
    started = utcnow()
    run_folder = RunFolder(create_run_folder(reports_dir, started, resolved.suite), reports_dir, started, created)
    config.stash[RUN_FOLDER] = run_folder
    if _unset(config, "htmlpath"):
        config.option.htmlpath = str(run_folder.path / HTML)
        config.option.self_contained_html = True
    if _unset(config, "xmlpath"):
        config.option.xmlpath = str(run_folder.path / JUNIT)
    if _unset(config, "allure_report_dir"):
        config.option.allure_report_dir = str(run_folder.path / ALLURE)
    # Entry-point name when autoloaded, module name when loaded with `-p` (opscheck run).
    if any(config.pluginmanager.hasplugin(name) for name in ("html", "pytest_html.plugin")):
        from opscheck.reports.html import HtmlColumns

        columns = HtmlColumns(config, lambda: config.stash.get(state.LISTENER, None), lambda: config.stash.get(waivers.WAIVERS, None))
        config.pluginmanager.register(columns, "opscheck-html")
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
