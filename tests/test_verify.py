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


def _fake_sealed(folder: Path, suite: str, started: str) -> None:
    from opscheck.reports.manifest import seal

    folder.mkdir(parents=True)
    document = {"run": {"suite": suite, "started": started, "finished": started}, "previous": None, "files": {}}
    document["seal"] = seal(document)
    (folder / "manifest.json").write_text(json.dumps(document))


def test_keep_days_prunes_only_old_sealed_runs_of_the_same_suite(tmp_path):
    from opscheck.reports.retention import prune

    reports = tmp_path / "reports"
    _fake_sealed(reports / "20200101T000000Z-daily", "daily", "2020-01-01T00:00:00Z")
    _fake_sealed(reports / "20200101T000001Z-smoke", "smoke", "2020-01-01T00:00:01Z")
    _fake_sealed(reports / "20991231T000000Z-daily", "daily", "2099-12-31T00:00:00Z")
    (reports / "allure").mkdir()
    (reports / "allure" / "20200101T000000Z-daily.html").write_text("<html>")
    (reports / "20000101T000000Z-daily").mkdir()  # unsealed (in progress): never pruned
    current = reports / "20991231T000001Z-daily"
    current.mkdir()
    outcome = prune(reports, current, None, 30, "daily")
    assert [(p["run"], p["suite"], p["started"]) for p in outcome.pruned] == [("20200101T000000Z-daily", "daily", "2020-01-01T00:00:00Z")]
    assert len(outcome.pruned[0]["manifest_sha256"]) == 64 and outcome.refused == []
    assert sorted(p.name for p in reports.iterdir()) == [
        "20000101T000000Z-daily", "20200101T000001Z-smoke", "20991231T000000Z-daily", "20991231T000001Z-daily", "allure",
    ]
    assert list((reports / "allure").iterdir()) == []  # the rendered Allure HTML went with its run


def test_keep_runs_of_one_suite_leaves_other_suites_alone(runs, suite_dir, tmp_path, capsys):
    reports, folders = runs
    suite = tmp_path / "suite"
    shutil.copytree(suite_dir, suite, ignore=shutil.ignore_patterns("reports"))
    shutil.move(str(reports), str(suite / "reports"))
    reports = suite / "reports"
    run_suite(suite, "--suite=smoke")
    done = run_suite(suite, "--suite=smoke", "--keep-runs=1")
    smoke = sorted(p.name for p in reports.iterdir() if p.name.endswith("-smoke") and not p.is_symlink())
    assert len(smoke) == 1 and "pruned old run" in done.stdout and "-smoke" in done.stdout.split("pruned old run", 1)[1].splitlines()[0]
    assert all((reports / f.name).is_dir() for f in folders)  # three daily runs kept
    assert (reports / "latest-smoke").resolve().name == smoke[0]
    assert (reports / "latest-daily").resolve().name == folders[2].name
    assert (reports / "latest").resolve().name == smoke[0]
    code, problems, _ = verify(reports, capsys)
    assert (code, problems) == (0, [])


def test_retention_refuses_to_prune_a_tampered_run(runs, suite_dir, tmp_path, capsys):
    """Pruning must not erase the evidence: the tampered run stays, and verify still says so."""
    reports, folders = runs
    suite = tmp_path / "suite"
    shutil.copytree(suite_dir, suite, ignore=shutil.ignore_patterns("reports"))
    shutil.move(str(reports), str(suite / "reports"))
    reports = suite / "reports"
    (reports / folders[0].name / "results.json").write_text('{"checks": []}\n')
    done = run_suite(suite, "--keep-runs=1")
    assert f"retention: {folders[0].name}: not pruned, it does not verify ({folders[0].name}/results.json: altered" in done.stdout
    assert (reports / folders[0].name).is_dir()
    assert not (reports / folders[1].name).exists()  # the intact ones were pruned
    code, problems, _ = verify(reports, capsys)
    assert code == 1 and any(p.startswith(f"{folders[0].name}/results.json: altered") for p in problems)


def test_dangling_symlink_fifo_and_empty_folder_are_named(runs, capsys):
    import os

    reports, folders = runs
    (folders[1] / "evil").symlink_to("/nonexistent/target")
    os.mkfifo(folders[1] / "pipe")
    (folders[2] / "added" / "deeper").mkdir(parents=True)
    code, problems, _ = verify(reports, capsys)
    assert code == 1
    assert problems == [
        f"{folders[1].name}/evil: extra file (symlink to /nonexistent/target), not in the manifest",
        f"{folders[1].name}/pipe: extra file (FIFO), not in the manifest",
        f"{folders[2].name}/added/deeper/: extra folder, not in the manifest",
    ]


def test_a_run_being_written_is_in_progress_not_tampering(runs, capsys):
    import os

    from opscheck.reports.folder import mark_in_progress

    reports, folders = runs
    writing = reports / "20991231T000000Z-daily"
    writing.mkdir()
    (writing / "results.json").write_text("{}")
    fd = mark_in_progress(writing)
    try:
        code, problems, out = verify(reports, capsys)
        assert (code, problems) == (0, [])
        assert f"{writing.name}: in progress (being written, not sealed yet)" in out
    finally:
        os.close(fd)
    # Its writer died without sealing it: now that is a problem.
    code, problems, _ = verify(reports, capsys)
    assert code == 1 and problems == [f"{writing.name}: never sealed (its run died before the end: killed, or the machine went down)"]
    (writing / ".opscheck-in-progress").unlink()
    code, problems, _ = verify(reports, capsys)
    assert code == 1 and problems == [f"{writing.name}: manifest.json missing (run never sealed, or manifest removed)"]


def test_the_next_run_follows_the_head_of_the_chain_not_the_latest_finish(tmp_path):
    """Two suites sealing one after the other in the same second: the third run must not fork."""
    from opscheck.reports.manifest import previous_run, seal, sha256_file

    reports = tmp_path / "reports"
    previous = None
    # Sealed in this order, although their `finished` times say otherwise.
    for name, finished in (("20261122T090000Z-daily", "2026-11-22T09:00:05Z"), ("20261122T090001Z-smoke", "2026-11-22T09:00:04Z")):
        (reports / name).mkdir(parents=True)
        document = {"run": {"finished": finished}, "previous": previous, "files": {}}
        document["seal"] = seal(document)
        (reports / name / "manifest.json").write_text(json.dumps(document))
        previous = {"run": name, "manifest_sha256": sha256_file(reports / name / "manifest.json")}
    current = reports / "20261122T090500Z-smoke"
    current.mkdir()
    assert previous_run(reports, exclude=current) == previous
