"""TLS endpoint and certificate-file checks against real TLS servers and certificates made here."""

from __future__ import annotations

import re
import socket
import ssl
import textwrap
import time
from pathlib import Path

import pytest
from http_tls_servers import HttpServer, Pki, TlsServer, issue

from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.result import Result

DATE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
LIMITS = "(warn below 30 days, crit below 7 days)"


class Servers:
    """One TLS server per certificate situation, sharing one test CA."""

    def __init__(self, folder: Path) -> None:
        self.pki = pki = Pki(folder)
        self.ca_file = pki.ca_file
        self.intermediate = issue("opscheck test intermediate", days=10, issuer=pki.ca, ca=True)
        self.files = {
            "d400": pki.leaf("d400", days=400),
            "d20": pki.leaf("d20", days=20),
            "d5": pki.leaf("d5", days=5),
            "expired": pki.leaf("expired", days=-3, valid_from_days=-90),
            "future": pki.leaf("future", days=400, valid_from_days=2),
            "other-name": pki.leaf("other-name", days=400, names=("other.test",)),
            "self-signed": pki.write("self-signed", issue("self-signed.test", days=400)),
            "chain": pki.write("chain", issue("chained.test", days=400, issuer=self.intermediate), (self.intermediate,)),
        }
        self.servers = {name: TlsServer(*paths) for name, paths in self.files.items()}

    def endpoint(self, name: str) -> str:
        return self.servers[name].endpoint

    def close(self) -> None:
        for server in self.servers.values():
            server.close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    servers = Servers(tmp_path_factory.mktemp("tls"))
    yield servers
    servers.close()


def check(tmp_path: Path, entry: str, kind: str = "tls_endpoint", timeout: str = "5s") -> Result:
    path = tmp_path / "inventory.yml"
    path.write_text(f"defaults: {{timeout: {timeout}}}\ntls:\n" + textwrap.indent(textwrap.dedent(entry).strip(), "  ") + "\n")
    (target,) = registry.get(kind).targets(load_inventory(path))
    return evaluate(probe_once(target))


@pytest.mark.parametrize(("name", "days", "verdict"), [("d400", 400, "OK"), ("d20", 20, "WARN"), ("d5", 5, "CRIT")])
def test_days_left_against_the_defaults(tls, tmp_path, name, days, verdict):
    endpoint = tls.endpoint(name)
    result = check(tmp_path, f"- {{endpoint: '{endpoint}', servername: localhost, ca_file: '{tls.ca_file}'}}")
    m = result.measurement
    assert result.verdict.value == verdict, result.summary
    assert (m.value, m.unit, m.problems) == (days, "days", ())
    assert re.fullmatch(rf"{endpoint} {days} days left on CN={name}\.test \(until {DATE}\) {re.escape(LIMITS)}", result.summary)
    assert m.evidence["verification"] == "ok" and m.evidence["protocol"] in ("TLSv1.2", "TLSv1.3")
    assert m.evidence["chain"][0]["san"] == ["DNS:localhost", "IP:127.0.0.1"]
    assert m.evidence["chain"][0]["issuer"] == "CN=opscheck test root CA"


def test_expired_certificate_is_crit_with_its_dates(tls, tmp_path):
    result = check(tmp_path, f"- {{endpoint: '{tls.endpoint('expired')}', servername: localhost, ca_file: '{tls.ca_file}'}}")
    m = result.measurement
    assert result.verdict.value == "CRIT"
    assert m.value == -3
    (problem,) = m.problems
    assert re.fullmatch(rf"leaf CN=expired\.test expired on {DATE} \(3 days ago\)", problem), problem
    assert m.evidence["verification"] == "certificate has expired"
    assert m.evidence["chain"][0]["not_after"] in problem


def test_not_yet_valid_certificate_is_crit(tls, tmp_path):
    result = check(tmp_path, f"- {{endpoint: '{tls.endpoint('future')}', servername: localhost, ca_file: '{tls.ca_file}'}}")
    assert result.verdict.value == "CRIT"
    (problem,) = result.measurement.problems
    assert re.fullmatch(rf"leaf CN=future\.test is not valid before {DATE}", problem), problem
    assert result.measurement.value == 400


