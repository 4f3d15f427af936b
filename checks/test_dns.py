"""DNS: the runbook's `dig +short api.example.com` (and `@server`), with expected answers and latency."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.high
def test_dns_resolves(dns):
    judge(measure(dns))
