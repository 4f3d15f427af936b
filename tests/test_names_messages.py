"""Names and messages that read right (issue 13 §4): `name:` in every test id, the host said once,
one rounding rule for certificate days, limits printed in the unit the user wrote."""

from __future__ import annotations

import pytest

from opscheck.inventory.model import Inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.registry import get
from opscheck.verdict import Verdict


def targets(inventory: dict, kind: str):
    return get(kind).targets(Inventory.model_validate(inventory))


@pytest.mark.parametrize(("section", "entry", "kind", "expected"), [
    ("tls", {"name": "public site", "endpoint": "example.com:443"}, "tls_endpoint", "public site"),
    ("tls", {"name": "site cert", "file": "/etc/ssl/site.pem"}, "cert_file", "local:site cert"),
    ("system", {"name": "data volumes", "disk": {"mount": "/var"}}, "disk", "local:data volumes:/var"),
    ("system", {"name": "app box", "memory": {"warn": "80%"}}, "memory", "local:app box"),
    ("logs", {"name": "backend", "path": "/var/log/app.log", "patterns": {"errors": "ERROR"}}, "log_pattern", "local:backend:errors"),
    ("logs", {"name": "worker errors", "path": "/var/log/w.log", "pattern": "ERROR"}, "log_pattern", "local:worker errors"),
    ("hygiene", {"name": "patching", "uptime": {"warn": "180d"}}, "uptime", "local:patching"),
    ("services", {"name": "web", "units": ["nginx"]}, "unit", "local:web:nginx"),
])
def test_name_is_used_in_the_test_id(section, entry, kind, expected):
    (target,) = targets({section: [entry]}, kind)
    assert target.id == expected


def test_without_a_name_the_id_says_what_is_checked():
    (disk,) = targets({"system": [{"disk": {"mount": "/var"}}]}, "disk")
    (log,) = targets({"logs": [{"path": "/var/log/app.log", "patterns": {"errors": "ERROR"}}]}, "log_pattern")
    assert (disk.id, log.id) == ("local:/var", "local:/var/log/app.log:errors")


def test_an_unreachable_host_is_named_once():
    """A real SSH connection refused (nothing listens on port 1): CRIT naming the host once."""
    inventory = {"hosts": {"app": ["ssh://root@127.0.0.1:1"]}, "system": [{"on": "app", "memory": {"warn": "80%"}}]}
    (target,) = targets(inventory, "memory")
    result = evaluate(probe_once(target))
    host = target.host.name
    assert result.verdict is Verdict.CRIT, result.summary
    assert result.summary.startswith(f"{host}: unreachable: ")
    assert not result.summary.startswith(f"{host}: {host}"), result.summary


def test_an_expired_certificate_counts_days_one_way():
    """Expired 2.5 days ago: "-3 days left" and "(3 days ago)", never "-3 days left … (2 days ago)"."""
    from datetime import datetime, timezone

    from http_tls_servers import issue

    from opscheck.probes.tls import x509info

    cert = issue("expired.test", days=-2.5, valid_from_days=-90).cert  # its helper adds an hour: 2.46 days ago
    now = datetime.now(timezone.utc)
    m = x509info.days_measurement("site", [cert], now, problems=tuple(x509info.expiry_problems([cert], now)))
    assert m.value == -3
    (problem,) = m.problems
    assert problem.endswith("(3 days ago)"), problem


def test_size_limits_print_in_the_unit_the_user_wrote():
    """A real database of a few MB against `warn: 1MB, crit: 1GiB`: the limits read as written, and
    the size beside a decimal limit in decimal units (never `warn 976.6KiB`)."""
    from pg_servers import dsn, result

    r = result({"postgres": [{"name": "main", "dsn": dsn("test"), "database_size": {"warn": "1MB", "crit": "1GiB"}}]},
               "pg_database_size")
    assert r.verdict is Verdict.WARN, r.summary
    assert "(warn 1MB, crit 1GiB)" in r.summary
    assert "KiB" not in r.summary and "MiB" not in r.summary
    assert r.measurement.value > 1_000_000
