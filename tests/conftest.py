"""Shared harness for the project's own tests.

`suite` runs the real checks/ (copied into a pytester folder) against an
inventory the test writes, and reads back the results.json of the run.
Real services must fail the test when missing, never skip it.
"""

from __future__ import annotations

import json
import shutil
import socket
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def pytest_cmdline_main(config: pytest.Config) -> None:
    """The project's own test session is not an opscheck run, although the project's ini names an
    inventory: it writes no report folder, so it registers no Allure listener of its own.

    allure-commons keeps one process-wide hook registry and one class-level item store, so an
    outer listener also receives the fixture events of every in-process (pytester) run. Since
    pytest 9.1 every fixture carries a finalizer of pytest's own, which allure-pytest wraps
    (allure-framework/allure-python#918), so each inner teardown was closed twice and the
    second close raised KeyError in allure_commons/reporter.py.
    """
    config.option.no_reports = True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: builds a venv or installs packages (runs in CI, never skipped)")

ROOT = Path(__file__).resolve().parent.parent


class Suite:
    """The opscheck suite in a scratch folder: write an inventory, run pytest, read results.json."""

    def __init__(self, pytester: pytest.Pytester):
        self.pytester = pytester
        self.path = pytester.path
        for name in ("checks", "fixtures"):
            shutil.copytree(ROOT / name, self.path / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "conftest.py", self.path / "conftest.py")
        (self.path / "pytest.ini").write_text("[pytest]\ntestpaths = checks\naddopts = --strict-markers -p no:cacheprovider\nstrict_markers = true\n")
        self.inventory = self.path / "inventory.yml"
        self.reports = self.path / "reports"

    def write_inventory(self, text: str) -> Path:
        self.inventory.write_text(textwrap.dedent(text))
        return self.inventory

    def run(self, *args: str, inventory: str | None = None, subprocess: bool = False) -> pytest.RunResult:
        if inventory is not None:
            self.write_inventory(inventory)
        argv = [f"--inventory={self.inventory}", f"--reports-dir={self.reports}", "-p", "no:randomly", *args]
        if subprocess:
            return self.pytester.runpytest_subprocess(*argv)
        return self.pytester.runpytest(*argv)

    def results(self) -> dict:
        return json.loads((self.reports / "latest" / "results.json").read_text())

    def verdicts(self) -> dict[str, str]:
        """test id -> verdict, e.g. {'test_disk_usage[local:/mnt]': 'WARN'}."""
        return {c["id"].split("::", 1)[1]: c["verdict"] for c in self.results()["checks"]}

    def check(self, test_id: str) -> dict:
        for record in self.results()["checks"]:
            if record["id"].endswith("::" + test_id):
                return record
        raise KeyError(f"{test_id} not in results: {sorted(self.verdicts())}")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Suite:
    return Suite(pytester)


def free_port() -> int:
    """A loopback port nobody listens on right now (for servers that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_tcp(host: str, port: int, what: str) -> None:
    """Fail, never skip, when a service the tests need is down: CI must not go green without it."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{what} is not reachable on {host}:{port} ({exc}); start it (see .ci/services)", pytrace=False)


@pytest.fixture(scope="session")
def docker_engine():
    """A private dockerd for the container tests, started once per session; FAILS (never skips) without one."""
    from docker_engine import DockerEngine

    try:
        engine = DockerEngine(tcp_port=free_port())
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, the tests fail rather than skip
        pytest.fail(f"cannot start a Docker Engine for the container tests: {exc}")
    yield engine
    engine.stop()
