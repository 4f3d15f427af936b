"""Races between probe threads and the pytest thread (issue 13, section 2).

What both sides touch: the process environment (pytest writes PYTEST_CURRENT_TEST
at every phase and deleted it after every test; requests read it for proxies), the
warning filters (pytest saves and restores them per phase; an insecure HTTPS probe
edited them), and a soak of mixed checks run again and again.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import pytest
from _pytest import runner
from http_tls_servers import HttpServer, Pki, TlsServer

from benchmarks import soak
from opscheck import proxyenv, registry
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.plugin import environ


@pytest.fixture
def fast_switching():
    """Let the GIL change hands every microsecond, so a race shows in a few hundred tries."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.fixture
def held():
    """What the plugin does once a run with checks is collected."""
    environ.hold()
    yield
    environ.release()


@pytest.fixture(scope="module")
def web():
    srv = HttpServer()
    yield srv
    srv.close()


def targets(tmp_path: Path, kind: str, section: str, entry: str):
    path = tmp_path / "inventory.yml"
    path.write_text(f"defaults: {{timeout: 5s}}\n{section}:\n" + textwrap.indent(textwrap.dedent(entry).strip(), "  ") + "\n")
    return registry.get(kind).targets(load_inventory(path))


def test_http_probes_meet_no_missing_environment_variable(request, web, tmp_path, fast_switching, held):
    (target,) = targets(tmp_path, "http", "http", f"- {{name: api, url: '{web.url}/health'}}")
    results = []

    def probe_many() -> None:  # ~1,000 probes; without the hold about one in 200 met a missing key
        until = time.monotonic() + 3
        while time.monotonic() < until:
            results.append(evaluate(probe_once(target)))

    prober = threading.Thread(target=probe_many)
    prober.start()
    while prober.is_alive():  # pytest's own update of PYTEST_CURRENT_TEST, phase after phase
        for when in ("setup", "call", "teardown", None):
            runner._update_current_test_var(request.node, when)
    prober.join()
    bad = [r.summary for r in results if r.verdict.value != "OK"]
    assert len(results) > 100 and not bad, bad[:3]  # before: UNKNOWN probe failed: KeyError: 'PYTEST_CURRENT_TEST'


def test_while_held_pytest_replaces_its_variable_instead_of_deleting_it(request, fast_switching, held):
    missing = []
    stop = threading.Event()

    def read_environment() -> None:  # what requests does on every request: look for proxy variables
        while not stop.is_set():
            try:
                urllib.request.getproxies()
            except KeyError as exc:
                missing.append(exc)

    reader = threading.Thread(target=read_environment)
    reader.start()
    try:  # unheld, 2 s of this gave 18 KeyErrors in 6,900 reads
        until = time.monotonic() + 2
        while time.monotonic() < until:
            for when in ("setup", "call", "teardown", None):
                runner._update_current_test_var(request.node, when)
                assert environ.VAR in os.environ
    finally:
        stop.set()
        reader.join()
    assert os.environ[environ.VAR] == ""  # between tests: present, empty
    assert not missing, missing[:1]


def test_the_plugin_loads_the_environment_hold():
    import opscheck.plugin

    assert "opscheck.plugin.environ" in opscheck.plugin.pytest_plugins


def test_release_gives_pytest_its_own_behaviour_back(request):
    environ.hold()
    environ.release()
    runner._update_current_test_var(request.node, "call")
    assert os.environ[environ.VAR].endswith("(call)")
    runner._update_current_test_var(request.node, None)
    assert environ.VAR not in os.environ
    runner._update_current_test_var(request.node, "call")  # as pytest left it for this test


def test_an_insecure_https_probe_leaves_the_warning_filters_alone(tmp_path):
    (tmp_path / "pki").mkdir()
    pki = Pki(tmp_path / "pki")
    server = TlsServer(*pki.leaf("api", days=400))
    try:
        (target,) = targets(tmp_path, "http", "http", f"- {{name: tls, url: 'https://localhost:{server.port}/', insecure: true}}")
        filters = list(warnings.filters)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            probed = []
            thread = threading.Thread(target=lambda: probed.append(evaluate(probe_once(target))))
            thread.start()
            thread.join()
            inside = list(warnings.filters)
        (result,) = probed
    finally:
        server.close()
    assert result.verdict.value == "OK", result.summary
    assert "TLS verification off (insecure: true): weakened check" in result.measurement.notes
    assert warnings.filters == filters
    assert len(inside) == 1 + len(filters)  # only our "always": the probe thread added none
    assert not [w for w in caught if "Unverified HTTPS" in str(w.message)]


def test_proxies_come_from_the_snapshot_and_honour_no_proxy(monkeypatch, web, tmp_path):
    (target,) = targets(tmp_path, "http", "http", f"- {{name: api, url: '{web.url}/health'}}")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    proxyenv.snapshot()
    try:
        assert evaluate(probe_once(target)).verdict.value == "OK"
        monkeypatch.delenv("no_proxy")
        proxyenv.snapshot()
        through_proxy = evaluate(probe_once(target))
        assert through_proxy.verdict.value == "CRIT"
        assert "cannot connect" in through_proxy.summary
    finally:
        monkeypatch.delenv("http_proxy")
        proxyenv.snapshot()
    assert evaluate(probe_once(target)).verdict.value == "OK"


def test_soak_of_mixed_checks_gives_no_spurious_verdict():
    with tempfile.TemporaryDirectory() as tmp:
        per_run, spurious = soak.soak(5, Path(tmp), quiet=True)
    assert per_run >= 80
    assert not spurious, spurious[:5]
