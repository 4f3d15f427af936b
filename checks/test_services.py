"""Services per host: `systemctl status`, `ps aux | grep`, `netstat -tuln`, `nc -zv host port`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.critical
def test_unit_running(unit):
    judge(measure(unit))


@pytest.mark.critical
def test_process_running(process):
    judge(measure(process))


@pytest.mark.high
def test_port_listening(port):
    judge(measure(port))


@pytest.mark.high
def test_only_expected_listeners(listeners):
    judge(measure(listeners))


@pytest.mark.high
def test_tcp_reachable(tcp):
    judge(measure(tcp))
