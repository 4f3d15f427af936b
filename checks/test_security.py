"""Security per host: `ls -la .env`, `find . -perm 777`, `grep FLAG .env`, `apt list --upgradable`, uptime."""

import pytest

from opscheck import judge, measure


@pytest.mark.daily
@pytest.mark.high
def test_file_permissions(file):
    judge(measure(file))


@pytest.mark.daily
@pytest.mark.high
def test_no_world_writable(world_writable):
    judge(measure(world_writable))


@pytest.mark.daily
@pytest.mark.high
def test_not_world_readable(world_readable):
    judge(measure(world_readable))


@pytest.mark.daily
@pytest.mark.critical
def test_env_flags(env_flags):
    judge(measure(env_flags))


@pytest.mark.weekly
@pytest.mark.medium
def test_pending_updates(updates):
    judge(measure(updates))


@pytest.mark.weekly
@pytest.mark.high
def test_security_updates(security_updates):
    judge(measure(security_updates))


@pytest.mark.weekly
@pytest.mark.medium
def test_reboot_required(reboot_required):
    judge(measure(reboot_required))


@pytest.mark.weekly
@pytest.mark.low
def test_uptime(uptime):
    judge(measure(uptime))
