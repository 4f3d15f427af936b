"""The opscheck pytest plugin: registered through the `pytest11` entry point.

Hooks only delegate: settings.py resolves options, collection.py builds items
from the inventory, outcomes.py maps verdicts onto pytest outcomes, and
results.py hands the run to the report writers.
"""

from __future__ import annotations

import gc
import sys

import pytest

from opscheck.errors import InventoryError
from opscheck.plugin import collection, outcomes, packages, settings, state, waivers
from opscheck.plugin.collection import is_check  # noqa: F401 - part of the plugin's API (checks' conftests)
from opscheck.plugin.concurrency import Prefetcher
from opscheck.plugin.concurrency import is_worker as concurrency_is_worker
from opscheck.plugin.results import ResultsListener
from opscheck.plugin.state import LISTENER, PREFETCHER, SETTINGS
from opscheck.verdict import SCHEDULES, SEVERITY_DESCRIPTIONS

# Report-side hooks (run folder at configure, xdist hand-over, redaction): issue 7.
# environ: the process environment held still while probe threads read it (issue 13);
# sharding: --shard I/N splits a fleet by host (issue 20).
pytest_plugins = ["opscheck.plugin.reporting", "opscheck.plugin.environ", "opscheck.plugin.sharding"]


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser):
    # After every plugin and initial conftest has registered its options: see add_short_spellings.
    result = yield
    settings.add_short_spellings(early_config, parser)
    return result


def pytest_configure(config: pytest.Config) -> None:
    if _owns_process(config):
        _fewer_young_collections()  # loading the inventory and collecting benefit too
    for _name, description in {**SCHEDULES, **SEVERITY_DESCRIPTIONS}.items():
        config.addinivalue_line("markers", description)
    resolved = state.settings(config)  # resolved once: reporting's configure may have done it
    from opscheck import measuring
    from opscheck.reports.folder import latest_name

    measuring.previous_results = resolved.reports_dir / latest_name(resolved.suite) / "results.json"
    packages.add_checks(config, resolved.inventory_explicit or resolved.inventory.exists())
    if not hasattr(config, "workerinput"):
        listener = config.stash[LISTENER] = ResultsListener(config, resolved)
        config.pluginmanager.register(listener, "opscheck-results")
    from opscheck.plugin import deadline, grouping

    config.pluginmanager.register(grouping.HostGrouping(), "opscheck-grouping")
    if (run_deadline := deadline.plugin_for(config)) is not None:
        config.pluginmanager.register(run_deadline, "opscheck-deadline")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Load the inventory before anything runs; a bad one stops the run with one line per problem."""
    config = session.config
    resolved = config.stash[SETTINGS]
    if not resolved.inventory_explicit and not resolved.inventory.exists():
        return
    from opscheck.registry import load_inventory

    try:
        inventory = load_inventory(_shown(resolved.inventory))
    except InventoryError as exc:
        raise pytest.UsageError(*exc.problems) from None
    config.stash[collection.INVENTORY] = inventory
    listener = config.stash.get(LISTENER, None)
    if listener is not None:
        listener.use_inventory(inventory)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    collection.generate_tests(metafunc)


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object):
    return collection.without_empty(collector, name, (yield))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(collection.NEEDS_INVENTORY, False) and collection.INVENTORY not in config.stash:
        path = _shown(config.stash[SETTINGS].inventory)
        flag = settings.flag(config, "inventory")
        raise pytest.UsageError(f"{path}: inventory file not found (the checks need one: pass {flag} PATH)")
    collection.modify_items(session, config, items)


def pytest_collection_finish(session: pytest.Session) -> None:
    if _owns_process(session.config):
        _quiet_gc()
    concurrency = session.config.stash[SETTINGS].concurrency
    if concurrency > 1 and session.items:
        prefetcher = session.config.stash[PREFETCHER] = Prefetcher(concurrency)
        if concurrency_is_worker(session.config):
            prefetcher.items = session.items  # started per queued batch, see pytest_runtest_protocol
        else:
            prefetcher.start(session.items)


# Young collections between checks (at 3.11's default of 700 allocations) walked every
# object alive since start-up: ~11% of a run's CPU (benchmarks/vs_plugins.py, README Speed).
GC_YOUNG_THRESHOLD = 20_000


def _quiet_gc() -> None:
    """Move what imports and collection built (modules, models, items) out of the collector's
    sight, since it lives to the end of the run anyway, and collect young objects less often.
    Cycles made by checks are still collected (generations 0-2 work as before on new objects)."""
    gc.collect()
    gc.freeze()
    _fewer_young_collections()


def _owns_process(config: pytest.Config) -> bool:
    """The collector's settings are the process's: tuned only when this session is the process's own
    pytest run (`pytest ...`, `python -m pytest ...`, `opscheck run`), not a pytester run inside
    another test session, whose objects would then never be collected."""
    return tuple(config.invocation_params.args) == tuple(sys.argv[1:])


def _fewer_young_collections() -> None:
    young, *older = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), *older)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem) -> None:
    prefetcher = item.config.stash.get(PREFETCHER, None)
    if prefetcher is not None and concurrency_is_worker(item.config):
        prefetcher.top_up(item.config)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_setup(item: pytest.Item):
    result = yield
    if is_check(item):
        outcomes.setup_measurements(item)
    return result


def pytest_runtest_teardown(item: pytest.Item) -> None:
    outcomes.teardown(item)


def pytest_unconfigure(config: pytest.Config) -> None:
    # In-process runs (pytester) reuse this module: measurements must not leak into the next run.
    from opscheck.measuring import forget

    forget()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if is_check(item):
        outcomes.make_report(item, call, report)
    return report


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    return outcomes.report_status(report) or waivers.report_status(report)


def _shown(path):
    """The path as the user would write it: relative to the working directory when inside it."""
    from pathlib import Path

    try:
        return Path(path).relative_to(Path.cwd())
    except ValueError:
        return path
