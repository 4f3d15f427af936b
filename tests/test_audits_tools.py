"""Dependency audits with the real npm and pip-audit on this host.

npm audits a lockfile pinning lodash 4.17.20 and minimist 1.2.5 against a local
registry that answers npm's bulk advisory request (see tests/data/audits/README.md:
the public one refuses that request from here). pip-audit cannot reach its data
here, so the real pip-audit is run for what it does here (skips, a missing tool,
an unreachable service) and its parser is tested on its documented format.
"""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import free_port
from opscheck import registry
from opscheck.errors import InventoryError, Unmeasurable
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.probes.audits.tools import pip_audit_counts
from opscheck.verdict import Verdict

DATA = Path(__file__).parent / "data" / "audits"
ADVISORIES = {
    "lodash": [
        {"id": 1106913, "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm", "title": "Command Injection in lodash",
         "severity": "high", "vulnerable_versions": "<4.17.21", "cwe": ["CWE-77", "CWE-94"]},
        {"id": 1106914, "url": "https://github.com/advisories/GHSA-29mw-wpgm-hmr9",
         "title": "Regular Expression Denial of Service (ReDoS) in lodash", "severity": "moderate",
         "vulnerable_versions": "<4.17.21", "cwe": ["CWE-400", "CWE-1333"]},
    ],
    "minimist": [
        {"id": 1097678, "url": "https://github.com/advisories/GHSA-xvch-5gv4-984h", "title": "Prototype Pollution in minimist",
         "severity": "critical", "vulnerable_versions": "<1.2.6", "cwe": ["CWE-1321"]},
    ],
}


