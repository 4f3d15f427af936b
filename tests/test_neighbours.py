"""opscheck as a good neighbour: other suites in the same environment run as without it (issue 15 §6).

Each unrelated suite runs twice in-process, with opscheck and with `-p no:opscheck`,
and must give the same outcomes; opscheck checks next to it still get their targets.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from opscheck import registry

KINDS = sorted(registry.names())

# An unrelated project's conftest: a fixture named after every kind opscheck knows.
FIXTURES = "import pytest\n" + "".join(
    f"\n@pytest.fixture\ndef {kind}():\n    return 'own-{kind}'\n" for kind in KINDS
)
TESTS = "".join(f"\ndef test_{kind}({kind}):\n    assert {kind} == 'own-{kind}'\n" for kind in KINDS)

INVENTORY = """
system:
  - memory: {warn: 99.9%, crit: 100%}
    disk: [{mount: /, warn: 99.9%, crit: 100%}]
"""

OPSCHECK_CHECK = """
import pytest
from opscheck import judge, measure

def test_memory_usage(memory):
    judge(measure(memory))
"""


def outcomes(result: pytest.RunResult) -> tuple[int, dict]:
    return result.ret, result.parseoutcomes()


def both(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, pytest.RunResult]:
    """The same run with opscheck and without it."""
    base = ("-p", "no:cacheprovider", "-p", "no:randomly", *args)
    return pytester.runpytest(*base), pytester.runpytest("-p", "no:opscheck", *base)


def test_fixtures_named_after_every_kind_win_without_an_inventory(pytester):
    pytester.makeconftest(FIXTURES)
    pytester.makepyfile(test_other_project=TESTS)
    with_opscheck, without = both(pytester)
    assert outcomes(with_opscheck) == outcomes(without) == (pytest.ExitCode.OK, {"passed": len(KINDS)})
    assert not (pytester.path / "reports").exists()


def test_fixtures_named_after_every_kind_win_with_an_inventory_present(pytester):
    """The default inventory file exists and one is passed: nothing is deselected nor replaced."""
    pytester.makeconftest(FIXTURES)
    pytester.makepyfile(test_other_project=TESTS)
    (pytester.path / "inventories").mkdir()
    (pytester.path / "inventories" / "local.yml").write_text(INVENTORY)
    result = pytester.runpytest("-p", "no:cacheprovider", "--no-reports", "--inventory=inventories/local.yml")
    assert outcomes(result) == (pytest.ExitCode.OK, {"passed": len(KINDS)})
    assert "deselected" not in result.stdout.str()


def test_parametrized_kind_name_and_plain_tests_are_left_alone(pytester):
    pytester.makepyfile(
        test_other_project="""
        import pytest

        @pytest.mark.parametrize("port", [80, 443])
        def test_port(port):
            assert port in (80, 443)

        @pytest.mark.parametrize("file,memory", [("a", 1)])
        def test_pair(file, memory):
            assert (file, memory) == ("a", 1)

        def test_plain():
            pass
        """
    )
    with_opscheck, without = both(pytester, "-v")
    assert outcomes(with_opscheck) == outcomes(without) == (pytest.ExitCode.OK, {"passed": 4})
    # No severity marker is added to plain tests: `-m medium` selects nothing, as without opscheck.
    with_opscheck, without = both(pytester, "-m", "medium")
    assert with_opscheck.ret == without.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    # --severity selects among checks only.
    result = pytester.runpytest("-p", "no:cacheprovider", "--severity", "critical")
    assert outcomes(result) == (pytest.ExitCode.OK, {"passed": 4})


def test_missing_fixture_named_after_a_kind_is_pytests_error_not_an_inventory_error(pytester):
    """Before: exit 4 "inventories/local.yml: inventory file not found" for someone else's typo."""
    pytester.makepyfile(test_other_project="def test_port(port):\n    pass\n")
    with_opscheck, without = both(pytester)
    assert with_opscheck.ret == without.ret == pytest.ExitCode.TESTS_FAILED
    assert outcomes(with_opscheck) == outcomes(without) == (pytest.ExitCode.TESTS_FAILED, {"errors": 1})
    with_opscheck.stdout.fnmatch_lines(["*fixture 'port' not found*"])
    assert "inventory file not found" not in with_opscheck.stdout.str() + with_opscheck.stderr.str()


