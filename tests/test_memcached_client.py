"""The memcached stats client against servers that misbehave: silent, talking HTTP, refusing stats.

Real loopback sockets, each served by a thread that does one wrong thing.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pydantic import ValidationError

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.inventory.model import Inventory
from opscheck.inventory.sections.memcached import split_address
from opscheck.probes.memcached import fetch_stats, parse_stats


@pytest.fixture
def fake_server():
    """A one-connection TCP server on loopback that answers with `reply` (None: says nothing)."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def start(reply: bytes | list[bytes] | None, close: bool = True) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def serve():
            conn, _ = listener.accept()
            with conn:
                conn.recv(1024)
                for piece in [reply] if isinstance(reply, bytes) else reply or []:
                    conn.sendall(piece)
                    time.sleep(0.02)
                if reply is None or not close:
                    stop.wait(10)

        threading.Thread(target=serve, daemon=True).start()
        return listener.getsockname()[1]

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def test_parses_stats_up_to_end():
    stats = parse_stats(b"STAT pid 42\r\nSTAT version 1.6.18\r\nSTAT rusage_user 0.1 x\r\nEND\r\n")
    assert stats == {"pid": "42", "version": "1.6.18", "rusage_user": "0.1 x"}


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "does not speak memcached: 'HTTP/1.1 400 Bad Request'"),
        (b"STAT pid 1\r\n", "sent stats without END"),
        (b"SERVER_ERROR out of memory\r\n", "refused stats: SERVER_ERROR out of memory"),
    ],
)
def test_rejects_what_is_not_a_stats_reply(reply, message):
    with pytest.raises(Unmeasurable, match=message):
        parse_stats(reply, "m:1")


def test_a_silent_server_is_down_after_the_timeout(fake_server):
    port = fake_server(None)
    start = time.monotonic()
    with pytest.raises(TargetDown, match=rf"127.0.0.1:{port} accepted the connection but sent no stats within 0.5s"):
        fetch_stats("127.0.0.1", port, 0.5)
    assert 0.4 < time.monotonic() - start < 5


def test_a_server_speaking_http_is_unknown(fake_server):
    port = fake_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(Unmeasurable, match="does not speak memcached: b'HTTP/1.1 400"):
        fetch_stats("127.0.0.1", port, 3)


def test_a_server_that_hangs_up_is_down(fake_server):
    port = fake_server(b"")
    with pytest.raises(TargetDown, match="closed the connection without answering stats"):
        fetch_stats("127.0.0.1", port, 3)


def test_a_reply_split_over_many_packets_is_read_whole(fake_server):
    port = fake_server([b"STAT pid 7\r\nST", b"AT uptime 9\r\nEN", b"D\r\n"], close=False)
    stats, seconds = fetch_stats("127.0.0.1", port, 3)
    assert stats == {"pid": "7", "uptime": "9"} and 0 < seconds < 3


@pytest.mark.parametrize(
    ("address", "expected"),
    [("cache-1", ("cache-1", 11211)), ("10.0.0.5:11311", ("10.0.0.5", 11311)), ("[::1]:11212", ("::1", 11212)), ("::1", ("::1", 11211))],
)
def test_addresses(address, expected):
    assert split_address(address) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"address": "cache:99999"}, "memcached.0.address"),
        ({"address": "c", "hit_ratio": {"warn": "50%", "crit": "80%"}}, "warn 50% is below crit 80%"),
        ({"address": "c", "evictions": {"warn": 10, "crit": 1}}, "warn 10 is above crit 1"),
        ({"address": "c", "hit_ration": {"warn": "80%"}}, "hit_ration"),
        ({"name": "no address"}, "address"),
    ],
)
def test_bad_inventory_entries_are_refused(entry, message):
    with pytest.raises(ValidationError) as info:
        Inventory.model_validate({"memcached": [entry]})
    assert message in str(info.value)
