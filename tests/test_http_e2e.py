"""End to end: the real checks/test_http.py and checks/test_tls.py run by pytest on an inventory of loopback servers."""

from __future__ import annotations

import pytest
from http_tls_servers import HttpServer, Pki, TlsServer

SECRET = "e2e-planted-token-91b2c7d4"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-pki")
    pki = Pki(folder)
    http = HttpServer()
    tls = TlsServer(*pki.leaf("d20", days=20))
    expired = pki.leaf("expired", days=-3, valid_from_days=-90)
    yield http, tls, pki, expired
    http.close()
    tls.close()


def inventory(servers, flap_key: str) -> str:
    """Every case once; `flap_key` keeps each run's flapping endpoint counting from zero."""
    http, tls, pki, (expired_cert, expired_key) = servers
    url, ws = http.url, http.url.replace("http://", "ws://")
    return f"""
        environment: e2e
        defaults: {{timeout: 3s}}
        http:
          - name: backend health
            url: {url}/health
            expect: {{status: 200, json: {{status: healthy, daily_pnl: {{gt: -50}}, last_trade: {{newer_than: 4h}}}}}}
            latency: {{warn: 2s, crit: 3s}}
            retries: 3
            retry_delay: 100ms
          - name: paper trading mode
            url: {url}/unsafe
            expect: {{json: {{paperTradingMode: true}}}}
            severity: critical
            schedule: [smoke, daily]
          - {{name: slow api, url: "{url}/slow?ms=400", latency: {{warn: 150ms, crit: 3s}}}}
          - {{name: flappy, url: "{url}/flap?key={flap_key}&fail=2", retries: 3, retry_delay: 100ms}}
          - {{name: hung, url: "{url}/hang", timeout: 1s}}
          - name: token api
            url: {url}/echo
            headers: {{Authorization: "env:OPSCHECK_E2E_TOKEN", X-Client-Ident: "env:OPSCHECK_E2E_TOKEN"}}
            expect: {{json: {{headers.X-Client-Ident: nobody}}}}
          - {{name: socket.io, url: "{ws}/ws?EIO=4&transport=websocket"}}
        tls:
          - {{endpoint: "{tls.endpoint}", servername: localhost, ca_file: "{pki.ca_file}"}}
          - {{file: "{expired_cert}", key: "{expired_key}"}}
    """


def expected_verdicts(servers) -> dict[str, str]:
    tls_endpoint, expired_cert = servers[1].endpoint, servers[3][0]
    return {
        "test_http_endpoint[backend health]": "OK",
        "test_http_endpoint[paper trading mode]": "CRIT",
        "test_http_endpoint[slow api]": "WARN",
        "test_http_endpoint[flappy]": "OK",
        "test_http_endpoint[hung]": "CRIT",
        "test_http_endpoint[token api]": "CRIT",
        "test_websocket_upgrade[socket.io]": "OK",
        f"test_tls_days_left[localhost@{tls_endpoint}]": "WARN",
        f"test_tls_old_protocols[localhost@{tls_endpoint}]": "OK",
        f"test_certificate_file[local:{expired_cert}]": "CRIT",
    }


def test_daily_suite_verdicts_exit_code_and_records(suite, servers, monkeypatch):
    monkeypatch.setenv("OPSCHECK_E2E_TOKEN", SECRET)
    result = suite.run("-m", "daily", "-v", "-rA", inventory=inventory(servers, flap_key="daily"))
    tls_endpoint = servers[1].endpoint
    assert result.ret == 1, result.stdout.str()
    assert suite.verdicts() == expected_verdicts(servers)
    result.stdout.re_match_lines([r"=+ 4 failed, 4 passed, .*2 warned in .*"])

    paper = suite.check("test_http_endpoint[paper trading mode]")
    assert paper["severity"] == "critical" and paper["schedules"] == ["smoke", "daily"]
    assert paper["problems"] == ["paperTradingMode: expected true, found false"]
    assert paper["summary"].endswith("response: paperTradingMode: expected true, found false")
    flappy = suite.check("test_http_endpoint[flappy]")
    assert flappy["summary"].endswith("(recovered after 2 failed attempts)")
    assert [a["status"] for a in flappy["evidence"]["attempts"]] == [503, 503, 200]
    hung = suite.check("test_http_endpoint[hung]")
    assert hung["summary"] == "hung: timed out after 1s waiting for an answer"
    slow = suite.check("test_http_endpoint[slow api]")
    assert slow["unit"] == "s" and 0.4 <= slow["value"] < 3 and (slow["warn"], slow["crit"]) == (0.15, 3)
    tls = suite.check(f"test_tls_days_left[localhost@{tls_endpoint}]")
    assert (tls["value"], tls["unit"], tls["warn"], tls["crit"], tls["direction"]) == (20, "days", 30, 7, "below")
    assert tls["severity"] == "high"
    result.stdout.fnmatch_lines(["*CRIT: paper trading mode: HTTP 200, *response: paperTradingMode: expected true, found false*"])


def test_planted_secret_header_appears_in_no_output(suite, servers, monkeypatch):
    monkeypatch.setenv("OPSCHECK_E2E_TOKEN", SECRET)
    result = suite.run("-m", "daily", "-vv", "-rA", "--tb=long", "--junitxml=junit.xml", inventory=inventory(servers, flap_key="secret"))
    assert result.ret == 1
    token = suite.check("test_http_endpoint[token api]")
    # The server received the token (it echoes it back, the expectation compares it), masked on the way out.
    assert token["problems"] == ['headers.X-Client-Ident: expected "nobody", found "***"']
    assert token["evidence"]["request"]["headers"] == {"Authorization": "***", "X-Client-Ident": "***"}
    outputs = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    for path in [*suite.reports.rglob("*"), suite.path / "junit.xml"]:
        if path.is_file():
            outputs[str(path)] = path.read_bytes().decode("utf-8", "replace")
    assert len(outputs) >= 4
    leaks = [name for name, text in outputs.items() if SECRET in text]
    assert leaks == []


def test_smoke_runs_only_the_safety_flag(suite, servers, monkeypatch):
    monkeypatch.setenv("OPSCHECK_E2E_TOKEN", SECRET)
    result = suite.run("-m", "smoke", inventory=inventory(servers, flap_key="smoke"))
    assert result.ret == 1
    outcomes = result.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("passed"), outcomes.get("warned")) == (1, None, None), outcomes
    assert suite.verdicts() == {"test_http_endpoint[paper trading mode]": "CRIT"}


def test_measured_concurrently_the_verdicts_are_the_same(suite, servers, monkeypatch):
    monkeypatch.setenv("OPSCHECK_E2E_TOKEN", SECRET)
    result = suite.run("-m", "daily", "--concurrency=8", inventory=inventory(servers, flap_key="concurrent"))
    assert result.ret == 1
    assert suite.verdicts() == expected_verdicts(servers)
    assert suite.check("test_http_endpoint[flappy]")["summary"].endswith("(recovered after 2 failed attempts)")
