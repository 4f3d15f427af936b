"""TLS certificates: the runbook's `openssl s_client` and `openssl x509 -noout -dates`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.high
def test_tls_days_left(tls_endpoint):
    judge(measure(tls_endpoint))


@pytest.mark.high
def test_certificate_file(cert_file):
    judge(measure(cert_file))
