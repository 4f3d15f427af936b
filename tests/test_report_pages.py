"""report.html and index.html as a person sees them, in headless Chromium.

A small suite (the real disk check with control metadata, plus checks giving
each verdict, long evidence, a disk alarm found on the way to a latency, a
count that must be at least 1) runs twice, so the second report has a history
and a previous run. Each page is opened in Chromium through a test-only copy
with a probe script appended: the page itself carries no test code. The probe
reads what is laid out (visible rows, their order on screen, the page's width
at a 1400 px window), clicks the OK filter as a person would, and writes its
findings into the DOM, which `--dump-dom` hands back.

Set OPSCHECK_SCREENSHOTS=DIR to also write DIR/report.png and DIR/index.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from opscheck.reports import evidence_html, words

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1400

INVENTORY = """
    environment: staging
    system:
      - disk: {mount: /, warn: 99.8%, crit: 99.9%}
        title: Root file system has room
        description: Logs and spool must be able to grow; a full / stops the services.
        tags: {cis: 1.1.2, soc2: CC7.2}
        runbook: https://wiki.example/disk
"""

CHECKS = '''
    """Checks for the page tests: every verdict, long evidence, a disk alarm, a count."""
    import pytest

    from opscheck import Measurement, Threshold, judge
    from opscheck.threshold import Direction

    pytestmark = pytest.mark.daily
    LIMITS = Threshold(warn=80, crit=90, unit="%")
    TAIL = "\\n".join(f"INSERT INTO trades VALUES ({i}, 'row {i}');" for i in range(40))
    LONG = "x" * 900


    @pytest.mark.parametrize("n", range(12))
    def test_fine(n):
        judge(Measurement(value=10.0 + n, unit="%", subject=f"/fine{n}", threshold=LIMITS, evidence={"mount": f"/fine{n}"}))


    def test_warn():
        judge(Measurement(value=85.5, unit="%", subject="/warn", threshold=LIMITS, evidence={"rows": [1, 2]}))


    def test_backup_count():
        judge(Measurement(value=0, unit="backups", subject="db dumps",
                          threshold=Threshold(crit=1, direction=Direction.BELOW, unit="backups"),
                          evidence={"path": "/var/backups", "tail": TAIL, "unbroken": LONG}))


    def test_broker_alarm():
        judge(Measurement(value=0.032, unit="s", subject="RabbitMQ 3.12 at localhost:5672",
                          problems=("disk alarm on rabbit@db: 1 GiB free, limit 909.5 TiB (publishers are blocked)",),
                          evidence={"nodes": [{"name": "rabbit@db", "disk_free_alarm": True,
                                               "disk_free": 1073741824, "disk_free_limit": 1000000000000000}]}))


    def test_unknown():
        judge(Measurement(error="permission denied reading /proc/secret"))
'''


def run_suite(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["python", "-m", "pytest", "-m", "daily", "-p", "no:randomly", "--inventory=inventory.yml", "--reports-dir=reports"],
        cwd=path, capture_output=True, text=True, timeout=240,
    )


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pages")
    for name in ("checks", "fixtures"):
        shutil.copytree(ROOT / name, path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "conftest.py", path / "conftest.py")
    (path / "pytest.ini").write_text("[pytest]\ntestpaths = checks\naddopts = --strict-markers -p no:cacheprovider\n")
    for module in (path / "checks").glob("test_*.py"):
        if module.name != "test_system.py":
            module.unlink()
    (path / "checks" / "test_pages.py").write_text(textwrap.dedent(CHECKS))
    (path / "inventory.yml").write_text(textwrap.dedent(INVENTORY))
    for _ in range(2):
        done = run_suite(path)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    return path / "reports"


PROBE = """
<script>
window.addEventListener('load', function () {
  function shown(el) { return el.getClientRects().length > 0; }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll('#checks tbody.check')).filter(shown)
      .sort(function (a, b) { return a.getBoundingClientRect().top - b.getBoundingClientRect().top; })
      .map(function (t) { return t.getAttribute('data-verdict'); });
  }
  var out = {};
  var state = document.getElementById('state');
  out.state = state ? state.innerText.trim() : null;
  out.stateTop = state ? state.getBoundingClientRect().top : null;
  var problems = document.querySelectorAll('#problems li');
  out.problems = Array.prototype.map.call(problems, function (li) { return li.innerText.trim(); });
  out.rowsBefore = rows();
  out.pageWidth = document.documentElement.scrollWidth;
  out.viewport = window.innerWidth;
  var wide = [];
  document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && shown(el)) { wide.push(el.tagName + '.' + el.className); }
  });
  out.wide = wide.slice(0, 10);
  var ok = document.querySelector('[data-filter-verdict=OK]');
  if (ok) { ok.click(); out.rowsAfterHidingOk = rows(); }
  out.runs = Array.prototype.map.call(document.querySelectorAll('#runs tbody tr'), function (tr) {
    return {suite: tr.getAttribute('data-suite'), state: tr.getAttribute('data-state'), text: tr.innerText};
  });
  out.trends = document.querySelectorAll('#trends svg rect').length;
  var pre = document.createElement('pre');
  pre.id = 'probe-result';
  pre.style.whiteSpace = 'pre-wrap';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is not installed (Debian package chromium, .ci/apt/reports.txt)", pytrace=False)
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
        "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={WIDTH},900", *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def seen(page: Path, tmp_path: Path) -> dict:
    """What the probe saw in `page`, opened through a test-only copy beside it (same relative links)."""
    wrapper = page.with_name(f".probe-{page.name}")
    wrapper.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    try:
        done = chromium(tmp_path, "--virtual-time-budget=5000", "--dump-dom", wrapper.as_uri())
    finally:
        wrapper.unlink()
    match = re.search(r'<pre id="probe-result"[^>]*>(.*?)</pre>', done.stdout, re.S)
    assert match, done.stderr[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def screenshots(page: Path, tmp_path: Path, name: str) -> None:
    where = os.environ.get("OPSCHECK_SCREENSHOTS")
    if not where:
        return
    out = Path(where).resolve()
    out.mkdir(parents=True, exist_ok=True)
    chromium(tmp_path, "--virtual-time-budget=3000", f"--screenshot={out / name}", page.as_uri())
    assert (out / name).stat().st_size > 0


def test_report_page_as_seen(reports, tmp_path):
    page = (reports / "latest" / "report.html").resolve()
    view = seen(page, tmp_path)
    assert view["state"] == "CRIT"
    assert view["stateTop"] < 120  # the headline opens the page
    # The non-OK checks, worst first, with their summaries.
    assert [p.split()[0] for p in view["problems"]] == ["CRIT", "CRIT", "UNKNOWN", "WARN"]
    assert any("disk alarm on rabbit@db" in p for p in view["problems"])
    assert any("permission denied reading /proc/secret" in p for p in view["problems"])
    # On screen the first non-OK row sits above every OK row.
    rows = view["rowsBefore"]
    assert rows[:4] == ["CRIT", "CRIT", "UNKNOWN", "WARN"] and set(rows[4:]) == {"OK"} and len(rows) == 17
    assert view["rowsAfterHidingOk"] == ["CRIT", "CRIT", "UNKNOWN", "WARN"]
    # Long evidence (40 lines of SQL, a 900-character word) wraps: nothing is wider than the window.
    assert view["viewport"] == WIDTH
    assert view["pageWidth"] <= WIDTH and view["wide"] == [], view
    screenshots(page, tmp_path, "report.png")


def test_index_page_as_seen(reports, tmp_path):
    page = reports / "index.html"
    view = seen(page, tmp_path)
    assert [r["suite"] for r in view["runs"]] == ["daily", "daily"]
    assert [r["state"] for r in view["runs"]] == ["CRIT", "CRIT"]
    newest, oldest = (r["text"] for r in view["runs"])
    assert "sealed, chain ok" in newest and "sealed, first of the chain" in oldest
    assert "2 CRIT" in newest and "1 UNKNOWN" in newest and "1 WARN" in newest and "13 OK" in newest
    assert view["trends"] == 2 * 4  # two runs, four verdicts with a count each
    assert view["pageWidth"] <= WIDTH and view["wide"] == [], view
    screenshots(page, tmp_path, "index.png")


def test_report_reads_without_help(reports):
    html = (reports / "latest" / "report.html").read_text()
    row = lambda name: html.split(f"::{name}</div>")[0].rsplit("<tbody", 1)[1] + html.split(f"::{name}</div>")[1].split("</tbody>")[0]  # noqa: E731
    backup = row("test_backup_count")
    assert ">at least 1 backup<" in backup and ">0 backups<" in backup
    broker = row("test_broker_alarm")
    # The value is the alarm the verdict is about, not the 32 ms the probe also read.
    assert '<td class="c-value">disk alarm on rabbit@db' in broker and ">32ms<" not in broker
    assert "909.5 TiB <span class='raw'>(1,000,000,000,000,000 B)</span>" in broker
    assert "<pre class='lines'>INSERT INTO trades VALUES (0, &#x27;row 0&#x27;);\nINSERT" in backup
    unknown = row("test_unknown")
    assert "checks/test_pages.py::test_unknown</div>" in html and "::setup" not in html
    assert "permission denied" in unknown
    assert "No log output captured" not in html and html.count("test_broker_alarm</div>") == 1
    disk = row("test_disk_usage[local:/]")
    assert "Root file system has room" in disk and 'data-tags="cis:1.1.2 soc2:CC7.2"' in disk
    assert '<option value="cis:1.1.2">' in html
    # Probe time, not judging time: the disk probe's duration is what results.json says it measured.
    assert re.search(r'<td class="c-dur">\d+ ms</td>', disk)
    # History: the earlier run's verdict, then this one's; a link to the previous run of the suite.
    assert disk.count('class="tick"') == 2 and 'id="previous-run"' in html
    for reproduce in ("Inventory sha256", "opscheck", "Python", "pytest", "Plugins", "pytest-timeout", "allure-pytest"):
        assert f"<th>{reproduce}</th>" in html or reproduce in html.split('id="environment"')[1]


def test_threshold_and_value_words():
    assert words.threshold_words(None, 1, "below", "backups") == "at least 1 backup"
    assert words.threshold_words(None, 1, "below", "B") == "at least 1 B"
    assert words.threshold_words(80, 90, "above", "%") == "at most 80%; crit over 90%"
    assert words.threshold_words(30, 7, "below", "days") == "at least 30 days; crit under 7 days"
    assert words.threshold_words(0.2, None, "above", "s") == "at most 200ms (else WARN)"
    assert words.quantity(1536, "B") == "1.5 KiB" and words.quantity(3, "messages") == "3 messages"
    record = {"verdict": "CRIT", "value": 0.032, "unit": "s", "problems": ["disk alarm", "memory alarm"]}
    assert words.record_value(record) == "disk alarm (+1 more)"
    assert words.record_value({**record, "verdict": "OK", "problems": []}) == "32ms"


def test_evidence_reads_as_text():
    html = evidence_html.render({"disk_free_limit": 1000000000000000, "uptime_s": 93784, "sql": "a\nb", "rows": [{"a": 1}, {"a": 2, "b": "x"}]})
    assert "<th>disk_free_limit</th><td>909.5 TiB" in html and "1d 2h <span class='raw'>(93,784 s)" in html
    assert "<pre class='lines'>a\nb</pre>" in html
    assert "<table class='rows'><thead><tr><th>a</th><th>b</th></tr></thead>" in html


def test_control_metadata_reaches_results_junit_and_allure(reports):
    import xml.etree.ElementTree as ET

    folder = (reports / "latest").resolve()
    disk = next(c for c in json.loads((folder / "results.json").read_text())["checks"] if "test_disk_usage" in c["id"])
    assert (disk["title"], disk["tags"]) == ("Root file system has room", {"cis": "1.1.2", "soc2": "CC7.2"})
    assert disk["description"].startswith("Logs and spool must be able to grow")
    case = next(c for c in ET.parse(folder / "junit.xml").getroot().iter("testcase") if "test_disk_usage" in c.get("name"))
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["title"] == "Root file system has room" and properties["tag.cis"] == "1.1.2"
    results = [json.loads(p.read_text()) for p in (folder / "allure-results").glob("*-result.json")]
    allure = next(r for r in results if "test_disk_usage" in r.get("fullName", "") + r.get("name", ""))
    assert {"name": "tag", "value": "soc2:CC7.2"} in allure["labels"]
    assert "Control: Root file system has room: Logs and spool" in allure["description"]