def test_wrong_hostname_is_crit_naming_the_certificate_names(tls, tmp_path):
    result = check(tmp_path, f"- {{endpoint: '{tls.endpoint('other-name')}', servername: localhost, ca_file: '{tls.ca_file}'}}")
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == ("hostname localhost does not match the certificate (DNS:other.test)",)
    assert result.measurement.value == 400


def test_untrusted_self_signed_is_crit_and_insecure_is_a_weakened_ok(tls, tmp_path):
    endpoint = tls.endpoint("self-signed")
    result = check(tmp_path, f"- {{endpoint: '{endpoint}', servername: localhost}}")
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == ("chain not trusted: self-signed certificate",)
    weak = check(tmp_path, f"- {{endpoint: '{endpoint}', servername: localhost, insecure: true}}")
    assert weak.verdict.value == "OK"
    assert weak.summary.endswith("(verification off (insecure: true): chain trust and hostname not checked)")
    assert weak.measurement.evidence["verification"] == "off (insecure: true)"


def test_an_intermediate_that_expires_first_is_the_one_judged_and_named(tls, tmp_path):
    endpoint = tls.endpoint("chain")
    result = check(tmp_path, f"- {{endpoint: '{endpoint}', servername: localhost, ca_file: '{tls.ca_file}'}}")
    m = result.measurement
    assert result.verdict.value == "WARN", result.summary
    assert m.value == 10
    assert re.fullmatch(rf"{endpoint} 10 days left on intermediate CN=opscheck test intermediate \(until {DATE}\) {re.escape(LIMITS)}", result.summary)
    assert [(c["role"], round(c["days_left"])) for c in m.evidence["chain"]] == [("leaf", 400), ("intermediate", 10)]


def test_protocol_below_the_minimum_is_crit(tls, tmp_path):
    server = TlsServer(*tls.files["d400"], max_version=ssl.TLSVersion.TLSv1_2)
    try:
        entry = f"{{endpoint: '{server.endpoint}', servername: localhost, ca_file: '{tls.ca_file}'"
        default = check(tmp_path, f"- {entry}}}")
        strict = check(tmp_path, f"- {entry}, min_protocol: TLSv1.3}}")
    finally:
        server.close()
    assert default.verdict.value == "OK" and default.measurement.evidence["protocol"] == "TLSv1.2"
    assert strict.verdict.value == "CRIT"
    assert strict.measurement.problems == ("protocol TLSv1.2, expected at least TLSv1.3",)


def test_custom_days_thresholds(tls, tmp_path):
    result = check(tmp_path, f"- {{endpoint: '{tls.endpoint('d20')}', servername: localhost, ca_file: '{tls.ca_file}', days: {{warn: 14, crit: 3}}}}")
    assert result.verdict.value == "OK"
    assert result.summary.endswith("(warn below 14 days, crit below 3 days)")


def test_refused_and_plain_text_and_hung_endpoints_are_crit(tls, tmp_path):
    from conftest import free_port

    refused = check(tmp_path, f"- {{endpoint: '127.0.0.1:{free_port()}'}}")
    assert refused.verdict.value == "CRIT"
    assert refused.summary.endswith(": TLS handshake failed: connection refused")

    http = HttpServer()
    try:
        plain = check(tmp_path, f"- {{endpoint: '127.0.0.1:{http.server_address[1]}'}}")
    finally:
        http.close()
    assert plain.verdict.value == "CRIT"
    assert re.search(r": TLS handshake failed: \w", plain.summary), plain.summary

    silent = socket.create_server(("127.0.0.1", 0))  # the kernel accepts; nobody ever answers
    try:
        started = time.monotonic()
        hung = check(tmp_path, f"- {{endpoint: '127.0.0.1:{silent.getsockname()[1]}'}}", timeout="1s")
        assert time.monotonic() - started < 4
    finally:
        silent.close()
    assert hung.verdict.value == "CRIT"
    assert hung.summary.endswith(": no TLS handshake within 1s")


def test_certificate_file_with_chain_and_matching_key(tls, tmp_path):
    cert, key = tls.files["chain"]
    result = check(tmp_path, f"- {{file: '{cert}', key: '{key}'}}", kind="cert_file")
    m = result.measurement
    assert result.verdict.value == "WARN"
    assert m.value == 10
    assert result.summary.startswith(f"{cert} 10 days left on intermediate CN=opscheck test intermediate")
    assert m.evidence["key"] == {"file": str(key), "matches_first_certificate": True}
    assert m.evidence["certificates"] == 2 and m.evidence["host"] == "local"
    assert "PRIVATE" not in str(m.evidence)


