"""`opscheck verify`: the manifest and the chain of runs catch every kind of tampering, by name."""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from opscheck.cli import main as cli

CHECKS = '''
    import pytest

    from opscheck import Measurement, Threshold, judge

    pytestmark = pytest.mark.daily


    def test_usage():
        judge(Measurement(value=50.0, unit="%", subject="/data", threshold=Threshold(warn=80, crit=90, unit="%")))
'''
INVENTORY = """
    environment: audit
    system: []
"""


ROOT = Path(__file__).resolve().parent.parent


def run_suite(path: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        ["python", "-m", "pytest", "-m", "daily", "-p", "no:randomly", "--inventory=inventory.yml", "--reports-dir=reports", *args],
        cwd=path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory) -> Path:
    """A suite with one check, and a reports dir with three sealed runs (made once per module)."""
    path = tmp_path_factory.mktemp("audit")
    shutil.copytree(ROOT / "fixtures", path / "fixtures", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "conftest.py", path / "conftest.py")
    (path / "checks").mkdir()
    (path / "checks" / "test_audit.py").write_text(textwrap.dedent(CHECKS))
    (path / "pytest.ini").write_text("[pytest]\ntestpaths = checks\naddopts = --strict-markers -p no:cacheprovider\n")
    (path / "inventory.yml").write_text(textwrap.dedent(INVENTORY))
    for _ in range(3):
        run_suite(path)
    return path


@pytest.fixture
def runs(suite_dir, tmp_path):
    """A private copy of the three runs, oldest first."""
    reports = tmp_path / "reports"
    shutil.copytree(suite_dir / "reports", reports, symlinks=True)
    folders = sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(folders) == 3
    return reports, folders


def verify(path, capsys) -> tuple[int, list[str], str]:
    code = cli(["verify", str(path)])
    out = capsys.readouterr()
    return code, out.err.splitlines(), out.out


def test_untouched_runs_verify(runs, capsys):
    reports, folders = runs
    code, problems, out = verify(reports, capsys)
    assert (code, problems) == (0, [])
    assert out.strip().startswith(f"{reports}: 3 run(s), ") and out.strip().endswith(" file(s) verified: ok")
    manifests = [json.loads((f / "manifest.json").read_text()) for f in folders]
    assert manifests[0]["previous"] is None
    assert manifests[1]["previous"]["run"] == folders[0].name
    assert manifests[2]["previous"]["run"] == folders[1].name
    assert set(manifests[2]["files"]) >= {"report.html", "junit.xml", "results.json", "metrics.prom", "allure-results/environment.properties"}
    assert manifests[2]["run"]["counts"]["OK"] == 1 and manifests[2]["run"]["environment"] == "audit"
    code, problems, _ = verify(folders[1], capsys)
    assert (code, problems) == (0, [])


def test_one_changed_byte_is_named(runs, capsys):
    reports, folders = runs
    path = folders[1] / "results.json"
    data = bytearray(path.read_bytes())
    data[10] ^= 1
    path.write_bytes(bytes(data))
    code, problems, _ = verify(reports, capsys)
    assert code == 1
    assert len(problems) == 1 and problems[0].startswith(f"{folders[1].name}/results.json: altered (sha256 ")


def test_removed_and_added_files_are_named(runs, capsys):
    reports, folders = runs
    (folders[0] / "metrics.prom").unlink()
    (folders[2] / "allure-results" / "extra.txt").write_text("added later\n")
    code, problems, _ = verify(reports, capsys)
    assert code == 1
    assert problems == [
        f"{folders[0].name}/metrics.prom: missing",
        f"{folders[2].name}/allure-results/extra.txt: extra file, not in the manifest",
    ]


def test_edited_manifest_is_named(runs, capsys):
    reports, folders = runs
    path = folders[1] / "manifest.json"
    document = json.loads(path.read_text())
    document["run"]["counts"]["OK"] = 0
    document["run"]["counts"]["CRIT"] = 1
    path.write_text(json.dumps(document, indent=1) + "\n")
    code, problems, _ = verify(reports, capsys)
    assert code == 1
    assert f"{folders[1].name}/manifest.json: edited (its seal does not match its content)" in problems
    assert any(p.startswith(f"chain break: {folders[2].name} follows {folders[1].name}, whose manifest.json changed") for p in problems)


