"""Commands on hosts: a local spawn failure (EFAULT under many threads) is retried, not a CRIT."""

from __future__ import annotations

import errno

import pytest

from opscheck import host
from opscheck.errors import TargetDown
from opscheck.measurement import HostRef


class FlakySpawn:
    """Stands in for testinfra's Host.run only to inject the kernel error; the command still runs for real."""

    def __init__(self, failures: int, error: int = errno.EFAULT):
        self.failures = failures
        self.error = error
        self.calls = 0
        self.real = host.testinfra_host(HostRef("local", "local://"))

    def run(self, *args):
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError(self.error, "Bad address", "/bin/sh")
        return self.real.run(*args)


def test_efault_on_spawn_is_retried(monkeypatch):
    flaky = FlakySpawn(failures=2)
    monkeypatch.setattr(host, "testinfra_host", lambda ref: flaky)
    result = host.run(HostRef("local", "local://"), "echo ok", 5)
    assert (result.rc, result.stdout.strip(), flaky.calls) == (0, "ok", 3)


def test_persistent_or_other_spawn_errors_are_not_hidden(monkeypatch):
    flaky = FlakySpawn(failures=10)
    monkeypatch.setattr(host, "testinfra_host", lambda ref: flaky)
    with pytest.raises(TargetDown, match="cannot run commands: OSError"):
        host.run(HostRef("local", "local://"), "echo ok", 5)
    assert flaky.calls == host.SPAWN_ATTEMPTS
    other = FlakySpawn(failures=1, error=errno.ENOENT)
    monkeypatch.setattr(host, "testinfra_host", lambda ref: other)
    with pytest.raises(TargetDown):
        host.run(HostRef("local", "local://"), "echo ok", 5)
    assert other.calls == 1
