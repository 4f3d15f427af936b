"""`services.only:` entries with port ranges and addresses, against listeners this test opens.

Other services of the machine listen too (they are all unexpected here): the
assertions look at this test's own listeners in the evidence, not at the count.
"""

from __future__ import annotations

import socket

import pytest

from opscheck import registry
from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.inventory.sections.services import Allowed, _allowed
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.verdict import Verdict


def listen(host: str, port: int = 0, family: int = socket.AF_INET) -> socket.socket:
    sock = socket.socket(family)
    sock.bind((host, port))
    sock.listen(4)
    return sock


def consecutive_ports(count: int) -> list[socket.socket]:
    """`count` listeners on 127.0.0.1 with consecutive ports (a range to allow)."""
    for _ in range(50):
        first = listen("127.0.0.1")
        base = first.getsockname()[1]
        socks = [first]
        try:
            socks += [listen("127.0.0.1", base + i) for i in range(1, count)]
            return socks
        except OSError:
            for sock in socks:
                sock.close()
    pytest.fail("no consecutive free loopback ports", pytrace=False)


@pytest.fixture
def opened():
    socks: list[socket.socket] = []
    yield socks
    for sock in socks:
        sock.close()


def has_ipv6_loopback() -> bool:
    try:
        listen("::1", family=socket.AF_INET6).close()
    except OSError:
        return False
    return True


def listeners_target(tmp_path, only: str):
    path = tmp_path / "inventory.yml"
    path.write_text(f"services:\n  - only: {only}\n")
    (target,) = registry.get("listeners").targets(load_inventory(path))
    return target


def test_ranges_and_addresses_allow_exactly_what_they_name(tmp_path, opened):
    in_range = consecutive_ports(2)
    pinned = listen("127.0.0.1")  # allowed on 127.0.0.1 only
    elsewhere = listen("127.0.0.2")  # the same kind of entry, but for another address
    outside = listen("127.0.0.1")  # in no entry
    opened += [*in_range, pinned, elsewhere, outside]
    low, high = (s.getsockname()[1] for s in in_range)
    p_pinned, p_elsewhere, p_outside = (s.getsockname()[1] for s in (pinned, elsewhere, outside))
    only = [f"{low}-{high}", f"127.0.0.1:{p_pinned}", f"127.0.0.1:{p_elsewhere}"]
    if has_ipv6_loopback():
        v6 = listen("::1", family=socket.AF_INET6)
        opened.append(v6)
        p_v6 = v6.getsockname()[1]
        only.append(f"[::1]:{p_v6}")

    m = probe_once(listeners_target(tmp_path, "[" + ", ".join(f"'{o}'" for o in only) + "]"))
    result = evaluate(m)
    unexpected = " ".join(m.evidence["unexpected"])
    listed = " ".join(m.evidence["all"])
    for port in (low, high, p_pinned):
        assert f"tcp/{port} on 127.0.0.1" in listed and f"tcp/{port} " not in unexpected
    assert f"tcp/{p_elsewhere} on 127.0.0.2" in unexpected  # allowed on 127.0.0.1, listening on .2
    assert f"tcp/{p_outside} on 127.0.0.1" in unexpected
    if has_ipv6_loopback():
        assert f"tcp/{p_v6} on [::1]" in listed and f"tcp/{p_v6} " not in unexpected
    assert result.verdict is Verdict.CRIT
    allowed = result.summary.split("allowed ports ", 1)[1].split(": unexpected listener", 1)[0].split(", ")
    assert f"{low}-{high}" in allowed and f"127.0.0.1:{p_pinned}" in allowed, result.summary
    assert allowed == sorted(allowed, key=lambda a: int(a.rsplit(":", 1)[-1].split("-")[0]))  # by port
    assert m.value == len(m.evidence["unexpected"])


def test_a_whole_allow_list_is_ok(tmp_path, opened):
    """Every listener of this machine allowed by ranges: nothing unexpected, OK."""
    m = probe_once(listeners_target(tmp_path, "['1-1023', '1024-65535']"))
    result = evaluate(m)
    assert (result.verdict, m.value, m.evidence["unexpected"]) == (Verdict.OK, 0, [])
    assert result.summary == f"{len(m.evidence['all'])} TCP listeners, allowed ports 1-1023, 1024-65535"


def test_entries_parse_to_ranges_and_addresses():
    assert _allowed(22) == Allowed(22, 22)
    assert _allowed("8000-8099") == Allowed(8000, 8099)
    assert _allowed("127.0.0.1:6379") == Allowed(6379, 6379, "127.0.0.1")
    assert _allowed("[::1]:5432") == Allowed(5432, 5432, "::1")
    assert _allowed("[0:0::1]:8000-8010") == Allowed(8000, 8010, "::1")
    assert str(_allowed("[::1]:5432")) == "[::1]:5432" and str(_allowed("10.0.0.5:80-81")) == "10.0.0.5:80-81"
    rule = _allowed("127.0.0.1:6379")
    assert rule.allows(6379, "127.0.0.1") and not rule.allows(6379, "0.0.0.0") and not rule.allows(6379, "*")
    assert _allowed("[::1]:53").allows(53, "[::1]") and _allowed("127.0.0.53:53").allows(53, "127.0.0.53%lo")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("'8099-8000'", "services[0].only[0]: Value error, range 8099-8000 runs backwards in '8099-8000' (write 8000-8099)"),
        ("'8000-70000'", "services[0].only[0]: Value error, port 70000 is out of range 1-65535 in '8000-70000'"),
        ("'localhost:80'", "services[0].only[0]: Value error, expected a port (22), a range (8000-8099) or an address and port"),
        ("'999.1.1.1:80'", "services[0].only[0]: Value error, 999.1.1.1 is not an IP address in '999.1.1.1:80'"),
        ("'[127.0.0.1]:80'", "services[0].only[0]: Value error, 127.0.0.1 in brackets is not an IPv6 address"),
        ("'::1:80'", "services[0].only[0]: Value error, expected a port (22)"),
        ("0", "services[0].only[0]: Value error, expected a TCP port number 1-65535, found 0"),
    ],
)
def test_bad_entries_are_one_line_errors(tmp_path, entry, message):
    path = tmp_path / "inventory.yml"
    path.write_text(f"services:\n  - only: [{entry}]\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory(path)
    (problem,) = caught.value.problems
    assert message.replace("Value error, ", "") in problem.replace("Value error, ", ""), problem
    assert "\n" not in problem
