"""TLS certificates and old protocols: the runbook's `openssl s_client` (`-tls1_1`), `nmap --script ssl-enum-ciphers`
and `openssl x509 -noout -dates`."""

import pytest

from opscheck import judge, measure

pytestmark = pytest.mark.daily


@pytest.mark.high
def test_tls_days_left(tls_endpoint):
    judge(measure(tls_endpoint))


@pytest.mark.high
def test_tls_old_protocols(tls_protocols):
    judge(measure(tls_protocols))


@pytest.mark.high
def test_certificate_file(cert_file):
    judge(measure(cert_file))
