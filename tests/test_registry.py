"""The registry is built from the kinds' declarations: complete, consistent, and light to build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from opscheck import registry
from opscheck.inventory.model import Inventory
from opscheck.registry import Kind
from opscheck.targets import per_host

SRC = Path(__file__).resolve().parent.parent / "src"
CHECKS = Path(__file__).resolve().parent.parent / "checks"


def test_every_kind_names_a_section_a_check_and_a_probe():
    for name in registry.names():
        kind = registry.get(name)
        assert kind.name == name and kind.check
        assert kind.section in Inventory.model_fields, f"{name}: no inventory section {kind.section!r}"
        assert callable(kind.resolve_probe()), name


def test_every_builtin_kind_has_a_check():
    asked = " ".join(path.read_text() for path in CHECKS.glob("test_*.py"))
    missing = [name for name in registry.names() if f"({name})" not in asked]
    assert missing == []


def test_an_unknown_kind_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"unknown check kind 'dsik' \(known: .*disk.*\)"):
        registry.get("dsik")


def test_a_kind_declared_twice_is_refused(monkeypatch):
    class Area:
        __name__ = "elsewhere"
        __package__ = "elsewhere"
        KINDS = (Kind("disk", "disk again", "system", per_host("disk"), lambda t: None),)

    monkeypatch.setattr(registry, "_kinds", {})
    monkeypatch.setattr(registry, "_built", False)
    monkeypatch.setattr(registry, "_declarations", lambda: iter([__import__("opscheck.probes.system", fromlist=["x"]), Area]))
    with pytest.raises(ValueError, match="kind 'disk' is declared twice: in opscheck.probes.system and in elsewhere"):
        registry.names()


def test_discovery_imports_no_client_library():
    """Start-up stays light: knowing every kind imports neither psycopg, redis, requests, pika nor cryptography."""
    code = (
        "import sys, json; from opscheck import registry; names = registry.names();"
        "print(json.dumps([len(names), sorted(m for m in ('psycopg', 'redis', 'requests', 'pika', 'cryptography') if m in sys.modules)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)})
    count, heavy = json.loads(out.stdout)
    assert heavy == [] and count == len(registry.names())
