"""The plugin end to end: the real checks/ run by pytester against generated inventories."""

from __future__ import annotations

import hashlib
import json

import pytest

from opscheck.units import format_value

MIXED = """
environment: e2e
system:
  - disk: {mount: /no/such/mount}          # CRIT: the mount is missing
    inodes: {mount: /}                     # OK
    memory: {warn: 0.01%, crit: 100%}      # WARN
    swap: {}                               # OK (no swap, or little used)
    load_per_core: {warn: 1000, crit: 2000}  # OK
"""

ONLY_WARN = """
system:
  - memory: {warn: 0.01%, crit: 100%}
    load_per_core: {warn: 1000, crit: 2000}
"""


def test_verdicts_letters_and_summary_line(suite):
    result = suite.run("-m", "daily", "checks/test_system.py", inventory=MIXED)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["checks/test_system.py F.W.. *", "*= 1 failed, 3 passed, *1 warned in *"])
    assert suite.verdicts() == {
        "test_disk_usage[local:/no/such/mount]": "CRIT",
        "test_inode_usage[local:/]": "OK",
        "test_memory_usage[local]": "WARN",
        "test_swap_usage[local]": "OK",
        "test_load_per_core[local]": "OK",
    }


def test_failure_message_is_the_summary_without_helper_frames(suite):
    result = suite.run("-m", "daily", inventory=MIXED)
    out = result.stdout.str()
    assert "CRIT: local:/no/such/mount: /no/such/mount does not exist" in out
    result.stdout.fnmatch_lines(["FAILED checks/test_system.py::test_disk_usage[[]local:/no/such/mount[]] - CRIT: *"])
    assert "judging.py" not in out and "def judge" not in out and "Traceback" not in out


def test_verbose_shows_warn_word(suite):
    result = suite.run("-m", "daily", "-v", "checks/test_system.py", inventory=ONLY_WARN)
    result.stdout.fnmatch_lines(["*test_memory_usage[[]local[]] WARN*", "*test_load_per_core[[]local[]] PASSED*", "*= 1 passed, 1 warned in *"])
    assert result.ret == pytest.ExitCode.OK
    assert suite.verdicts() == {"test_memory_usage[local]": "WARN", "test_load_per_core[local]": "OK"}


def test_kinds_without_targets_are_not_items_nor_deselected(suite):
    """disk, inodes and swap have no entry in ONLY_WARN: no item for them, and nothing reads "deselected"."""
    result = suite.run("-m", "daily", "--collect-only", "-q", "checks/test_system.py", inventory=ONLY_WARN)
    listed = [line for line in result.stdout.lines if "::" in line]
    assert listed == ["checks/test_system.py::test_memory_usage[local]", "checks/test_system.py::test_load_per_core[local]"]
    assert "deselected" not in result.stdout.str()
    # What the user deselects is still counted: -m smoke leaves out both daily checks.
    result = suite.run("-m", "smoke", "checks/test_system.py", inventory=ONLY_WARN)
    result.stdout.fnmatch_lines(["*2 deselected*"])


def test_fail_on_warn(suite):
    result = suite.run("-m", "daily", "--fail-on=warn", inventory=ONLY_WARN)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*WARN (--fail-on=warn): memory *% used (warn 0.01%, crit 100%)*", "*= 1 failed, 1 passed in *"])
    assert suite.verdicts()["test_memory_usage[local]"] == "WARN"


def test_results_json_content(suite):
    suite.run("-m", "daily", inventory=MIXED)
    document = suite.results()
    run = document["run"]
    assert run["suite"] == "daily" and run["environment"] == "e2e"
    assert run["counts"] == {"OK": 3, "WARN": 1, "CRIT": 1, "UNKNOWN": 0, "WAIVED": 0}
    assert run["inventory_sha256"] == hashlib.sha256(suite.inventory.read_bytes()).hexdigest()
    assert run["id"] == (suite.reports / "latest").resolve().name and run["id"].endswith("-daily")
    assert run["started"] <= run["finished"] and run["exit_status"] == 1
    disk = suite.check("test_disk_usage[local:/no/such/mount]")
    assert disk["verdict"] == "CRIT" and disk["severity"] == "high" and disk["check"] == "disk usage"
    assert disk["target"] == "local:/no/such/mount" and disk["host"] == "local"
    memory = suite.check("test_memory_usage[local]")
    assert memory["severity"] == "medium" and memory["unit"] == "%" and memory["warn"] == 0.01 and memory["crit"] == 100
    # The value is exact (judged unrounded); the summary rounds it for reading.
    assert memory["summary"] == f"memory {format_value(memory['value'], '%')} used (warn 0.01%, crit 100%)"
    assert isinstance(memory["evidence"], dict) and memory["evidence"]["MemTotal_kB"] > 0
    assert all(c["duration_s"] > 0 for c in document["checks"])
    assert [c["id"] for c in document["checks"]] == [
        "checks/test_system.py::test_disk_usage[local:/no/such/mount]",
        "checks/test_system.py::test_inode_usage[local:/]",
        "checks/test_system.py::test_memory_usage[local]",
        "checks/test_system.py::test_swap_usage[local]",
        "checks/test_system.py::test_load_per_core[local]",
    ]


