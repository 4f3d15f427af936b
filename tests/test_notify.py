"""Notifications end to end: a real webhook server and a real SMTP server (aiosmtpd, STARTTLS + AUTH).

Sent on change only, reminders after N runs, secrets never in the output, and a
dead webhook costs at most its timeout budget, never the run.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# Imported at module level, not inside the fixture: pytester (the `suite` fixture) drops
# modules imported during a test, and a re-imported cryptography no longer matches its
# Rust bindings ("curve must be an EllipticCurve instance").
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from runner_support import RunnerSuite

from conftest import free_port
from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.inventory.sections.notify import NotifySection
from opscheck.notify.changes import Change, compare
from opscheck.notify.message import Notice
from opscheck.notify.send import send_all
from opscheck.runner import exitcodes

TOKEN = "Bearer hook-token-7f3a9c"
SMTP_PASSWORD = "smtp-pw-51c0ffee"


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append((self.path, dict(self.headers), json.loads(body)))
        if self.server.hang:
            self.server.release.wait(60)
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _start_hook(hang: bool = False):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.daemon_threads = True
    server.received, server.hang, server.release = [], hang, threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _stop_hook(server, thread):
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture
def hook():
    server, thread = _start_hook()
    yield server
    _stop_hook(server, thread)


@pytest.fixture
def hung_hook():
    server, thread = _start_hook(hang=True)
    yield server
    _stop_hook(server, thread)


def _self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(tmp_path_factory):
    cert, key = _self_signed(tmp_path_factory.mktemp("smtp"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"ops-mailer-7", SMTP_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    mailbox = _Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    controller.mailbox, controller.cert = mailbox, cert
    yield controller
    controller.stop()


NOTIFY = """\
environment: test
notify:
  remind_every: 2
  report_url: https://ops.example.com/reports
  timeout: 3s
  attempts: 2
  webhooks:
    - {{name: slack, url: "http://127.0.0.1:{port}/slack"}}
    - {{name: audit, url: "env:HOOK_URL", format: json, headers: {{Authorization: "env:HOOK_TOKEN"}}}}
  email:
    name: ops
    host: 127.0.0.1
    port: {smtp_port}
    username: env:SMTP_USER
    password: env:SMTP_PASSWORD
    ca_file: {ca}
    from: opscheck@example.com
    to: [ops@example.com, sre@example.com]