class AdvisoryRegistry(BaseHTTPRequestHandler):
    """npm's bulk advisory endpoint: {package: [versions]} in, advisories of those packages out."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip" or body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        asked = json.loads(body or b"{}")
        data = json.dumps({name: ADVISORIES[name] for name in asked if name in ADVISORIES}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - packuments: not needed for the counts
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def advisory_registry():
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed (Debian package npm)", pytrace=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), AdvisoryRegistry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def npm_project(tmp_path: Path, registry_url: str) -> Path:
    folder = tmp_path / "frontend"
    shutil.copytree(DATA / "npm-vulnerable", folder)
    (folder / ".npmrc").write_text(f"registry={registry_url}\n")  # as a project on a private registry has it
    return folder


def audit(tmp_path: Path, entry: str):
    path = tmp_path / "inventory.yml"
    path.write_text(f"audits:\n  - {entry}\n")
    (target,) = registry.get("audit").targets(load_inventory(path))
    m = probe_once(target)
    return m, evaluate(m)


def test_npm_findings_are_judged_per_severity_naming_the_packages(tmp_path, advisory_registry):
    folder = npm_project(tmp_path, advisory_registry)
    m, result = audit(tmp_path, f"{{tool: npm, path: {folder}, timeout: 60s, high: {{warn: 0, crit: 5}}, critical: {{crit: 0}}}}")
    assert result.verdict is Verdict.CRIT, result.summary
    assert result.summary == (f"npm audit {folder} 2 vulnerable packages: 1 critical: minimist (crit 0); "
                              "1 high: lodash (warn 0, crit 5)")
    assert m.evidence["counts"] == {"info": 0, "low": 0, "moderate": 0, "high": 1, "critical": 1, "total": 2}
    assert [f["package"] for f in m.evidence["findings"]] == ["minimist", "lodash"]
    assert m.evidence["findings"][1]["advisories"] == ["https://github.com/advisories/GHSA-35jh-r3h4-6jhm",
                                                       "https://github.com/advisories/GHSA-29mw-wpgm-hmr9"]

    m, result = audit(tmp_path, f"{{tool: npm, path: {folder}, timeout: 60s, high: {{warn: 0}}}}")
    assert (result.verdict, result.summary) == (Verdict.WARN, f"npm audit {folder} 2 vulnerable packages: 1 high: lodash (warn 0)")

    m, result = audit(tmp_path, f"{{tool: npm, path: {folder}, timeout: 60s, critical: {{crit: 1}}, moderate: {{warn: 0}}}}")
    assert (result.verdict, result.summary) == (Verdict.OK, f"npm audit {folder} 2 vulnerable packages")

    # No limits: any finding is CRIT, as npm audit's own exit code says.
    m, result = audit(tmp_path, f"{{tool: npm, path: {folder}, timeout: 60s}}")
    assert (result.verdict, result.summary) == (Verdict.CRIT, f"npm audit {folder} 2 vulnerable packages (crit 0)")


def test_npm_that_cannot_audit_is_unknown_with_its_message(tmp_path):
    folder = npm_project(tmp_path, f"http://127.0.0.1:{free_port()}/")
    m, result = audit(tmp_path, f"{{tool: npm, path: {folder}, timeout: 60s}}")
    assert result.verdict is Verdict.UNKNOWN
    assert result.summary.startswith(f"local:{folder}: npm audit failed: request to http://127.0.0.1:"), result.summary
    assert "ECONNREFUSED" in result.summary

    (folder / "package-lock.json").unlink()
    m, result = audit(tmp_path, f"{{tool: npm, path: {folder}, timeout: 60s}}")
    assert (result.verdict, result.summary) == (
        Verdict.UNKNOWN, f"local:{folder}: npm audit failed: ENOLOCK: This command requires an existing lockfile.")

    m, result = audit(tmp_path, f"{{tool: npm, path: {folder}, executable: /opt/no-such-node/bin/npm}}")
    assert result.summary == f"local:{folder}: /opt/no-such-node/bin/npm is not installed on local (or not on the PATH of sh; set executable:)"
    m, result = audit(tmp_path, f"{{tool: npm, path: {tmp_path}/gone}}")
    assert (result.verdict, result.summary) == (Verdict.UNKNOWN, f"local:{tmp_path}/gone: npm: folder {tmp_path}/gone does not exist on local")


def test_pip_audit_that_skips_every_dependency_is_unknown_not_ok(tmp_path):
    """pip-audit exits 0 saying "No known vulnerabilities found" when it skipped everything."""
    (tmp_path / "requirements.txt").write_text("opscheck-no-such-package-zz==1.0\n")
    m, result = audit(tmp_path, f"{{tool: pip-audit, path: {tmp_path}, timeout: 60s}}")
    assert result.verdict is Verdict.UNKNOWN
    skipped = ("pip-audit audited no dependency (1 skipped): Dependency not found on PyPI and could not be audited: "
               "opscheck-no-such-package-zz (1.0)")
    # Offline CI cannot even ask PyPI: then pip-audit fails outright, UNKNOWN as well.
    assert result.summary == f"local:{tmp_path}: {skipped}" or "pip-audit failed: " in result.summary, result.summary


def test_pip_audit_missing_or_unreachable_is_unknown(tmp_path, monkeypatch):
    (tmp_path / "requirements.txt").write_text("requests==2.25.0\n")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    m, result = audit(tmp_path, f"{{tool: pip, path: {tmp_path}, timeout: 60s}}")
    assert result.verdict is Verdict.UNKNOWN
    assert result.summary.startswith(f"local:{tmp_path}: pip-audit failed: requests.exceptions.ProxyError: "), result.summary

    m, result = audit(tmp_path, f"{{tool: pip, path: {tmp_path}, requirements: requirements-prod.txt}}")
    assert result.summary == f"local:{tmp_path}: pip-audit: no requirements-prod.txt in local:{tmp_path}"

    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv holding pip-audit is not on it
    m, result = audit(tmp_path, f"{{tool: pip, path: {tmp_path}}}")
    assert (result.verdict, result.summary) == (
        Verdict.UNKNOWN, f"local:{tmp_path}: pip-audit is not installed on local (or not on the PATH of sh; set executable:)")


def test_pip_audit_report_counts_advisories_and_says_what_it_skipped():
    counts, findings, notes = pip_audit_counts((DATA / "pip-audit-documented.json").read_text(), "")
    assert (counts["total"], counts["unrated"], counts["high"]) == (2, 2, 0)
    assert [(f["package"], f["id"]) for f in findings] == [("requests 2.25.0", "PYSEC-2023-74"), ("requests 2.25.0", "GHSA-9wx4-h78v-vm56")]
    assert notes == ["1 not audited: internal-lib (Dependency not found on PyPI and could not be audited)"]
    with pytest.raises(Unmeasurable, match=r"^pip-audit failed: ConnectionError: boom$"):
        pip_audit_counts("", "Traceback\nConnectionError: boom\n")


def test_suite_end_to_end(suite, tmp_path, advisory_registry):
    folder = npm_project(tmp_path, advisory_registry)
    (tmp_path / "requirements.txt").write_text("opscheck-no-such-package-zz==1.0\n")
    result = suite.run("-m", "daily", inventory=f"""
        audits:
          - {{name: frontend deps, tool: npm, path: {folder}, timeout: 60s, high: {{warn: 0, crit: 5}}, critical: {{crit: 0}}}}
          - {{name: backend deps, tool: pip-audit, path: {tmp_path}, timeout: 60s, total: {{warn: 0, crit: 5}}}}
        """)
    assert suite.verdicts() == {"test_dependency_audit[local:frontend deps]": "CRIT", "test_dependency_audit[local:backend deps]": "UNKNOWN"}
    frontend = suite.check("test_dependency_audit[local:frontend deps]")
    assert frontend["summary"].endswith("2 vulnerable packages: 1 critical: minimist (crit 0); 1 high: lodash (warn 0, crit 5)")
    result.assert_outcomes(failed=1, errors=1)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{tool: pip, path: /srv/app, high: {crit: 0}}", "audits[0]: high: pip-audit rates no finding by severity; judge its findings with total: {warn, crit}"),
        ("{tool: npm, path: srv/app}", "audits[0].path: expected an absolute path on the host, found 'srv/app'"),
        ("{tool: npm, path: /srv/app, requirements: r.txt}", "audits[0]: requirements: is for pip-audit"),
        ("{tool: yarn, path: /srv/app}", "audits[0].tool"),
        ("{tool: npm, path: /srv/app, high: {warn: 5, crit: 1}}", "audits[0].high: warn 5 is above crit 1"),
    ],
)
def test_inventory_mistakes_are_named(tmp_path, entry, message):
    path = tmp_path / "inventory.yml"
    path.write_text(f"audits:\n  - {entry}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert message in problem.replace("Value error, ", ""), problem
