"""Kinds from other packages: install examples/kind-package offline and run its check.

The package adds a section (`file_handles:`), a kind and a check through the
`opscheck.kinds` entry point only; its check must run with a verdict and appear
in every report like a built-in one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "kind-package"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The example package pip-installed into a folder of its own (no index, no network)."""
    work = tmp_path_factory.mktemp("kind-package")
    source = work / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )
    assert (target / "opscheck_file_handles" / "checks" / "test_file_handles.py").exists()
    return target


@pytest.fixture
def with_package(installed, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", f"{installed}:{ROOT / 'src'}")
    return installed


def test_installed_kind_runs_and_is_in_every_report(suite, with_package):
    result = suite.run("-m", "daily", subprocess=True, inventory="""
        file_handles:
          - {name: busy, handles: {warn: 0, crit: 1}}
        system:
          - memory: {warn: 100, crit: 100}
    """)
    result.stdout.fnmatch_lines(["*CRIT: file handles * open (warn 0, crit 1)*"])
    record = suite.check("test_file_handles[local:busy]")  # host:name, the entry's name in the id
    assert (record["verdict"], record["check"], record["unit"], record["crit"]) == ("CRIT", "open file handles", "", 1)
    assert record["value"] > 1 and record["evidence"]["max"] > 0
    assert suite.check("test_memory_usage[local]")["verdict"] == "OK"  # the built-in kinds still run alongside

    folder = (suite.reports / "latest").resolve()
    junit = ET.parse(folder / "junit.xml").getroot()
    case = next(c for c in junit.iter("testcase") if c.get("name") == "test_file_handles[local:busy]")
    assert case.find("failure") is not None
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["verdict"] == "CRIT"
    html = (folder / "report.html").read_text()
    assert "test_file_handles[local:busy]" in html and "open file handles" in html
    allure = [json.loads(p.read_text()) for p in (folder / "allure-results").glob("*-result.json")]
    handles = [r for r in allure if r["name"].startswith("test_file_handles")]
    assert len(handles) == 1 and handles[0]["status"] == "failed"
    assert handles[0]["statusDetails"]["message"].startswith("CRIT: file handles ")


def test_installed_kind_ok_verdict_and_its_own_tests(suite, with_package):
    suite.run("-m", "daily", subprocess=True, inventory="""
        file_handles:
          - handles: {warn: 100000000, crit: 200000000}
    """)
    assert suite.verdicts() == {"test_file_handles[local]": "OK"}
    # The package's own test, against this machine.
    own = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE / "tests")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": f"{with_package}:{ROOT / 'src'}"},
                         cwd=EXAMPLE)
    assert own.returncode == 0, own.stdout + own.stderr


def test_section_is_unknown_without_the_package(suite):
    result = suite.run("-m", "daily", subprocess=True, inventory="file_handles:\n  - {}\n")
    result.stderr.fnmatch_lines(["*file_handles: unknown key*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
