"""Commands with an expected result: `./run.sh env-status`, `ufw status | grep active`, `npm audit`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.medium
def test_command(command):
    judge(measure(command))
