"""Keep the process environment still while probe threads run.

pytest writes PYTEST_CURRENT_TEST into `os.environ` at every test phase and deletes
it after every test. Deleting and re-adding a variable reshapes the environment
under threads that read it at that moment:
- Python code iterating `os.environ` (requests looking for proxy variables) meets a
  key that is gone: `KeyError: 'PYTEST_CURRENT_TEST'`;
- a process spawned from a probe thread (testinfra's local backend, every local
  command) can exec with an environment array that is being shifted: EFAULT.
Replacing the value of a variable that stays present does neither (one slot is
swapped; glibc never frees the old string). So in a run with checks, from the
end of collection (before any probe starts) the variable is never deleted:
between tests it holds an empty string, and it is removed when the session ends,
as pytest would have. Runs without checks are left alone.

`proxyenv.snapshot()` runs here too, on the pytest thread before any probe starts.
"""

from __future__ import annotations

import os

import pytest

VAR = "PYTEST_CURRENT_TEST"
HELD = pytest.StashKey[bool]()
_original = None
_depth = 0


def _keep_present(item, when) -> None:
    if when:
        os.environ[VAR] = f"{item.nodeid} ({when})".replace("\x00", "(null)")
    else:
        os.environ[VAR] = ""  # never deleted mid-run: see the module docstring


def hold() -> None:
    """From now until `release()`, pytest replaces the variable instead of deleting it."""
    global _original, _depth
    from _pytest import runner

    from opscheck import proxyenv

    proxyenv.snapshot()
    _depth += 1
    if _depth > 1:
        return
    current = getattr(runner, "_update_current_test_var", None)
    if current is None or current is _keep_present:
        return  # another pytest: nothing known to hold
    _original = current
    os.environ.setdefault(VAR, "")
    runner._update_current_test_var = _keep_present


def release() -> None:
    global _original, _depth
    if _depth == 0:
        return
    _depth -= 1
    if _depth or _original is None:
        return
    from _pytest import runner

    runner._update_current_test_var = _original
    _original = None
    if os.environ.get(VAR) == "":
        os.environ.pop(VAR, None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Before any probe starts (prefetching begins in the same hook), if the run has checks."""
    from opscheck.plugin.collection import is_check

    if not session.config.stash.get(HELD, False) and any(is_check(item) for item in session.items):
        session.config.stash[HELD] = True
        hold()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(HELD, False):  # pytester runs nest sessions: release only what this one held
        config.stash[HELD] = False
        release()
