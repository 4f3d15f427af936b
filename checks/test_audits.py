"""Dependency vulnerabilities: the runbook's `npm audit --audit-level=high` and `pip-audit`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.high
def test_dependency_audit(audit):
    judge(measure(audit))