def test_certificate_file_with_someone_elses_key_is_crit(tls, tmp_path):
    cert, _ = tls.files["d400"]
    _, other_key = tls.files["d20"]
    result = check(tmp_path, f"- {{file: '{cert}', key: '{other_key}'}}", kind="cert_file")
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == (f"key {other_key} does not belong to CN=d400.test",)
    assert result.measurement.value == 400


def test_expired_certificate_file_and_bundle(tls, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(b"".join(Path(tls.files[n][0]).read_bytes() for n in ("d400", "expired", "d20")))
    result = check(tmp_path, f"- {{file: '{bundle}'}}", kind="cert_file")
    m = result.measurement
    assert result.verdict.value == "CRIT"
    assert m.value == -3
    assert [round(c["days_left"]) for c in m.evidence["chain"]] == [400, -3, 20]
    (problem,) = m.problems
    assert re.fullmatch(rf"leaf CN=expired\.test expired on {DATE} \(3 days ago\)", problem), problem


def test_missing_and_malformed_certificate_files_are_crit(tmp_path):
    missing = check(tmp_path, f"- {{file: '{tmp_path}/nope.pem'}}", kind="cert_file")
    assert missing.verdict.value == "CRIT"
    assert missing.summary == f"local:{tmp_path}/nope.pem: the certificate file does not exist"
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    bad = check(tmp_path, f"- {{file: '{junk}'}}", kind="cert_file")
    assert bad.verdict.value == "CRIT"
    assert bad.summary == f"local:{junk}: not a PEM certificate file (no PEM certificate found)"


def test_targets_and_ids(tmp_path):
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent("""
        hosts: {web: ["local://"]}
        tls:
          - {name: public site, endpoint: "example.com:443"}
          - {endpoint: "10.0.0.5:8443", servername: api.internal}
          - {file: /etc/ssl/certs/site.pem, on: web}
          - {name: api cert, file: /etc/ssl/certs/api.pem, on: web}
          - {endpoint: "mail.example.com:25", starttls: smtp, days: {warn: 20, crit: 5}}
    """))
    inventory = load_inventory(path)
    endpoints = registry.get("tls_endpoint").targets(inventory)
    # `name:` is the id wherever it is given; else what the entry points at.
    assert [t.id for t in endpoints] == ["public site", "api.internal@10.0.0.5:8443", "mail.example.com:25"]
    assert endpoints[2].threshold.describe() == "warn below 20 days, crit below 5 days"
    from opscheck.probes.tls.endpoint import command

    assert command(endpoints[1].spec) == [
        "openssl", "s_client", "-connect", "10.0.0.5:8443", "-showcerts", "-servername", "api.internal", "-verify_hostname", "api.internal",
    ]
    assert "-starttls" in command(endpoints[2].spec)
    files = registry.get("cert_file").targets(inventory)
    assert [t.id for t in files] == ["local:/etc/ssl/certs/site.pem", "local:api cert"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{endpoint: 'a:1', file: /x.pem}", "tls[0]: expected exactly one of endpoint (host:port) or file"),
        ("{name: nothing}", "tls[0]: expected exactly one of endpoint (host:port) or file"),
        ("{endpoint: example.com}", "tls[0].endpoint: expected host:port (or [v6-address]:port), found 'example.com'"),
        ("{endpoint: 'a:443', on: all}", "tls[0]: on: does not apply to an endpoint"),
        ("{endpoint: 'a:443', key: /k.pem}", "tls[0]: key: belongs to a file: entry, not an endpoint"),
        ("{file: /c.pem, servername: a}", "tls[0]: servername: only for an endpoint: entry, not a file"),
        ("{endpoint: 'a:443', days: {warn: 5, crit: 10}}", "tls[0].days: warn 5 days is below crit 10 days"),
        ("{endpoint: 'a:443', starttls: gopher}", "tls[0].starttls"),
    ],
)
def test_inventory_mistakes_are_named(tmp_path, entry, message):
    path = tmp_path / "inventory.yml"
    path.write_text(f"tls:\n  - {entry}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert message in problem.replace("Value error, ", ""), problem
