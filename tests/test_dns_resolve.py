"""DNS checks against a real dnsmasq the tests start on a loopback port (Debian's dnsmasq-base).

The zone: api.example.test (A and AAAA), www.example.test CNAME api, mail.example.test,
example.test MX 10 mail. `--local=/example.test/` makes unknown names of the zone
NXDOMAIN; names outside it are REFUSED (no upstream: --no-resolv).
"""

from __future__ import annotations

import getpass
import shutil
import subprocess
import time

import dns.resolver
import pytest

from conftest import free_port
from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.units import format_value
from opscheck.verdict import Verdict

HOSTS = "203.0.113.10 api.example.test\n2001:db8::10 api.example.test\n203.0.113.20 mail.example.test\n"


@pytest.fixture(scope="module")
def dnsmasq_port(tmp_path_factory):
    if shutil.which("dnsmasq") is None:
        pytest.fail("dnsmasq is not installed (apt-get install dnsmasq-base; listed in .ci/apt/dns.txt)", pytrace=False)
    folder = tmp_path_factory.mktemp("dnsmasq")
    (folder / "hosts").write_text(HOSTS)
    port = free_port()
    proc = subprocess.Popen(
        ["dnsmasq", "--no-daemon", f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces",
         "--no-resolv", "--no-hosts", f"--addn-hosts={folder / 'hosts'}", "--cname=www.example.test,api.example.test",
         "--mx-host=example.test,mail.example.test,10", "--local=/example.test/", f"--pid-file={folder / 'pid'}",
         f"--user={getpass.getuser()}"],  # stay who we are: no privileges to drop
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    res = dns.resolver.Resolver(configure=False)
    res.nameservers, res.port, res.lifetime = ["127.0.0.1"], port, 0.5
    for _ in range(50):
        try:
            res.resolve("api.example.test", "A")
            break
        except dns.exception.DNSException:
            if proc.poll() is not None:
                pytest.fail(f"dnsmasq exited: {proc.stderr.read()}", pytrace=False)
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("dnsmasq did not answer within 5s", pytrace=False)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def dns_target(tmp_path, entry: str):
    path = tmp_path / "inventory.yml"
    path.write_text(f"dns:\n  - {entry}\n")
    (target,) = registry.get("dns").targets(load_inventory(path))
    return target


def judged(tmp_path, entry: str):
    m = probe_once(dns_target(tmp_path, entry))
    return m, evaluate(m)


def test_answers_cname_and_mx(tmp_path, dnsmasq_port):
    server = f"127.0.0.1:{dnsmasq_port}"
    m, result = judged(tmp_path, f"{{query: api.example.test, expect: [203.0.113.10], server: '{server}', latency: {{warn: 5s, crit: 10s}}}}")
    assert result.verdict is Verdict.OK, result.summary
    assert result.summary == f"api.example.test A -> 203.0.113.10 {format_value(m.value, 's')} to answer (warn 5s, crit 10s)"
    assert m.evidence["server"] == server and m.evidence["answers"] == ["203.0.113.10"] and m.evidence["latency_ms"] > 0

    m, result = judged(tmp_path, f"{{query: api.example.test, type: AAAA, expect: ['2001:db8:0::10'], server: '{server}', latency: {{crit: 10s}}}}")
    assert (result.verdict, m.evidence["answers"]) == (Verdict.OK, ["2001:db8::10"])

    # An A query for the alias follows the CNAME: the chain is in the evidence.
    m, result = judged(tmp_path, f"{{query: www.example.test, expect: [203.0.113.10], server: '{server}', latency: {{crit: 10s}}}}")
    assert result.verdict is Verdict.OK, result.summary
    assert m.evidence["cname_chain"] == ["api.example.test"] and m.evidence["canonical_name"] == "api.example.test"

    m, result = judged(tmp_path, f"{{query: www.example.test, type: CNAME, expect: [API.example.test.], server: '{server}', latency: {{crit: 10s}}}}")
    assert (result.verdict, m.evidence["answers"]) == (Verdict.OK, ["api.example.test"])

    m, result = judged(tmp_path, f"{{query: example.test, type: MX, expect: [mail.example.test], server: '{server}', latency: {{crit: 10s}}}}")
    assert (result.verdict, m.evidence["answers"]) == (Verdict.OK, ["10 mail.example.test"])


def test_wrong_answers_are_crit_with_expected_and_found(tmp_path, dnsmasq_port):
    server = f"127.0.0.1:{dnsmasq_port}"
    m, result = judged(tmp_path, f"{{query: api.example.test, expect: [203.0.113.99, 203.0.113.10], server: '{server}', latency: {{crit: 10s}}}}")
    assert result.verdict is Verdict.CRIT
    assert result.summary.endswith(": expected 203.0.113.10, 203.0.113.99, found 203.0.113.10"), result.summary
    m, result = judged(tmp_path, f"{{query: example.test, type: MX, expect: [mx.other.test], server: '{server}', latency: {{crit: 10s}}}}")
    assert (result.verdict, m.problems) == (Verdict.CRIT, ("expected mx.other.test, found 10 mail.example.test",))


def test_slow_answer_is_judged_on_latency(tmp_path, dnsmasq_port):
    # crit 0s: any answer is past it; the verdict comes from the latency threshold, the value is the latency.
    m, result = judged(tmp_path, f"{{query: api.example.test, server: '127.0.0.1:{dnsmasq_port}', latency: {{warn: 0s, crit: 10s}}}}")
    assert result.verdict is Verdict.WARN and m.value > 0
    assert result.summary.endswith("s to answer (warn 0ms, crit 10s)"), result.summary


def test_nxdomain_refused_and_dead_server_are_crit(tmp_path, dnsmasq_port):
    server = f"127.0.0.1:{dnsmasq_port}"
    m, result = judged(tmp_path, f"{{query: nope.example.test, server: '{server}'}}")
    assert (result.verdict, m.down) == (Verdict.CRIT, True)
    assert result.summary == f"nope.example.test A: does not exist (NXDOMAIN from {server})"

    m, result = judged(tmp_path, f"{{query: mail.example.test, type: AAAA, server: '{server}'}}")
    assert result.summary == f"mail.example.test AAAA: the name exists but has no AAAA record ({server})"

    m, result = judged(tmp_path, f"{{query: elsewhere.org, server: '{server}'}}")
    assert result.verdict is Verdict.CRIT
    assert result.summary == f"elsewhere.org A: server did not answer: {server} said REFUSED"

    dead = f"127.0.0.1:{free_port()}"
    m, result = judged(tmp_path, f"{{query: api.example.test, server: '{dead}', timeout: 1s}}")
    assert result.verdict is Verdict.CRIT
    assert result.summary == f"api.example.test A: server did not answer: {dead}, nothing within 1s"


def test_suite_end_to_end(suite, dnsmasq_port):
    server = f"127.0.0.1:{dnsmasq_port}"
    suite.run("-m", "daily", inventory=f"""
        dns:
          - {{query: api.example.test, expect: [203.0.113.10], server: '{server}', latency: {{crit: 10s}}}}
          - {{name: api mx, query: example.test, type: MX, server: '{server}', latency: {{crit: 10s}}}}
          - {{query: gone.example.test, server: '{server}'}}
        """)
    assert suite.verdicts() == {
        f"test_dns_resolves[api.example.test@{server}]": "OK",
        "test_dns_resolves[api mx]": "OK",
        f"test_dns_resolves[gone.example.test@{server}]": "CRIT",
    }
    gone = suite.check(f"test_dns_resolves[gone.example.test@{server}]")
    assert gone["summary"] == f"gone.example.test A: does not exist (NXDOMAIN from {server})"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{query: 'bad name!'}", "dns[0].query: expected a DNS name like api.example.com, found 'bad name!'"),
        ("{query: a.test, server: 'ns1.example.com'}", "dns[0].server: expected a resolver address (127.0.0.1, 127.0.0.1:5353, [::1]:53), found 'ns1.example.com'"),
        ("{query: a.test, server: '::1:53'}", ""),
        ("{query: a.test, server: '127.0.0.1:99999'}", "dns[0].server: port 99999 is out of range"),
        ("{query: a.test, expect: ['2001:db8::1']}", "dns[0]: expect: 2001:db8::1 is not an IPv4 address (type A)"),
        ("{query: a.test, type: TXT}", "dns[0].type"),
        ("{query: a.test, on: all}", "dns[0]: on: does not apply to dns checks"),
        ("{query: a.test, latency: {warn: 2s, crit: 1s}}", "dns[0].latency: warn 2s is above crit 1s"),
    ],
)
def test_inventory_mistakes_are_named(tmp_path, entry, message):
    path = tmp_path / "inventory.yml"
    path.write_text(f"dns:\n  - {entry}\n")
    if not message:  # `::1:53` is a valid v6 address (port 53 needs brackets): it loads
        assert load_inventory(path).dns[0].server_address == ("::1:53", 53)
        return
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert message in problem.replace("Value error, ", ""), problem