def test_unknown_is_an_error_with_its_reason(suite):
    result = suite.run("-m", "daily", inventory="system: [{inodes: {mount: /proc}, load_per_core: {warn: 1000, crit: 2000}}]")
    result.stdout.fnmatch_lines(["*UNKNOWN: local:/proc: /proc (proc) has no fixed inode table*", "*= 1 passed, 1 error in *"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert suite.check("test_inode_usage[local:/proc]")["verdict"] == "UNKNOWN"


def test_severity_selection(suite):
    result = suite.run("-m", "daily", "--severity", "high", "checks/test_system.py", inventory=MIXED)
    # Deselected: exactly the three medium checks memory, swap and load, left out by --severity.
    result.stdout.fnmatch_lines(["*= 1 failed, 1 passed, 3 deselected in *"])
    assert set(suite.verdicts()) == {"test_disk_usage[local:/no/such/mount]", "test_inode_usage[local:/]"}


def test_inventory_severity_overrides_the_check_default(suite):
    inventory = """
    system:
      - severity: critical
        memory: {warn: 99.9%, crit: 100%}
      - swap: {}
    """
    result = suite.run("-m", "critical", "checks/test_system.py", inventory=inventory)
    result.stdout.fnmatch_lines(["*= 1 passed, 1 deselected in *"])  # swap, by -m; kinds without targets are no items
    assert suite.verdicts() == {"test_memory_usage[local]": "OK"}
    assert suite.check("test_memory_usage[local]")["severity"] == "critical"
    result = suite.run("-m", "medium", "checks/test_system.py")
    result.stdout.fnmatch_lines(["*= 1 passed, 1 deselected in *"])  # memory, critical now
    assert set(suite.verdicts()) == {"test_swap_usage[local]"}


def test_inventory_adds_schedules(suite):
    inventory = """
    system:
      - schedule: [smoke]
        memory: {warn: 99.9%, crit: 100%}
      - swap: {}
    """
    result = suite.run("-m", "smoke", "checks/test_system.py", inventory=inventory)
    result.stdout.fnmatch_lines(["*= 1 passed, 1 deselected in *"])  # swap: daily only
    assert set(suite.verdicts()) == {"test_memory_usage[local]"}
    record = suite.check("test_memory_usage[local]")
    assert record["schedules"] == ["smoke"]
    assert suite.results()["run"]["suite"] == "smoke"


def test_xdist_two_workers_one_results_file(suite):
    result = suite.run("-m", "daily", "-n", "2", "checks/test_system.py", inventory=MIXED)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*= 1 failed, 3 passed, 1 warned in *"])
    assert suite.verdicts()["test_memory_usage[local]"] == "WARN"
    assert suite.results()["run"]["counts"] == {"OK": 3, "WARN": 1, "CRIT": 1, "UNKNOWN": 0, "WAIVED": 0}
    folders = [p for p in suite.reports.iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(folders) == 1, "only the controller writes reports"
    assert [c["id"] for c in suite.results()["checks"]][0].endswith("test_disk_usage[local:/no/such/mount]")


def test_selection_matching_nothing_is_not_success(suite):
    result = suite.run("-m", "quarterly", inventory=MIXED)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert not (suite.reports / "latest").exists()


def test_markers_are_registered_with_descriptions(suite):
    result = suite.pytester.runpytest("--markers")
    result.stdout.fnmatch_lines([
        "@pytest.mark.daily: run by the morning cron*",
        "@pytest.mark.smoke: fast gate after a deploy*",
        "@pytest.mark.critical: SEV-1 / P1*",
        "@pytest.mark.low: SEV-4 / P4*",
    ])


def test_strict_markers_reject_a_typo(suite):
    suite.pytester.makepyfile(**{"checks/test_typo": "import pytest\n@pytest.mark.dialy\ndef test_x():\n    pass\n"})
    result = suite.run("-m", "daily", inventory=ONLY_WARN, subprocess=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'dialy' not found in `markers` configuration option*"])


def test_hand_written_checks_are_recorded(suite):
    suite.pytester.makepyfile(**{"checks/test_custom": """
        import pytest
        pytestmark = pytest.mark.daily

        def test_flag_ok():
            assert True

        def test_flag_crit():
            assert 1 == 2, "paperTradingMode is false"

        def test_flag_unknown():
            raise ConnectionError("could not reach the API")
    """})
    result = suite.run("-m", "daily", "checks/test_custom.py", inventory=ONLY_WARN)
    result.stdout.fnmatch_lines(["checks/test_custom.py .FE*", "*= 1 failed, 1 passed, 1 error in *"])
    verdicts = suite.verdicts()
    assert verdicts == {"test_flag_ok": "OK", "test_flag_crit": "CRIT", "test_flag_unknown": "UNKNOWN"}
    assert "paperTradingMode is false" in suite.check("test_flag_crit")["summary"]
    assert suite.check("test_flag_unknown")["summary"] == "ConnectionError: could not reach the API"


def test_plain_tests_write_no_reports(suite):
    suite.pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = suite.run("test_plain.py", inventory=ONLY_WARN)
    assert result.ret == pytest.ExitCode.OK
    assert not suite.reports.exists()


def test_reports_dir_and_latest_link(suite):
    suite.run("-m", "daily", inventory=ONLY_WARN)
    first = (suite.reports / "latest").resolve()
    suite.run("-m", "daily", "--suite", "morning")
    second = (suite.reports / "latest").resolve()
    assert first != second and second.name.endswith("-morning")
    assert (suite.reports / "latest").is_symlink() and not (suite.reports / "latest").readlink().is_absolute()
    assert json.loads((first / "results.json").read_text())["run"]["suite"] == "daily"


def test_concurrency_option_validated(suite):
    result = suite.run("-m", "daily", "--concurrency", "zero", inventory=ONLY_WARN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --concurrency: expected a whole number of probes, found 'zero'"])


def test_a_run_without_inventory_pays_for_no_reports(pytester):
    """opscheck is autoloaded by every pytest run where it is installed: ordinary suites stay untouched."""
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "no:randomly", f"--reports-dir={pytester.path / 'reports'}")
    assert result.ret == pytest.ExitCode.OK
    assert "generated xml file" not in result.stdout.str() and "html report" not in result.stdout.str()
    assert not (pytester.path / "reports").exists()
