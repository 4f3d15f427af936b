"""Reports end to end: one run writes every format, consistently, under xdist, without a secret.

The run uses the real system check plus a small check module written into the
suite that produces each verdict (OK, WARN, CRIT, UNKNOWN, and a CRIT that a
waiver turns into WAIVED) and plants secrets in evidence and assertion messages.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from opscheck.reports.junit import junit_key

ROOT = Path(__file__).resolve().parent.parent

PLANTED = {
    "dsn password": "PgPl4ntedPw9",
    "header token": "HdrPl4ntedTok7",
    "env value": "EnvPl4ntedValue5",
    "host password": "HostPl4ntedPw3",
    "runbook token": "WikiPl4ntedTok1",
}

INVENTORY = f"""
    environment: staging
    hosts:
      app: ["local://"]
      db: ["ssh://deploy@db-1.internal"]  # a password here is refused at load (issue 14): planted in evidence
    system:
      - on: app
        disk: {{mount: /, warn: 99.8%, crit: 99.9%}}
        runbook: "https://wiki.example/disk?token={PLANTED['runbook token']}"
"""

VERDICT_CHECKS = f'''
    """Checks that give every verdict, for the report tests."""
    import pytest

    from opscheck import Measurement, Threshold, judge
    from opscheck.inventory.types import resolve_secret

    pytestmark = pytest.mark.daily
    TOKEN = resolve_secret("env:OPSCHECK_PLANTED_ENV")
    LIMITS = Threshold(warn=80, crit=90, unit="%")


    def test_ok():
        judge(Measurement(value=10.0, unit="%", subject="/ok", threshold=LIMITS, evidence="all fine"))


    def test_warn():
        judge(Measurement(value=85.5, unit="%", subject="/warn", threshold=LIMITS, evidence={{"rows": [1, 2]}}))


    def test_crit():
        evidence = (
            "dsn postgresql://app:{PLANTED['dsn password']}@db/x\\n"
            "host ssh://deploy:{PLANTED['host password']}@db-1.internal\\n"
            "Authorization: Bearer {PLANTED['header token']}\\n"
            f"env {{TOKEN.reveal()}}"
        )
        judge(Measurement(value=95.5, unit="%", subject="/crit", threshold=LIMITS, evidence=evidence))


    def test_unknown():
        judge(Measurement(error="permission denied reading /proc/planted"))


    def test_waived():
        judge(Measurement(value=97.0, unit="%", subject="/waived", threshold=LIMITS))


    def test_plain_assert():
        print("connecting with Authorization: Bearer {PLANTED['header token']}")
        dsn = f"postgresql://app:{PLANTED['dsn password']}@db/x?{{TOKEN.reveal()}}"
        assert dsn == "", f"cannot reach {{dsn}}"
'''

WAIVERS = """
    waivers:
      - id: "*::test_waived"
        justification: "disk replaced in CHG-1234"
        approver: jane@example.com
        expires: 2099-12-31
