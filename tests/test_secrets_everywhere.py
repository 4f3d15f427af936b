"""Issue 14 §2: the credential inside every secret is masked wherever a server echoes it, the
redactor is linear on adversarial text, and secrets that would mask ordinary words are refused."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.redact import credential_parts, redact, register_credential

# Planted secrets: distinctive, so a hit is a leak and not a coincidence.
BEARER = "brr-7f3a9c21e5d04b8a"
BASIC_USER, BASIC_PASSWORD = "svc-monitor", "bsc-pw-5e8d2a91c4"
SESSION = "sess-4c9e1b7a2f60"
API_KEY = "apik-0d6b3e8f1a27c5"


class _Echo(BaseHTTPRequestHandler):
    """Echoes the bare credentials it received, in a header and in the JSON body, as careless servers do."""

    def do_GET(self):  # noqa: N802 - http.server's naming
        auth = self.headers.get("Authorization", "")
        seen = {"bearer": "", "basic": "", "password": "", "session": "", "key": self.headers.get("X-Api-Key", "")}
        if auth.startswith("Bearer "):
            seen["bearer"] = auth[7:]
        if auth.startswith("Basic "):
            seen["basic"] = base64.b64decode(auth[6:]).decode()
            seen["password"] = seen["basic"].split(":", 1)[1]
        session = self.headers.get("X-Session", "")
        if session.startswith("token="):
            seen["session"] = session[6:]
        body = json.dumps({"status": "bad", "echo": seen}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Echo", " ".join(v for v in seen.values() if v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def echo_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _secrets_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSCHECK_PLANT_BEARER", f"Bearer {BEARER}")
    basic = base64.b64encode(f"{BASIC_USER}:{BASIC_PASSWORD}".encode()).decode()
    monkeypatch.setenv("OPSCHECK_PLANT_BASIC", f"Basic {basic}")
    (tmp_path / "session").write_text(f"token={SESSION}\n")
    monkeypatch.setenv("OPSCHECK_PLANT_KEY", API_KEY)


def test_every_planted_secret_is_masked_in_every_output(suite, echo_server, monkeypatch, tmp_path):
    _secrets_env(monkeypatch, tmp_path)
    inventory = f"""
        environment: plant
        defaults: {{timeout: 3s}}
        http:
          - name: bearer echo
            url: {echo_server}/a
            headers: {{Authorization: env:OPSCHECK_PLANT_BEARER, X-Session: "file:{tmp_path}/session"}}
            expect: {{json: {{echo.bearer: nobody, echo.session: nobody}}}}
          - name: basic echo
            url: {echo_server}/b
            headers: {{Authorization: env:OPSCHECK_PLANT_BASIC, X-Api-Key: env:OPSCHECK_PLANT_KEY}}
            expect: {{json: {{echo.basic: nobody, echo.password: nobody, echo.key: nobody}}}}
    """
    result = suite.run("-m", "daily", "-vv", "-rA", "--tb=long", "--junitxml=junit.xml", "--log-level=DEBUG", inventory=inventory)
    assert result.ret == 1, result.stdout.str()
    # The bare credentials reached the probe (the server echoed them) and were masked on the way out.
    assert suite.check("test_http_endpoint[bearer echo]")["problems"] == [
        'echo.bearer: expected "nobody", found "***"', 'echo.session: expected "nobody", found "***"',
    ]
    assert suite.check("test_http_endpoint[basic echo]")["problems"] == [
        'echo.basic: expected "nobody", found "***"', 'echo.password: expected "nobody", found "***"',
        'echo.key: expected "nobody", found "***"',
    ]
    planted = [BEARER, f"Bearer {BEARER}", f"{BASIC_USER}:{BASIC_PASSWORD}", BASIC_PASSWORD, SESSION, f"token={SESSION}", API_KEY]
    places = {"stdout": result.stdout.str(), "stderr": result.stderr.str()}
    for path in [*suite.reports.rglob("*"), suite.path / "junit.xml"]:
        if path.is_file():
            places[str(path.relative_to(suite.path))] = path.read_bytes().decode("utf-8", "replace")
    names = set(places)
    for wanted in ("stdout", "junit.xml", "results.json", "report.html"):
        assert any(name.endswith(wanted) for name in names), (wanted, sorted(names))
    assert any("allure" in name for name in names), sorted(names)
    hits = [(secret, place) for secret in planted for place, text in places.items() if secret in text]
    assert hits == []
    # The environment name and check names are not secrets: still readable.
    assert "plant" in places["stdout"] and "bearer echo" in places["stdout"]
    print(f"secrets planted x places searched: {len(planted)} x {len(places)} = {len(planted) * len(places)}, hits: 0")


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        (f"Bearer {BEARER}", [BEARER]),
        (f"token {BEARER}", [BEARER]),
        ("Basic " + base64.b64encode(b"svc-monitor:bsc-pw-5e8d2a91c4").decode(), [None, "svc-monitor:bsc-pw-5e8d2a91c4", "bsc-pw-5e8d2a91c4"]),
        (f"id=app123&token={SESSION}", [SESSION]),
        ("postgresql://app:Url-Secret-8812@db:5432/x", ["Url-Secret-8812"]),
        (API_KEY, []),
    ],
)
def test_credential_parts(value, parts):
    found = [part for _, part in credential_parts(value)]
    assert [p for p in found if p is not None] == [p if p is not None else found[0] for p in parts]


def test_registered_credential_masks_the_bare_token():
    register_credential(f"Bearer {BEARER}-unit")
    assert redact(f'{{"seen": "{BEARER}-unit"}}') == '{"seen": "***"}'
    assert redact(f"X-Echo: {BEARER}-unit") == "X-Echo: ***"


def test_help_text_is_not_masked():
    hint = "a password does not belong in the inventory: use dsn: env:NAME / file:/path, or password: env:NAME"
    assert redact(hint) == hint
    assert redact("password: hunter2-plain") == "password: ***"


# --- linear time ---------------------------------------------------------------------------------

def _seconds(text: str, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        redact(text)
        best = min(best, time.perf_counter() - start)
    return best


UNITS = ["tokenx-", "token", "password=", "a://b:", "x://", 'cookie:"a,', "cookie:'", "secret ", "pwd:", "api_key",
         "Authorization: ", "...", "-", "=", ":", "@", "/", " ", '"', "'", "a", "\n", "https://u:p", "passw"]


@pytest.mark.timeout(300)  # the old cubic redactor would run for hours: fail instead
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(UNITS), min_size=1, max_size=6))
def test_redaction_time_grows_linearly(units):
    """A repeated adversarial unit: 64 times the text may take at most 1024 times as long.

    The slack (x16 over linear) absorbs a shared machine's noise; a quadratic redactor takes
    4096 times as long, the old one (cubic) 262,144 times: 53 s at 5.6 KB.
    """
    unit = "".join(units)
    small = (unit * (1024 // len(unit) + 1))[:1024]
    large = (unit * (65536 // len(unit) + 1))[:65536]
    t_small, t_large = _seconds(small), _seconds(large)
    assert t_large <= 64 * 16 * max(t_small, 5e-5), (unit, t_small, t_large)


@pytest.mark.timeout(120)
def test_old_worst_case_is_fast():
    assert _seconds("tokenx-" * 800, rounds=1) < 1.0  # 53 s before


# --- refused at load time ------------------------------------------------------------------------

def _load(tmp_path: Path, text: str):
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    return [p.removeprefix(f"{path}:") for p in caught.value.problems]


def test_short_secret_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSCHECK_SHORT", "daily")
    assert _load(tmp_path, "http: [{name: a, url: 'http://127.0.0.1:1/', headers: {X-Api-Key: env:OPSCHECK_SHORT}}]\n") == [
        "1: http[0].headers.X-Api-Key: the secret from env:OPSCHECK_SHORT is 5 characters, shorter than 8: "
        "masking it would mask ordinary words in every report"
    ]


def test_short_basic_password_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSCHECK_BASIC_SHORT", "Basic " + base64.b64encode(b"monitoring:pw1").decode())
    (problem,) = _load(tmp_path, "http: [{name: a, url: 'http://127.0.0.1:1/', headers: {Authorization: env:OPSCHECK_BASIC_SHORT}}]\n")
    assert problem == (
        "1: http[0].headers.Authorization: the secret from env:OPSCHECK_BASIC_SHORT holds the Basic password of 3 characters, "
        "shorter than 8: masking it would mask ordinary words in every report"
    )


def test_secret_equal_to_a_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("OPSCHECK_NAMED", "production-eu")
    problems = _load(tmp_path, "environment: production-eu\nhttp: [{name: a, url: 'http://127.0.0.1:1/', headers: {X-Api-Key: env:OPSCHECK_NAMED}}]\n")
    assert problems == [
        "2: http[0].headers.X-Api-Key: the secret from env:OPSCHECK_NAMED equals or is part of the environment name: "
        "masking it would mask that name in every report; choose a longer secret"
    ]
    monkeypatch.setenv("OPSCHECK_NAMED", "billing-api")
    assert _load(tmp_path, "http: [{name: billing-api health, url: 'http://127.0.0.1:1/', headers: {X-Api-Key: env:OPSCHECK_NAMED}}]\n") == [
        "1: http[0].headers.X-Api-Key: the secret from env:OPSCHECK_NAMED equals or is part of the name of http[0]: "
        "masking it would mask that name in every report; choose a longer secret"
    ]


def test_inline_password_in_host_spec_is_refused(tmp_path):
    assert _load(tmp_path, "hosts:\n  web: ['ssh://deploy:Hunter-22-pw@web-1']\n") == [
        "2: hosts.web[0]: a password does not belong in a host spec (testinfra would pass it to sshpass on the command line): "
        "use an SSH key or agent, ssh://user@host"
    ]
    assert _load(tmp_path, "hosts:\n  web: [{name: w, spec: 'ssh://deploy:Hunter-22-pw@web-1'}]\n")[0].startswith(
        "2: hosts.web[0]: a password does not belong in a host spec"
    )


def test_testinfra_command_lines_are_not_logged(caplog):
    import opscheck.connect  # noqa: F401 - installs the filter

    caplog.set_level(logging.DEBUG)
    logging.getLogger("testinfra").setLevel(logging.DEBUG)  # as testinfra's own plugin does with -vv
    logging.getLogger("testinfra").debug("RUN CommandResult(command=b'sshpass -p Hunter-22-pw ssh web-1 true')")
    logging.getLogger("testinfra").warning("connection to web-1 lost")
    assert [r.getMessage() for r in caplog.records] == ["connection to web-1 lost"]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("https://wiki.example/disk?token=WikiPl4nted1", "https://wiki.example/disk?token=***"),
        ("password=a=b token=c", "password=*** token=***"),
        ('{"x": 1, "client_secret": "s-1"}', '{"x": 1, "client_secret": "***"}'),
        ("token: env:NAME and secret: file:/run/x", "token: env:NAME and secret: file:/run/x"),
    ],
)
def test_key_value_pairs_anywhere(text, masked):
    assert redact(text) == masked
