"""Waivers: active ones show WAIVED and do not fail the run; expired and stale ones are reported."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET
from datetime import date

import pytest

from opscheck.errors import InventoryError
from opscheck.plugin.waivers import Waiver, load

CHECKS = '''
    import pytest

    from opscheck import Measurement, Threshold, judge

    pytestmark = pytest.mark.daily
    LIMITS = Threshold(warn=80, crit=90, unit="%")


    def test_full():
        judge(Measurement(value=96.0, unit="%", subject="/var", threshold=LIMITS, evidence="df says 96%"))


    def test_unreadable():
        judge(Measurement(error="permission denied reading /var/lib/x"))


    def test_fine():
        judge(Measurement(value=12.0, unit="%", subject="/home", threshold=LIMITS))
'''
INVENTORY = """
    environment: prod
    system: []
"""


@pytest.fixture
def waived_suite(suite):
    for module in (suite.path / "checks").glob("test_*.py"):
        module.unlink()
    (suite.path / "checks" / "test_space.py").write_text(textwrap.dedent(CHECKS))
    suite.write_inventory(INVENTORY)

    def run(waivers: str, *args: str):
        (suite.path / "waivers.yml").write_text(textwrap.dedent(waivers))
        return suite.run("-m", "daily", f"--waivers={suite.path / 'waivers.yml'}", *args)

    suite.run_waived = run
    return suite


def test_active_waivers_show_waived_and_pass_the_run(waived_suite):
    result = waived_suite.run_waived("""
        waivers:
          - id: "checks/test_space.py::test_full"
            justification: "archive volume, growth approved in CHG-77"
            approver: ops-lead@example.com
            expires: 2099-01-31
          - id: "*unreadable"
            justification: "agent lacks CAP_DAC_READ_SEARCH until the upgrade"
            approver: sec@example.com
            expires: 2099-06-30
    """)
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*1 passed, 2 waived*"])
    full = waived_suite.check("test_full")
    assert (full["verdict"], full["value"]) == ("WAIVED", 96.0)
    assert full["summary"] == "CRIT waived (archive volume, growth approved in CHG-77; approved by ops-lead@example.com until 2099-01-31): /var 96% (warn 80%, crit 90%)"
    assert full["evidence"] == "df says 96%"
    assert full["waiver"]["status"] == "active" and full["waiver"]["verdict"] == "CRIT"
    unreadable = waived_suite.check("test_unreadable")
    assert unreadable["verdict"] == "WAIVED" and unreadable["waiver"]["verdict"] == "UNKNOWN"
    assert unreadable["summary"].endswith(": permission denied reading /var/lib/x")
    assert waived_suite.check("test_fine")["verdict"] == "OK"
    run = waived_suite.results()["run"]
    assert run["counts"] == {"OK": 1, "WARN": 0, "CRIT": 0, "UNKNOWN": 0, "WAIVED": 2}
    assert [w["status"] for w in run["waivers"]] == ["active", "active"]
    assert run["waivers_file"]["sha256"] and run["waivers_file"]["path"].endswith("waivers.yml")
    folder = (waived_suite.reports / "latest").resolve()
    cases = {c.get("name"): c for c in ET.parse(folder / "junit.xml").getroot().iter("testcase")}
    assert cases["test_full"].find("skipped").get("message").startswith("WAIVED: CRIT waived (archive volume")
    assert {p.get("name"): p.get("value") for p in cases["test_full"].iter("property")}["verdict"] == "WAIVED"
    prom = (folder / "metrics.prom").read_text()
    assert 'id="checks/test_space.py::test_full",check="",target="",severity="medium"} 4' in prom


def test_expired_waiver_no_longer_applies_and_says_so(waived_suite):
    result = waived_suite.run_waived("""
        waivers:
          - id: "*::test_full"
            justification: "was fine until the migration"
            approver: ops-lead@example.com
            expires: 2020-01-31
    """)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*waiver '[*]::test_full': expired*", "*1 failed, 1 passed, 1 error*"])
    full = waived_suite.check("test_full")
    assert (full["verdict"], full["value"]) == ("CRIT", 96.0)
    assert full["summary"] == "[waiver '*::test_full' expired 2020-01-31] /var 96% (warn 80%, crit 90%)"
    assert full["waiver"]["status"] == "expired"
    assert waived_suite.results()["run"]["waivers"][0]["status"] == "expired"
    html = ((waived_suite.reports / "latest") / "report.html").read_text()
    assert "Waiver *::test_full: expired (expires 2020-01-31)" in html


def test_stale_waiver_is_reported(waived_suite):
    result = waived_suite.run_waived("""
        - id: "checks/test_gone.py::test_removed_long_ago"
          justification: "the check was deleted"
          approver: nobody@example.com
          expires: 2099-01-01
    """)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*waiver 'checks/test_gone.py::test_removed_long_ago': stale*"])
    waiver = waived_suite.results()["run"]["waivers"][0]
    assert (waiver["status"], waiver["matched"], waiver["waived"]) == ("stale", [], [])
    assert waived_suite.check("test_full")["verdict"] == "CRIT"


def test_bad_waiver_file_stops_the_run(waived_suite):
    result = waived_suite.run_waived("""
        waivers:
          - id: "*::test_full"
            approver: someone
            expires: someday
            reason: forgot the key name
    """)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    path = waived_suite.path / "waivers.yml"
    errors = [line.removeprefix("ERROR: ") for line in result.stderr.lines if line.strip()]
    assert errors == [
        f"{path}:3: waivers[0].justification: required",
        f"{path}:5: waivers[0].expires: expected a date like 2026-12-31, found 'someday'",
        f"{path}:6: waivers[0].reason: unknown key (expected one of: id, justification, approver, expires)",
    ]
    assert not waived_suite.reports.exists() or not any(waived_suite.reports.iterdir())


def test_globs_take_brackets_literally_and_match_with_or_without_the_path(tmp_path):
    waiver = Waiver(id="test_disk_usage[app-*:/var]", justification="j", approver="a", expires=date(2099, 1, 1))
    assert waiver.matches("checks/test_system.py::test_disk_usage[app-1:/var]")
    assert not waiver.matches("checks/test_system.py::test_disk_usage[db-1:/var]")
    assert not waiver.matches("checks/test_system.py::test_disk_usage[app-1:/]")
    assert Waiver(id="checks/*::test_*", justification="j", approver="a", expires=date(2099, 1, 1)).matches("checks/test_x.py::test_y[z]")
    assert not waiver.expired(date(2099, 1, 1)) and waiver.expired(date(2099, 1, 2))
    path = tmp_path / "w.yml"
    path.write_text("waivers:\n  - {id: a, justification: ' ', approver: b, expires: 2099-01-01}\n")
    with pytest.raises(InventoryError) as caught:
        load(path)
    assert caught.value.problems == [f"{path}:2: waivers[0].justification: required: a non-empty text"]


def test_waived_results_json_shape_is_plain_data(waived_suite):
    waived_suite.run_waived("""
        waivers:
          - {id: "*test_full", justification: "known", approver: me, expires: 2099-01-01}
    """)
    document = json.loads(((waived_suite.reports / "latest") / "results.json").read_text())
    assert json.loads(json.dumps(document)) == document