"""

EXPECTED = {
    "checks/test_system.py::test_disk_usage[local:/]": "OK",
    "checks/test_verdicts.py::test_ok": "OK",
    "checks/test_verdicts.py::test_warn": "WARN",
    "checks/test_verdicts.py::test_crit": "CRIT",
    "checks/test_verdicts.py::test_unknown": "UNKNOWN",
    "checks/test_verdicts.py::test_waived": "WAIVED",
    "checks/test_verdicts.py::test_plain_assert": "CRIT",
}
COUNTS = {"OK": 2, "WARN": 1, "CRIT": 2, "UNKNOWN": 1, "WAIVED": 1}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """One `-n 2` run shared by the format tests (a pytester per test would repeat it)."""
    pytester_path = tmp_path_factory.mktemp("suite")
    for name in ("checks", "fixtures"):
        shutil.copytree(ROOT / name, pytester_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "conftest.py", pytester_path / "conftest.py")
    (pytester_path / "pytest.ini").write_text("[pytest]\ntestpaths = checks\naddopts = --strict-markers -p no:cacheprovider\n")
    for module in (pytester_path / "checks").glob("test_*.py"):
        if module.name != "test_system.py":
            module.unlink()
    (pytester_path / "checks" / "test_verdicts.py").write_text(textwrap.dedent(VERDICT_CHECKS))
    (pytester_path / "waivers.yml").write_text(textwrap.dedent(WAIVERS))
    (pytester_path / "inventory.yml").write_text(textwrap.dedent(INVENTORY))
    env = {**os.environ, "OPSCHECK_PLANTED_ENV": PLANTED["env value"]}
    done = subprocess.run(
        ["python", "-m", "pytest", "-m", "daily", "-n", "2", "-p", "no:randomly", "--inventory=inventory.yml",
         "--reports-dir=reports", "--waivers=waivers.yml"],
        cwd=pytester_path, env=env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"2 failed, 2 passed, .*1 error, 1 warned, 1 waived", done.stdout), done.stdout[-1500:]
    for secret in PLANTED.values():
        assert secret not in done.stdout + done.stderr
    return (pytester_path / "reports" / "latest").resolve()


def test_every_format_is_written(run_folder):
    names = {p.name for p in run_folder.iterdir()}
    assert names == {"report.html", "allure-results", "junit.xml", "results.json", "metrics.prom", "manifest.json"}
    allure = {p.name for p in (run_folder / "allure-results").iterdir()}
    assert {"environment.properties", "executor.json", "categories.json"} <= allure
    assert len([n for n in allure if n.endswith("-result.json")]) == len(EXPECTED)


def test_results_json_has_every_verdict(run_folder):
    document = json.loads((run_folder / "results.json").read_text())
    assert {c["id"]: c["verdict"] for c in document["checks"]} == EXPECTED
    assert document["run"]["counts"] == COUNTS
    waived = next(c for c in document["checks"] if c["verdict"] == "WAIVED")
    assert waived["value"] == 97.0
    assert waived["waiver"] == {"id": "*::test_waived", "justification": "disk replaced in CHG-1234", "approver": "jane@example.com", "expires": "2099-12-31", "status": "active", "verdict": "CRIT"}
    assert waived["summary"].startswith("CRIT waived (disk replaced in CHG-1234; approved by jane@example.com until 2099-12-31): /waived 97%")
    assert document["run"]["waivers"][0]["status"] == "active"


def test_junit_agrees(run_folder):
    records = json.loads((run_folder / "results.json").read_text())["checks"]
    root = ET.parse(run_folder / "junit.xml").getroot()
    cases = {(c.get("classname"), c.get("name")): c for c in root.iter("testcase")}
    assert len(cases) == len(EXPECTED)
    for record in records:
        case = cases[junit_key(record["id"])]
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["verdict"] == record["verdict"]
        assert properties["summary"] == record["summary"]
        if isinstance(record["value"], float):
            assert float(properties["value"]) == record["value"]
        outcome = {c.tag for c in case} - {"properties", "system-out", "system-err"}
        expected = {"OK": set(), "WARN": set(), "CRIT": {"failure"}, "UNKNOWN": {"failure"}, "WAIVED": {"skipped"}}[record["verdict"]]
        assert outcome == expected, (record["id"], outcome)
    warn = cases[junit_key("checks/test_verdicts.py::test_warn")]
    assert warn.find("system-out").text.startswith("WARN: /warn 85.5% (warn 80%, crit 90%)")
    assert "WAIVED: CRIT waived" in cases[junit_key("checks/test_verdicts.py::test_waived")].find("skipped").get("message")


def test_metrics_prom_agrees(run_folder):
    text = (run_folder / "metrics.prom").read_text()
    codes = {"OK": 0, "WARN": 1, "CRIT": 2, "UNKNOWN": 3, "WAIVED": 4}
    for check_id, verdict in EXPECTED.items():
        line = next(ln for ln in text.splitlines() if ln.startswith("opscheck_check_state{") and f'id="{check_id}"' in ln)
        assert "verdict=" not in line and line.endswith(f" {codes[verdict]}")
    assert re.search(r'^opscheck_check_value_ratio\{.*id="checks/test_verdicts.py::test_warn".*\} 0.855$', text, re.M)
    for verdict, count in COUNTS.items():
        assert re.search(rf'^opscheck_run_checks\{{.*verdict="{verdict}"\}} {count}$', text, re.M)
    assert re.search(r"^opscheck_run_timestamp_seconds\{.*\} \d{10}", text, re.M)
    assert "# TYPE opscheck_run_duration_seconds gauge" in text
    # The textfile collector rejects sample timestamps: every sample line is `name{labels} value`.
    for line in text.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r'[a-z_]+\{.*\} (-?[0-9.e+]+|[+-]Inf|NaN)', line), line
    assert not list(run_folder.glob(".*tmp*"))
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus, .ci/apt/reports.txt)", pytrace=False)
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_allure_results_agree(run_folder):
    results = [json.loads(p.read_text()) for p in (run_folder / "allure-results").glob("*-result.json")]
    by_id = {next(lb["value"] for lb in r["labels"] if lb["name"] == "opscheck_id"): r for r in results}
    status = {"OK": "passed", "WARN": "broken", "CRIT": "failed", "UNKNOWN": "unknown", "WAIVED": "skipped"}
    for check_id, verdict in EXPECTED.items():
        result = by_id[check_id]
        labels = {(lb["name"], lb["value"]) for lb in result["labels"]}
        assert result["status"] == status[verdict], check_id
        assert ("tag", verdict) in labels and ("epic", "staging") in labels and ("parentSuite", "daily") in labels
    disk = by_id["checks/test_system.py::test_disk_usage[local:/]"]
    labels = dict((lb["name"], lb["value"]) for lb in disk["labels"] if lb["name"] != "tag")
    assert labels["severity"] == "critical"  # high -> critical
    assert labels["feature"] == "system" and labels["story"] == "disk usage"
    assert {"name": "disk", "value": "local:/"} in disk["parameters"]
    assert disk["links"] == [{"type": "link", "name": "runbook", "url": "https://wiki.example/disk?token=***"}]
    crit = by_id["checks/test_verdicts.py::test_crit"]
    assert crit["statusDetails"]["message"] == "CRIT: /crit 95.5% (warn 80%, crit 90%)"
    evidence = next(a for a in crit["attachments"] if a["name"] == "evidence")
    text = (run_folder / "allure-results" / evidence["source"]).read_text()
    assert text == "dsn postgresql://app:***@db/x\nhost ssh://deploy:***@db-1.internal\nAuthorization: ***\nenv ***"
    warn = by_id["checks/test_verdicts.py::test_warn"]
    assert warn["statusDetails"]["message"] == "WARN: /warn 85.5% (warn 80%, crit 90%)"
    assert warn["description"] == "WARN: /warn 85.5% (warn 80%, crit 90%)\n\nValue: 85.5%\nExpected: at most 80%; crit over 90%"
    assert "<th align='left'>Expected</th><td>at most 80%; crit over 90%</td>" in warn["descriptionHtml"]
    assert "severity" not in warn["description"].lower()  # one severity: Allure's label
    # The probe's duration, not pytest's judging time.
    records = {c["id"]: c for c in json.loads((run_folder / "results.json").read_text())["checks"]}
    assert disk["stop"] - disk["start"] == round(records["checks/test_system.py::test_disk_usage[local:/]"]["duration_s"] * 1000)
    categories = json.loads((run_folder / "allure-results" / "categories.json").read_text())
    assert {"Timeouts", "Connection refused"} <= {c["name"] for c in categories}
    environment = (run_folder / "allure-results" / "environment.properties").read_text()
    assert "environment=staging\n" in environment and "suite=daily\n" in environment


def test_no_planted_secret_in_any_file(run_folder):
    hits = []
    for path in sorted(p for p in run_folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        hits += [f"{path.relative_to(run_folder)}: {name}" for name, secret in PLANTED.items() if secret.encode() in data]
        hits += [f"{path.relative_to(run_folder)}: fragment" for m in re.finditer(rb"[A-Za-z]*Pl4nted[A-Za-z0-9]*", data)]
    assert hits == []
    # ... and the checks did carry them: the masks are where the secrets were.
    crit = next(c for c in json.loads((run_folder / "results.json").read_text())["checks"] if c["id"].endswith("test_crit"))
    assert crit["evidence"] == "dsn postgresql://app:***@db/x\nhost ssh://deploy:***@db-1.internal\nAuthorization: ***\nenv ***"


def test_html_report_in_headless_chromium(run_folder, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (Debian package chromium, .ci/apt/reports.txt)", pytrace=False)
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
        (run_folder / "report.html").as_uri(),
    ]
    dom = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    assert '<h1 id="title">opscheck daily on staging, ' in dom
    counts = dict((v, int(n)) for n, v in re.findall(r'data-verdict="[A-Z]+"[^>]*>(\d+) ([A-Z]+)</span>', dom))
    assert counts == COUNTS
    states = re.findall(r'<td class="c-state"><span class="badge" data-verdict="([A-Z]+)"', dom)
    assert sorted(states) == sorted(EXPECTED.values())
    # A failing row with its evidence inline (not a data: link), masked.
    row = next(chunk for chunk in dom.split('<tbody class="check"')[1:] if "test_verdicts.py::test_crit<" in chunk)
    assert 'data-verdict="CRIT"' in row and ">95.5%<" in row and ">at most 80%; crit over 90%<" in row
    assert "dsn postgresql://app:***@db/x" in row and "data:" not in row
    assert "Inventory sha256" in dom


def test_allure_cli_generates_the_run(run_folder, tmp_path):
    if shutil.which("allure") is None:
        pytest.fail("the Allure CLI is not installed (.ci/setup.d/allure.sh: npm install -g allure-commandline)", pytrace=False)
    output = tmp_path / "allure.html"
    done = subprocess.run(["opscheck", "report", "allure", str(run_folder), "-o", str(output)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    html = output.read_text()

    def embedded(name: str):
        match = re.search(rf"d\('{re.escape(name)}','([^']*)'\)", html)
        return json.loads(base64.b64decode(match.group(1)))

    summary = embedded("widgets/summary.json")
    assert summary["reportName"] == f"opscheck {run_folder.name}"
    assert summary["statistic"] == {"failed": 2, "broken": 1, "skipped": 1, "passed": 2, "unknown": 1, "total": 7}
    severities = {(t["name"], t["severity"]) for t in embedded("widgets/severity.json")}
    assert ("test_disk_usage[local:/]", "critical") in severities


def test_plain_test_runs_leave_no_report_folder(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("-p", "no:randomly", "--reports-dir=reports")
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "reports").exists()


def test_allure_history_carries_the_trend_across_runs(run_folder, tmp_path):
    """A second run carries the first in allure-results/history; the generated report shows both."""
    suite = run_folder.parent.parent
    env = {**os.environ, "OPSCHECK_PLANTED_ENV": PLANTED["env value"]}
    done = subprocess.run(
        ["python", "-m", "pytest", "-m", "daily", "-p", "no:randomly", "--inventory=inventory.yml", "--reports-dir=reports", "--waivers=waivers.yml"],
        cwd=suite, env=env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 1, done.stdout[-2000:]
    second = (suite / "reports" / "latest").resolve()
    assert second != run_folder
    history = second / "allure-results" / "history"
    trend = json.loads((history / "history-trend.json").read_text())
    assert trend == [{"buildOrder": 1, "reportName": run_folder.name, "reportUrl": "", "data": {"failed": 2, "broken": 1, "skipped": 1, "passed": 2, "unknown": 1, "total": 7}}]
    per_test = json.loads((history / "history.json").read_text())
    assert len(per_test) == len(EXPECTED) and all(len(entry["items"]) == 1 for entry in per_test.values())
    assert json.loads((second / "allure-results" / "executor.json").read_text())["buildOrder"] == 2
    if shutil.which("allure") is None:
        pytest.fail("the Allure CLI is not installed (.ci/setup.d/allure.sh)", pytrace=False)
    done = subprocess.run(["allure", "generate", str(second / "allure-results"), "-o", str(tmp_path / "report"), "--clean"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    widget = json.loads((tmp_path / "report" / "widgets" / "history-trend.json").read_text())
    assert [entry.get("buildOrder") for entry in widget] == [2, 1]
    assert [entry["data"]["total"] for entry in widget] == [7, 7]


def test_allure_parameters_mask_secrets():
    from opscheck.redact import register_secret
    from opscheck.reports.allure import _parameters

    register_secret("ParamPl4ntedSecret")
    record = {"target": "db-1:5432", "host": "db-1"}
    parameters = [
        {"name": "postgres", "value": "<Target postgres db-1:5432>"},
        {"name": "dsn", "value": "postgresql://app@db-1/app"},
        {"name": "note", "value": "uses ParamPl4ntedSecret"},
    ]
    assert _parameters(parameters, record) == [
        {"name": "postgres", "value": "db-1:5432"},
        {"name": "dsn", "value": "***", "mode": "masked"},
        {"name": "note", "value": "***", "mode": "masked"},
        {"name": "target", "value": "db-1:5432"},
        {"name": "host", "value": "db-1"},
    ]


def test_a_run_stopped_by_a_bad_inventory_leaves_no_report_folder(suite):
    result = suite.run("-m", "daily", inventory="system:\n  - disk: {mount: /, warn: 95%, crit: 90%}\n")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert not suite.reports.exists()


def test_report_allure_without_the_cli_says_how_to_install(run_folder, capsys):
    from opscheck.cli import main as cli

    assert cli(["report", "allure", str(run_folder), "--allure", "/nonexistent/allure"]) == 3
    assert "npm install -g allure-commandline" in capsys.readouterr().err
    assert cli(["report", "allure", str(run_folder.parent)]) == 3
    assert "no Allure results" in capsys.readouterr().err


ALLURE3 = os.environ.get("OPSCHECK_ALLURE3", "/opt/allure3/node_modules/.bin/allure")


def test_allure3_renders_the_run_and_keeps_the_suite_history(run_folder, tmp_path):
    if not Path(ALLURE3).exists():
        pytest.fail(f"Allure 3 is not installed at {ALLURE3} (.ci/setup.d/allure3.sh: npm install --prefix /opt/allure3 allure@3)", pytrace=False)
    from opscheck.cli.report import allure_major

    assert allure_major(ALLURE3) == 3
    history = run_folder.parent / "allure" / "history-daily.jsonl"
    before = len(history.read_text().splitlines()) if history.exists() else 0
    output = tmp_path / "allure3.html"
    done = subprocess.run(["opscheck", "report", "allure", str(run_folder), "-o", str(output), "--allure", ALLURE3], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert output.stat().st_size > 100_000 and "<html" in output.read_text()[:2000].lower()
    lines = history.read_text().splitlines()
    assert len(lines) == before + 1
    entry = json.loads(lines[-1])
    assert entry["name"] == f"opscheck {run_folder.name}"
    statuses = sorted(t["status"] for t in entry["testResults"].values())
    assert statuses == sorted(["passed", "passed", "broken", "failed", "failed", "unknown", "skipped"])
    assert not (run_folder / "allure").exists()  # the sealed run folder is untouched
