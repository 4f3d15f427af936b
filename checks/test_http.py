"""HTTP endpoints and safety flags: the runbook's `curl -f /health`, `jq .paperTradingMode`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.high
def test_http_endpoint(http):
    judge(measure(http))


@pytest.mark.medium
def test_websocket_upgrade(websocket):
    judge(measure(websocket))
