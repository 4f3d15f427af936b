"""HTTP checks against real servers on loopback: verdict, value and message for each case."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from http_tls_servers import HttpServer, Pki, TlsServer

from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.result import Result


@pytest.fixture(scope="module")
def server():
    srv = HttpServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    pki = Pki(tmp_path_factory.mktemp("pki"))
    srv = TlsServer(*pki.leaf("api", days=400))
    yield srv, pki.ca_file
    srv.close()


def check(tmp_path: Path, entry: str, kind: str = "http", timeout: str = "5s") -> Result:
    """Load a one-entry `http:` inventory through the real loader, probe it, judge it."""
    path = tmp_path / "inventory.yml"
    path.write_text(f"defaults: {{timeout: {timeout}}}\nhttp:\n" + textwrap.indent(textwrap.dedent(entry).strip(), "  ") + "\n")
    (target,) = registry.get(kind).targets(load_inventory(path))
    return evaluate(probe_once(target))


def test_healthy_json_meets_every_kind_of_expectation(server, tmp_path):
    result = check(tmp_path, f"""
        - name: backend health
          url: {server.url}/health
          expect:
            status: 200
            json:
              status: healthy
              paperTradingMode: true
              daily_pnl: {{gt: -50}}
              positions: {{length: {{ge: 1}}}}
              "positions[0].symbol": {{in: [BTC, ETH]}}
              last_trade: {{newer_than: 4h}}
              error: {{absent: true}}
          latency: {{warn: 2s, crit: 5s}}
    """)
    m = result.measurement
    assert result.verdict.value == "OK", result.summary
    assert 0 < m.value < 2 and m.unit == "s"
    assert result.summary.startswith("backend health: HTTP 200, ") and result.summary.endswith("response (warn 2s, crit 5s)")
    assert [e["met"] for e in m.evidence["expectations"]] == [True] * 8
    assert m.evidence["expectations"][3] == {"expected": "daily_pnl: > -50", "met": True}
    assert m.evidence["response"]["status"] == 200 and '"paperTradingMode": true' in m.evidence["response"]["body"]
    assert m.evidence["request"] == {"method": "GET", "url": f"{server.url}/health"}
    assert len(m.evidence["attempts"]) == 1


def test_unhealthy_json_names_path_expected_and_found(server, tmp_path):
    result = check(tmp_path, f"""
        - name: trading status
          url: {server.url}/unhealthy
          expect: {{json: {{status: healthy, daily_pnl: {{gt: -50}}, positions: {{length: {{ge: 1}}}}, version: {{exists: true}}}}}}
    """)
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == (
        'status: expected "healthy", found "degraded"',
        "daily_pnl: expected > -50, found -72.5",
        "positions: expected length >= 1, found length 0",
        "version: expected present, found nothing (no such path)",
    )
    assert result.summary.startswith("trading status: HTTP 200, ")
    assert 'status: expected "healthy", found "degraded"' in result.summary


def test_paper_trading_off_is_crit_naming_the_path(server, tmp_path):
    result = check(tmp_path, f"""
        - {{name: paper trading, url: "{server.url}/unsafe", expect: {{json: {{paperTradingMode: true, isVirtual: true}}}}, severity: critical}}
    """)
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == ("paperTradingMode: expected true, found false",)
    assert result.severity == "critical"
    assert result.summary.endswith("response: paperTradingMode: expected true, found false")


def test_stale_timestamp_says_how_old(server, tmp_path):
    result = check(tmp_path, f"""
        - {{name: trades, url: "{server.url}/stale", expect: {{json: {{last_trade: {{newer_than: 4h}}}}}}}}
    """)
    assert result.verdict.value == "CRIT"
    (problem,) = result.measurement.problems
    assert problem.startswith('last_trade: expected newer than 4h, found "') and problem.endswith("(7.5h old)")


def test_wrong_status(server, tmp_path):
    result = check(tmp_path, f"- {{name: api, url: '{server.url}/wrong-status', expect: {{status: 200}}}}")
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == ("status 503, expected 200",)
    assert result.summary.startswith("api: HTTP 503, ")
    assert result.measurement.evidence["response"]["reason"] == "Service Unavailable"


def test_default_status_is_any_2xx_and_lists_are_accepted(server, tmp_path):
    assert check(tmp_path, f"- {{url: '{server.url}/wrong-status'}}").measurement.problems == ("status 503, expected 2xx",)
    result = check(tmp_path, f"- {{url: '{server.url}/wrong-status', expect: {{status: [200, 503]}}}}")
    assert result.verdict.value == "OK"
    assert result.measurement.evidence["expectations"] == [{"expected": "status 200 or 503", "met": True}]


def test_slow_between_warn_and_crit_warns(server, tmp_path):
    result = check(tmp_path, f"- {{name: slow api, url: '{server.url}/slow?ms=400', latency: {{warn: 150ms, crit: 4s}}}}")
    assert result.verdict.value == "WARN", result.summary
    assert 0.4 <= result.measurement.value < 4
    assert result.summary.startswith("slow api: HTTP 200, ") and result.summary.endswith("response (warn 150ms, crit 4s)")


def test_hung_server_is_crit_within_the_timeout(server, tmp_path):
    started = time.monotonic()
    result = check(tmp_path, f"- {{name: hung, url: '{server.url}/hang'}}", timeout="1s")
    elapsed = time.monotonic() - started
    assert result.verdict.value == "CRIT"
    assert result.summary == "hung: timed out after 1s waiting for an answer"
    assert 0.9 <= elapsed < 4
    assert result.measurement.evidence["attempts"][0]["error"] == "timed out after 1s waiting for an answer"


def test_flap_that_recovers_is_ok_with_every_attempt_on_record(server, tmp_path):
    result = check(tmp_path, f"- {{name: flappy, url: '{server.url}/flap?key=recovers&fail=2', retries: 3, retry_delay: 100ms}}")
    assert result.verdict.value == "OK", result.summary
    assert result.measurement.notes == ("recovered after 2 failed attempts",)
    assert result.summary.endswith("response (recovered after 2 failed attempts)")
    attempts = result.measurement.evidence["attempts"]
    assert [a.get("status") for a in attempts] == [503, 503, 200]
    assert attempts[0]["problems"] == ["status 503, expected 2xx"]


def test_flap_that_never_recovers_is_crit_after_three_attempts(server, tmp_path):
    started = time.monotonic()
    result = check(tmp_path, f"- {{name: down, url: '{server.url}/flap?key=never&fail=99', retries: 3, retry_delay: 200ms}}")
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == ("status 503, expected 2xx",)
    assert result.summary.endswith("(failed 3 consecutive attempts)")
    assert [a["status"] for a in result.measurement.evidence["attempts"]] == [503, 503, 503]
    assert server.flaps["never"] == 3
    assert time.monotonic() - started >= 0.4  # the delays were kept


def test_retries_of_a_hung_server_stay_inside_the_backstop(server, tmp_path):
    started = time.monotonic()
    result = check(tmp_path, f"- {{name: hung, url: '{server.url}/hang', retries: 2, retry_delay: 100ms}}", timeout="1s")
    assert result.verdict.value == "CRIT"
    assert result.summary == "hung: timed out after 1s waiting for an answer (failed 2 consecutive attempts)"
    assert len(result.measurement.evidence["attempts"]) == 2
    assert time.monotonic() - started < 1 * 2 + 5  # measuring's backstop for timeout 1s, retries 2


def test_connection_refused_is_crit(tmp_path):
    from conftest import free_port

    result = check(tmp_path, f"- {{name: nothing, url: 'http://127.0.0.1:{free_port()}/health'}}")
    assert result.verdict.value == "CRIT"
    assert result.summary == "nothing: cannot connect: Connection refused"


def test_body_regex(server, tmp_path):
    ok = check(tmp_path, f"- {{url: '{server.url}/text', expect: {{body: 'systems nominal'}}}}")
    assert ok.verdict.value == "OK"
    bad = check(tmp_path, f"- {{url: '{server.url}/text', expect: {{body: 'all green'}}}}")
    assert bad.verdict.value == "CRIT"
    assert bad.measurement.problems == ('body does not match /all green/ (starts "<html>all systems nominal</html>")',)


def test_json_expectation_on_a_body_that_is_not_json(server, tmp_path):
    result = check(tmp_path, f"- {{url: '{server.url}/text', expect: {{json: {{status: healthy}}}}}}")
    assert result.verdict.value == "CRIT"
    (problem,) = result.measurement.problems
    assert problem.startswith('status: expected "healthy", found a body that is not JSON (Expecting value')


def test_secret_header_is_sent_but_masked_everywhere(server, tmp_path, monkeypatch):
    secret = "planted-secret-7f3a9c"
    monkeypatch.setenv("OPSCHECK_TEST_API_TOKEN", secret)
    result = check(tmp_path, f"""
        - name: echo
          url: {server.url}/echo
          headers: {{X-Api-Token: "env:OPSCHECK_TEST_API_TOKEN", Accept: application/json}}
          expect: {{json: {{"headers.X-Api-Token": wrong}}}}
    """)
    # The server saw the real value (the expectation compares it), yet nothing shows it.
    assert result.verdict.value == "CRIT"
    assert result.measurement.evidence["request"]["headers"] == {"X-Api-Token": "***", "Accept": "application/json"}
    record = str(result.to_dict())
    assert secret not in record and secret not in result.summary
    assert "***" in result.measurement.evidence["response"]["body"]


def test_a_secret_where_the_excerpt_is_cut_leaves_no_half_behind(server, tmp_path, monkeypatch):
    secret = "cut-secret-value-4e8d2b1a9f"
    monkeypatch.setenv("OPSCHECK_TEST_CLIENT_IDENT", secret)
    result = check(tmp_path, f"""
        - url: {server.url}/padded?pad=1990
          headers: {{X-Client-Ident: "env:OPSCHECK_TEST_CLIENT_IDENT"}}
          expect: {{body: '^nothing like this'}}
    """)
    body = result.measurement.evidence["response"]["body"]
    assert result.verdict.value == "CRIT"
    assert body.startswith("x" * 1990 + "***") and body.endswith("(2117 bytes in all)")
    assert secret[:6] not in str(result.to_dict())


def test_post_sends_a_json_body_and_head_has_none(server, tmp_path):
    post = check(tmp_path, f"""
        - name: graphql status
          url: {server.url}/echo
          method: post
          body: {{query: "{{ status }}"}}
          expect: {{json: {{method: POST, body.query: "{{ status }}", "headers.Content-Type": application/json}}}}
    """)
    assert post.verdict.value == "OK", post.summary
    assert post.measurement.evidence["request"]["method"] == "POST"
    head = check(tmp_path, f"- {{url: '{server.url}/health', method: HEAD}}")
    assert head.verdict.value == "OK" and head.measurement.evidence["response"]["body_bytes"] == 0


def test_https_with_ca_file_untrusted_and_insecure(tls_server, tmp_path):
    server, ca_file = tls_server
    ok = check(tmp_path, f"- {{name: private api, url: 'https://localhost:{server.port}/', ca_file: '{ca_file}'}}")
    assert ok.verdict.value == "OK", ok.summary
    assert ok.measurement.evidence["tls"] == f"verified against ca_file {ca_file}"
    untrusted = check(tmp_path, f"- {{name: private api, url: 'https://localhost:{server.port}/'}}")
    assert untrusted.verdict.value == "CRIT"
    assert untrusted.summary == "private api: TLS handshake failed: unable to get local issuer certificate"
    weak = check(tmp_path, f"- {{name: private api, url: 'https://localhost:{server.port}/', insecure: true}}")
    assert weak.verdict.value == "OK"
    assert weak.summary.endswith("(TLS verification off (insecure: true): weakened check)")
    assert weak.measurement.evidence["tls"] == "not verified (insecure: true)"


def test_websocket_upgrade(server, tmp_path):
    ws = server.url.replace("http://", "ws://")
    ok = check(tmp_path, f"- {{name: socket.io, url: '{ws}/ws?EIO=4&transport=websocket'}}", kind="websocket")
    assert ok.verdict.value == "OK", ok.summary
    assert ok.summary.startswith("socket.io: HTTP 101, ") and ok.summary.endswith("upgrade")
    assert ok.measurement.evidence["response"]["headers"]["Upgrade"] == "websocket"
    bad = check(tmp_path, f"- {{name: proxy, url: '{ws}/ws?bad=accept'}}", kind="websocket")
    assert bad.verdict.value == "CRIT"
    assert bad.measurement.problems == ("Sec-WebSocket-Accept 'd3JvbmcgYWNjZXB0IHZhbHVl' does not answer our key (a proxy that does not speak WebSocket?)",)
    plain = check(tmp_path, f"- {{name: no upgrade, url: '{ws}/health'}}", kind="websocket")
    assert plain.verdict.value == "CRIT"
    assert plain.measurement.problems == ("status 200, expected 101 (no upgrade)",)


def test_wss_upgrade_against_a_tls_server_that_does_not_upgrade(tls_server, tmp_path):
    server, ca_file = tls_server
    result = check(tmp_path, f"- {{name: wss, url: 'wss://localhost:{server.port}/ws', ca_file: '{ca_file}'}}", kind="websocket")
    assert result.verdict.value == "CRIT"
    assert result.measurement.problems == ("status 200, expected 101 (no upgrade)",)
    assert result.measurement.evidence["tls"] == f"verified against ca_file {ca_file}"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{url: 'http://x/', on: app}", "http[0]: Value error, on: does not apply to http checks: they run from the runner, not on hosts"),
        ("{url: 'http://x/', method: DELETE}", "http[0].method: Value error, expected one of GET, HEAD, OPTIONS, POST (checks never change what they check), found 'DELETE'"),
        ("{url: 'x.example.com/health'}", "http[0].url: Value error, expected an absolute URL (http://, https://, ws://, wss://), found 'x.example.com/health'"),
        ("{url: 'http://x/', expect: {json: {pnl: {gte: 1}}}}", "http[0].expect.json: Value error, pnl: unknown operator 'gte' (known: eq, ne, gt, ge, lt, le, in, matches, exists, absent, length, newer_than"),
        ("{url: 'http://x/', expect: {json: {pnl: {gt: low}}}}", "http[0].expect.json: Value error, pnl.gt: expected a number, found 'low'"),
        ("{url: 'http://x/', expect: {json: {'a..b': 1}}}", "http[0].expect.json: Value error, a..b: not a JSON path"),
        ("{url: 'http://x/', expect: {status: 2000}}", "http[0].expect.status: Value error, expected an HTTP status code (100-599) or a list of them, found 2000"),
        ("{url: 'http://x/', retries: 0}", "http[0].retries"),
        ("{url: 'ws://x/', expect: {json: {a: 1}}}", "http[0]: Value error, a ws:// or wss:// check is an upgrade handshake"),
        ("{url: 'http://x/', headers: {Authorization: 'env:OPSCHECK_SURELY_UNSET_VAR'}}", "http[0].headers.Authorization: Value error, environment variable OPSCHECK_SURELY_UNSET_VAR is not set"),
    ],
)
def test_inventory_mistakes_are_named(tmp_path, entry, message):
    path = tmp_path / "inventory.yml"
    path.write_text(f"http:\n  - {entry}\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert message.replace("Value error, ", "") in problem.replace("Value error, ", ""), problem


def test_two_hundred_endpoints_measured_concurrently(server, tmp_path):
    """200 endpoints of 200 ms each: 40 s one at a time; on 50 threads a few seconds."""
    from opscheck.measuring import forget, measure, prefetch

    entries = "\n".join(f"  - {{name: ep{i:03d}, url: '{server.url}/slow?ms=200'}}" for i in range(200))
    path = tmp_path / "inventory.yml"
    path.write_text("http:\n" + entries + "\n")
    targets = registry.get("http").targets(load_inventory(path))
    started = time.monotonic()
    prefetch(targets, 50)
    results = [evaluate(measure(t)) for t in targets]
    elapsed = time.monotonic() - started
    forget()
    assert [r.verdict.value for r in results] == ["OK"] * 200
    assert all(0.2 <= r.measurement.value < 10 for r in results)
    assert elapsed < 20, f"200 probes took {elapsed:.1f}s on 50 threads"
    print(f"\n200 HTTP probes of 200ms on 50 threads: {elapsed:.2f}s")


def test_example_inventory_http_and_tls_sections_are_valid(tmp_path, monkeypatch):
    """The documented example must load: its http/tls sections, with the hosts they name."""
    import yaml

    from conftest import ROOT

    monkeypatch.setenv("BACKEND_HEALTH_TOKEN", "example-token-value")
    from opscheck.inventory.loader import InventoryLoader

    data = yaml.load((ROOT / "inventories" / "example-production.yml").read_text(), Loader=InventoryLoader)
    mine = {key: data[key] for key in ("hosts", "http", "tls")}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(mine))
    inventory = load_inventory(path)
    safety = [t for t in registry.get("http").targets(inventory) if t.severity == "critical"]
    assert [t.id for t in safety] == ["paper trading mode", "virtual account"]
    assert all(t.schedules == ("smoke", "daily") for t in safety)
    assert [t.id for t in registry.get("websocket").targets(inventory)] == ["live updates"]
    assert len(registry.get("tls_endpoint").targets(inventory)) == 3
    assert len(registry.get("cert_file").targets(inventory)) == 2  # on: app, two hosts