def test_opscheck_check_beside_an_unrelated_suite_gets_its_targets(pytester):
    """One run, two folders: the other suite's `memory` fixture stays theirs, the check is fed."""
    pytester.makepyfile(**{"other/conftest": FIXTURES, "other/test_other_project": TESTS, "checks/test_ours_memory": OPSCHECK_CHECK})
    (pytester.path / "inv.yml").write_text(INVENTORY)
    result = pytester.runpytest("-p", "no:cacheprovider", "--no-reports", "--inventory=inv.yml", "-v")
    result.stdout.fnmatch_lines(["*checks/test_ours_memory.py::test_memory_usage?local? PASSED*"])
    assert outcomes(result) == (pytest.ExitCode.OK, {"passed": len(KINDS) + 1})


def test_opscheck_check_without_fixture_is_fed_from_the_inventory(pytester):
    pytester.makepyfile(test_other_project="def test_plain():\n    pass\n", test_ours_memory=OPSCHECK_CHECK)
    (pytester.path / "inv.yml").write_text(INVENTORY)
    result = pytester.runpytest("-p", "no:cacheprovider", "--no-reports", "--inventory=inv.yml", "-v")
    result.stdout.fnmatch_lines(["*test_ours_memory.py::test_memory_usage?local? PASSED*"])
    assert outcomes(result) == (pytest.ExitCode.OK, {"passed": 2})
    # Without an inventory, the check (not the plain test) asks for one, naming the flag to use.
    result = pytester.runpytest("-p", "no:cacheprovider", "--no-reports")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*inventories/local.yml: inventory file not found*pass --inventory PATH*"])


OTHER_PLUGIN = """
def pytest_addoption(parser):
    parser.getgroup("other").addoption("--inventory", dest="other_inventory")
"""

READ_OTHER = """
def test_other_sees_its_option(pytestconfig):
    assert pytestconfig.getoption("other_inventory") == "hosts.ini"
"""


@pytest.mark.parametrize("where", ["plugin", "conftest"])
def test_taken_option_gets_only_the_opscheck_spelling(pytester, where):
    """Another plugin (loaded before or after opscheck) or a conftest owns --inventory: both run."""
    if where == "plugin":
        pytester.makepyfile(other_plugin=OTHER_PLUGIN)
        pytester.syspathinsert()
        load = ("-p", "other_plugin")
    else:
        pytester.makeconftest(OTHER_PLUGIN)
        load = ()
    pytester.makepyfile(test_other_project=READ_OTHER, test_ours_memory=OPSCHECK_CHECK)
    (pytester.path / "inv.yml").write_text(INVENTORY)
    result = pytester.runpytest(
        *load, "-p", "no:cacheprovider", "--no-reports", "--inventory=hosts.ini", "--opscheck-inventory=inv.yml", "-v"
    )
    result.stdout.fnmatch_lines(["*test_other_sees_its_option PASSED*", "*test_memory_usage?local? PASSED*"])
    assert outcomes(result) == (pytest.ExitCode.OK, {"passed": 2})
    # The other plugin's `--inventory PATH` (with a space) is not mistaken for opscheck's.
    result = pytester.runpytest(*load, "-p", "no:cacheprovider", "--no-reports", "--inventory", "hosts.ini", "test_other_project.py")
    assert outcomes(result) == (pytest.ExitCode.OK, {"passed": 1})
    # Every other option keeps its short spelling, and the messages name the spelling that works.
    result = pytester.runpytest(*load, "-p", "no:cacheprovider", "--no-reports", "--severity=low", "--help")
    shown = result.stdout.str()
    assert all(f in shown for f in ("--inventory=OTHER_INVENTORY", "--opscheck-inventory=PATH", "  --severity="))
    assert "--inventory=PATH" not in shown
    result = pytester.runpytest(*load, "-p", "no:cacheprovider", "--no-reports", "--inventory=hosts.ini")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*inventory file not found*pass --opscheck-inventory PATH*"])