def test_resealed_manifest_still_breaks_the_chain(runs, capsys):
    """Whoever recomputes the seal after editing still cannot fix the successor's link."""
    from opscheck.reports.manifest import seal

    reports, folders = runs
    (folders[1] / "results.json").write_text("{}\n")
    path = folders[1] / "manifest.json"
    document = json.loads(path.read_text())
    document["files"]["results.json"]["sha256"] = __import__("hashlib").sha256(b"{}\n").hexdigest()
    document["files"]["results.json"]["size"] = 3
    document["seal"] = seal(document)
    path.write_text(json.dumps(document, indent=1) + "\n")
    code, problems, _ = verify(reports, capsys)
    assert code == 1
    assert len(problems) == 1 and problems[0].startswith(f"chain break: {folders[2].name} follows {folders[1].name}, whose manifest.json changed")


def test_run_deleted_from_the_middle_is_named(runs, capsys):
    reports, folders = runs
    shutil.rmtree(folders[1])
    code, problems, _ = verify(reports, capsys)
    assert code == 1
    assert problems == [f"chain break: {folders[2].name} follows {folders[1].name}, which is missing (deleted, not pruned)"]


def test_retention_prunes_without_breaking_verification(runs, suite_dir, tmp_path, capsys):
    reports, folders = runs
    suite = tmp_path / "suite"
    shutil.copytree(suite_dir, suite, ignore=shutil.ignore_patterns("reports"))
    shutil.move(str(reports), str(suite / "reports"))
    reports = suite / "reports"
    done = run_suite(suite, "--keep-runs=2")
    assert f"pruned old run {folders[0].name}" in done.stdout and f"pruned old run {folders[1].name}" in done.stdout
    newest = (reports / "latest").resolve()
    assert sorted(p.name for p in reports.iterdir() if p.is_dir() and not p.is_symlink()) == sorted([folders[2].name, newest.name])
    pruned = json.loads((newest / "manifest.json").read_text())["pruned"]
    assert [p["run"] for p in pruned] == [folders[0].name, folders[1].name]
    assert all(len(p["manifest_sha256"]) == 64 for p in pruned)
    code, problems, out = verify(reports, capsys)
    assert (code, problems) == (0, [])
    assert f"{folders[2].name} follows {folders[1].name}, pruned by retention" in out


def test_verify_on_nothing_is_a_usage_error(tmp_path, capsys):
    code, problems, _ = verify(tmp_path, capsys)
    assert code == 3
    assert problems == [f"{tmp_path}: no run folders (nothing to verify)"]


def test_verify_command_line(runs):
    reports, folders = runs
    done = subprocess.run(["opscheck", "verify", str(reports)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip().endswith("verified: ok"), done.stderr


def test_keep_days_prunes_only_old_sealed_runs(tmp_path):
    from opscheck.reports.retention import prune

    reports = tmp_path / "reports"
    for name, started in (("20200101T000000Z-daily", "2020-01-01T00:00:00Z"), ("20991231T000000Z-daily", "2099-12-31T00:00:00Z")):
        (reports / name).mkdir(parents=True)
        (reports / name / "manifest.json").write_text(json.dumps({"run": {"started": started, "finished": started}}))
    (reports / "20000101T000000Z-daily").mkdir()  # unsealed (in progress): never pruned
    current = reports / "20991231T000001Z-daily"
    current.mkdir()
    pruned = prune(reports, current, None, 30)
    assert [(p["run"], p["started"]) for p in pruned] == [("20200101T000000Z-daily", "2020-01-01T00:00:00Z")]
    assert len(pruned[0]["manifest_sha256"]) == 64
    assert sorted(p.name for p in reports.iterdir()) == ["20000101T000000Z-daily", "20991231T000000Z-daily", "20991231T000001Z-daily"]
