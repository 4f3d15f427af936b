"""Logs: the runbook's `grep -c` over the last day, nginx 401/403/429, scanners, failed SSH logins."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.medium
def test_log_pattern(log_pattern):
    judge(measure(log_pattern))