"""


def test_changes_are_sent_once_then_reminded_then_recovered(suite, hook, smtp):
    rs = RunnerSuite(suite)
    port = hook.server_address[1]
    rs.write_inventory(NOTIFY.format(port=port, smtp_port=smtp.port, ca=smtp.cert))
    env = {"HOOK_URL": f"http://127.0.0.1:{port}/audit", "HOOK_TOKEN": TOKEN, "SMTP_USER": "ops-mailer-7", "SMTP_PASSWORD": SMTP_PASSWORD}

    # Run 1: a is CRIT for the first time (new), b is OK (first seen OK is not news).
    rs.set_values(a=95, b=10)
    proc = rs.run("daily", env=env)
    assert proc.returncode == exitcodes.CRIT, proc.stdout + proc.stderr
    run_id = rs.results()["run"]["id"]
    assert "notify webhook:slack: sent (HTTP 200)" in proc.stdout
    assert "notify webhook:audit: sent (HTTP 200)" in proc.stdout
    assert "notify email:ops: sent (sent to 2 recipient(s))" in proc.stdout
    by_path = {path: (headers, body) for path, headers, body in hook.received}
    assert sorted(by_path) == ["/audit", "/slack"]
    text = by_path["/slack"][1]["text"]
    assert text.splitlines()[0] == "opscheck daily on test: 1 change, run is CRIT"
    assert "- CRIT (new) [medium] test_value[a]: a 95% (warn 50, crit 90)" in text
    assert f"report: https://ops.example.com/reports/{run_id}/report.html" in text
    headers, document = by_path["/audit"]
    assert headers["Authorization"] == TOKEN
    assert document["suite"] == "daily" and document["state"] == "CRIT" and document["counts"]["CRIT"] == 1
    [change] = document["changes"]
    assert change["id"].endswith("::test_value[a]")
    assert (change["verdict"], change["previous"], change["runs"], change["reminder"]) == ("CRIT", None, 1, False)
    assert change["summary"] == "a 95% (warn 50, crit 90)"
    [mail] = smtp.mailbox.messages
    assert sorted(mail.rcpt_tos) == ["ops@example.com", "sre@example.com"]
    body = mail.content.decode()
    assert "Subject: [opscheck] test daily: CRIT test_value[a]" in body
    assert "- CRIT (new) [medium] test_value[a]" in body
    for secret in (TOKEN, SMTP_PASSWORD):
        assert secret not in proc.stdout + proc.stderr
        assert secret not in (rs.reports / ".state" / "daily.json").read_text()

    # Run 2: nothing changed, no reminder due yet: silence.
    proc = rs.run("daily", env=env)
    assert proc.returncode == exitcodes.CRIT
    assert "notify" not in proc.stdout
    assert len(hook.received) == 2 and len(smtp.mailbox.messages) == 1
    assert rs.state()["checks"][rs.check("test_value[a]")["id"]] == {"verdict": "CRIT", "runs": 2, "since": run_id}

    # Run 3: still CRIT after remind_every=2 more runs: a reminder.
    proc = rs.run("daily", env=env)
    assert "notify webhook:slack: sent" in proc.stdout
    slack = [body for path, _, body in hook.received if path == "/slack"]
    assert len(slack) == 2
    assert "- still CRIT after 3 runs [medium] test_value[a]: a 95% (warn 50, crit 90)" in slack[-1]["text"]
    assert "Subject: [opscheck] test daily: still CRIT test_value[a]" in smtp.mailbox.messages[-1].content.decode()

    # Run 4: a recovers, b degrades: both are changes.
    rs.set_values(a=10, b=60)
    proc = rs.run("daily", env=env)
    assert proc.returncode == exitcodes.OK
    audit = [body for path, _, body in hook.received if path == "/audit"][-1]
    assert [(c["id"].split("::")[1], c["verdict"], c["previous"]) for c in audit["changes"]] == [
        ("test_value[a]", "OK", "CRIT"),
        ("test_value[b]", "WARN", "OK"),
    ]
    assert audit["state"] == "WARN"
    assert len(smtp.mailbox.messages) == 3
    log = (rs.reports / ".state" / "daily.notifications.jsonl").read_text().splitlines()
    assert len(log) == 3
    assert all(d["ok"] for d in json.loads(log[-1])["deliveries"])


def test_a_dead_webhook_does_not_hold_up_or_fail_the_run(suite, hung_hook):
    rs = RunnerSuite(suite)
    rs.write_inventory(
        f"""\
        environment: test
        notify:
          timeout: 1s
          attempts: 2
          webhooks:
            - {{name: hung, url: "http://127.0.0.1:{hung_hook.server_address[1]}/"}}
            - {{name: refused, url: "http://127.0.0.1:{free_port()}/"}}
        """
    )
    rs.set_values(a=95)
    started = time.monotonic()
    proc = rs.run("daily")
    elapsed = time.monotonic() - started
    assert proc.returncode == exitcodes.CRIT, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    hung = next(line for line in lines if line.startswith("notify webhook:hung"))
    refused = next(line for line in lines if line.startswith("notify webhook:refused"))
    assert hung.startswith("notify webhook:hung: FAILED after 2 attempts (") and "timed out" in hung
    assert refused.startswith("notify webhook:refused: FAILED after 2 attempts (") and "refused" in refused.lower()
    assert len(hung_hook.received) == 2
    deliveries = {d["channel"]: d for d in rs.state()["last_notification"]["deliveries"]}
    # Two attempts of 1s and one 0.5s pause: the budget, with room for a loaded machine.
    assert deliveries["webhook:hung"]["duration_s"] < 6
    assert deliveries["webhook:hung"]["ok"] is False and deliveries["webhook:hung"]["attempts"] == 2
    assert elapsed < 40
    assert rs.verdicts() == {"test_value[a]": "CRIT"}


def _results(*checks):
    return {"run": {"id": "r"}, "checks": [{"id": f"m::{i}", "verdict": v, "summary": f"{i} is {v}"} for i, v in checks]}


def test_compare_sends_changes_new_problems_and_reminders_only():
    changes, state = compare({}, _results(("a", "OK"), ("b", "CRIT"), ("c", "WARN")), remind_every=3)
    assert [(c.id, c.verdict, c.previous) for c in changes] == [("m::b", "CRIT", None), ("m::c", "WARN", None)]
    assert changes[0].headline() == "CRIT (new) [-] b: b is CRIT"
    seen = []
    for _ in range(7):
        changes, state = compare(state, _results(("a", "OK"), ("b", "CRIT"), ("c", "WARN")), remind_every=3)
        seen.append([(c.id, c.runs, c.reminder) for c in changes])
    # b is CRIT in runs 2..8: reminders at 4 and 7; WARN never reminds.
    assert seen == [[], [], [("m::b", 4, True)], [], [], [("m::b", 7, True)], []]
    changes, state = compare(state, _results(("a", "UNKNOWN"), ("b", "OK")), remind_every=3)
    assert [(c.id, c.verdict, c.previous, c.reminder) for c in changes] == [("m::a", "UNKNOWN", "OK", False), ("m::b", "OK", "CRIT", False)]
    assert changes[1].headline() == "OK (was CRIT) [-] b: b is OK"
    assert sorted(state) == ["m::a", "m::b"]  # a check no longer run leaves the state


def test_notify_inventory_errors_name_the_key(tmp_path):

    path = tmp_path / "inv.yml"
    path.write_text("notify:\n  email: {host: mail, from: a@b.c, to: [x@y.z], username: u}\n  attempts: 0\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    text = "\n".join(info.value.problems)
    assert "notify.email" in text and "username and password go together" in text
    assert "notify.attempts" in text
    path.write_text("notify:\n  email: {host: mail, from: a@b.c, to: [x@y.z], username: u, password: hunter2}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert "use env:NAME or file:/path" in "\n".join(info.value.problems)
    assert "hunter2" not in "\n".join(info.value.problems)


def test_smtp_wrong_password_is_a_failed_delivery_with_the_reason(smtp, monkeypatch):

    monkeypatch.setenv("SMTP_PASSWORD_BAD", "not-the-password-4e1")
    config = NotifySection.model_validate(
        {
            "timeout": "3s",
            "attempts": 2,
            "email": {
                "name": "ops",
                "host": "127.0.0.1",
                "port": smtp.port,
                "username": "ops-mailer-7",
                "password": "env:SMTP_PASSWORD_BAD",
                "ca_file": str(smtp.cert),
                "from": "opscheck@example.com",
                "to": "ops@example.com",
            },
        }
    )
    change = Change("m::test_x[a]", "x", "a", "CRIT", "OK", "high", "a is down", 1)
    notice = Notice("daily", "test", "r1", "CRIT", {"CRIT": 1}, "/reports/r1/", (change,))
    started = time.monotonic()
    [delivery] = send_all(config, notice)
    assert time.monotonic() - started < 15
    assert (delivery.channel, delivery.ok, delivery.attempts) == ("email:ops", False, 2)
    assert delivery.detail.startswith("SMTPAuthenticationError: (535")
    assert "not-the-password-4e1" not in delivery.line()
    assert smtp.mailbox.messages == []
    assert delivery.line().startswith("email:ops: FAILED after 2 attempts (SMTPAuthenticationError")


def test_alertmanager_gets_one_alert_per_non_ok_check_and_a_resolve(suite, hook):
    """A real HTTP server stands in for Alertmanager and records what `opscheck run` posts."""
    rs = RunnerSuite(suite)
    port = hook.server_address[1]
    rs.write_inventory(f"""\
        environment: test
        notify:
          report_url: https://ops.example.com/reports
          alertmanager:
            - {{name: am, url: "http://127.0.0.1:{port}", valid_for: 2h}}
        """)
    rs.set_values(a=95, b=60, c=10)
    proc = rs.run("daily")
    assert proc.returncode == exitcodes.CRIT, proc.stdout + proc.stderr
    assert "notify alertmanager:am: sent (HTTP 200, 2 firing, 0 resolved)" in proc.stdout
    [(path, headers, alerts)] = hook.received
    assert path == "/api/v2/alerts" and headers["Content-Type"] == "application/json"
    by_check = {a["labels"]["check_id"].split("::")[1]: a for a in alerts}
    assert sorted(by_check) == ["test_value[a]", "test_value[b]"]
    a = by_check["test_value[a]"]
    assert a["labels"] == {"alertname": "OpscheckCheck", "suite": "daily", "environment": "test", "check": "value",
                           "severity": "medium", "check_id": a["labels"]["check_id"]}
    assert a["annotations"]["verdict"] == "CRIT" and a["annotations"]["summary"] == "CRIT: a 95% (warn 50, crit 90)"
    assert a["annotations"]["report"].startswith("https://ops.example.com/reports/") and a["generatorURL"] == a["annotations"]["report"]
    starts = datetime.datetime.fromisoformat(a["startsAt"].replace("Z", "+00:00"))
    ends = datetime.datetime.fromisoformat(a["endsAt"].replace("Z", "+00:00"))
    assert abs((ends - starts).total_seconds() - 7200) < 5
    assert by_check["test_value[b]"]["annotations"]["verdict"] == "WARN"

    # b recovers, a stays CRIT: a is renewed, b resolved (endsAt now), c (always OK) never sent.
    hook.received.clear()
    rs.set_values(a=95, b=10, c=10)
    proc = rs.run("daily")
    assert "notify alertmanager:am: sent (HTTP 200, 1 firing, 1 resolved)" in proc.stdout
    [(_, _, alerts)] = hook.received
    by_check = {a["labels"]["check_id"].split("::")[1]: a for a in alerts}
    assert sorted(by_check) == ["test_value[a]", "test_value[b]"]
    resolved = by_check["test_value[b]"]
    assert resolved["annotations"]["verdict"] == "OK" and "startsAt" not in resolved
    ends = datetime.datetime.fromisoformat(resolved["endsAt"].replace("Z", "+00:00"))
    assert ends <= datetime.datetime.now(datetime.timezone.utc)

    # All OK: only the resolve of a; then nothing at all.
    hook.received.clear()
    rs.set_values(a=10, b=10, c=10)
    rs.run("daily")
    [(_, _, alerts)] = hook.received
    assert [(x["labels"]["check_id"].split("::")[1], x["annotations"]["verdict"]) for x in alerts] == [("test_value[a]", "OK")]
    hook.received.clear()
    rs.run("daily")
    assert hook.received == []


def test_alert_carries_the_runbook_and_control_title():
    from opscheck.notify.alertmanager import build

    results = {"run": {"environment": "prod"}, "checks": [
        {"id": "checks/test_tls.py::test_tls_days_left[example.com:443]", "check": "tls days left", "target": "example.com:443",
         "verdict": "WARN", "severity": "high", "summary": "20 days left", "runbook": "https://wiki/tls", "title": "Public TLS"}]}
    [alert] = build(results, {}, "daily", "/srv/reports/x/report.html", 3600).alerts
    assert alert["labels"]["target"] == "example.com:443" and alert["labels"]["severity"] == "high"
    assert alert["annotations"]["runbook_url"] == "https://wiki/tls" and alert["annotations"]["description"] == "Public TLS"
    assert "generatorURL" not in alert