def test_short_spellings_where_free(pytester):
    pytester.makepyfile(test_ours_memory=OPSCHECK_CHECK)
    (pytester.path / "inv.yml").write_text(INVENTORY)
    for spelling in ("--inventory=inv.yml", "--opscheck-inventory=inv.yml"):
        result = pytester.runpytest("-p", "no:cacheprovider", "--no-reports", spelling, "-v")
        result.stdout.fnmatch_lines(["*test_memory_usage?local? PASSED*"])
        assert result.ret == pytest.ExitCode.OK


def test_project_session_has_no_allure_listener_of_its_own():
    """tests/conftest.py keeps this session out of reporting: with an outer Allure listener, every
    in-process run's fixture teardown was closed twice (KeyError in allure_commons, pytest >= 9.1)."""
    import allure_commons

    listeners = [p for p in allure_commons.plugin_manager.get_plugins() if type(p).__name__ == "AllureListener"]
    assert listeners == []


def test_in_process_run_tears_down_fixtures_cleanly_under_allure(pytester):
    """The symptom itself: a fixture with a finalizer, in-process, with Allure results on."""
    pytester.makepyfile(
        test_other_project=textwrap.dedent(
            """
            import pytest

            @pytest.fixture
            def resource(request):
                request.addfinalizer(lambda: None)
                yield 1

            def test_uses(resource):
                assert resource == 1
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider", f"--alluredir={pytester.path / 'allure'}")
    assert outcomes(result) == (pytest.ExitCode.OK, {"passed": 1})


MOLECULE_SIDE = """
def test_ansible_ping(ansible_adhoc):
    result = ansible_adhoc()["localhost"].ping()
    assert result["localhost"]["ping"] == "pong"


def test_ansible_owns_inventory(pytestconfig):
    assert pytestconfig.getoption("ansible_inventory") == "hosts.ini"
"""


@pytest.mark.slow
def test_pytest_ansible_in_the_same_venv_runs_both(tmp_path):
    """A real venv: this one's packages (opscheck included) plus pytest-ansible from the index.

    Not skipped without network: CI must not go green without having tried. pytest-ansible and
    pytest-testinfra refuse each other (both register --ansible-inventory: pytest-testinfra#58,
    pytest-ansible#509), so testinfra's pytest plugin is disabled; opscheck needs testinfra only
    as a library.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    inner = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    # addsitedir also reads the outer .pth files, so the editable opscheck is found too.
    Path(inner, "_outer.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "pytest-ansible"], capture_output=True, text=True, timeout=600
    )
    assert pip.returncode == 0, f"pip install pytest-ansible failed (no index reachable?):\n{pip.stderr[-2000:]}"

    suite = tmp_path / "suite"
    (suite / "checks").mkdir(parents=True)
    (suite / "checks" / "test_ours_memory.py").write_text(OPSCHECK_CHECK)
    (suite / "test_molecule_side.py").write_text(MOLECULE_SIDE)
    # ansible would discover some other python3 on PATH; the venv's has what its modules need.
    (suite / "hosts.ini").write_text(f"localhost ansible_connection=local ansible_python_interpreter={python}\n")
    (suite / "inv.yml").write_text(INVENTORY)
    run = subprocess.run(
        [str(python), "-m", "pytest", "-p", "no:pytest11.testinfra", "-p", "no:cacheprovider", "-v",
         "--inventory=hosts.ini", "--ansible-host-pattern=localhost", "--opscheck-inventory=inv.yml", "--no-reports"],
        cwd=suite, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "plugins: " in run.stdout and "ansible-" in run.stdout
    for line in (
        "checks/test_ours_memory.py::test_memory_usage[local] PASSED",
        "test_molecule_side.py::test_ansible_ping PASSED",
        "test_molecule_side.py::test_ansible_owns_inventory PASSED",
    ):
        assert line in run.stdout, run.stdout[-4000:]
