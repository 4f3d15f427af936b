"""The inventories we ship stay valid: the default one and the documented example."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from opscheck import registry
from opscheck.inventory import load_inventory

ROOT = Path(__file__).resolve().parent.parent


def test_local_inventory_loads_and_checks_this_machine():
    inventory = load_inventory(ROOT / "inventories" / "local.yml")
    assert [h.spec for h in inventory.all_hosts()] == ["local://"]
    kinds = {name for name in registry.names() if registry.get(name).targets(inventory)}
    assert {"disk", "inodes", "memory", "swap", "load_per_core"} <= kinds


def test_example_production_documents_valid_keys(tmp_path, monkeypatch):
    """Every key in the example is accepted; its env:/file: secrets are stood in for."""
    folder = tmp_path / "inventories"
    shutil.copytree(ROOT / "inventories", folder)
    text = (folder / "example-production.yml").read_text()
    stand_ins = {"REDIS_URL": "redis://cache-1.internal:6379/0", "SLACK_WEBHOOK_URL": "https://hooks.example.com/T0/B0"}
    for name in set(re.findall(r"(?<![#\w])env:([A-Z_][A-Z0-9_]*)", text)):
        default = "postgresql://opscheck@db-1.internal/app" if "URL" in name or "DSN" in name else "stand-in-value"
        monkeypatch.setenv(name, stand_ins.get(name, default))
    for relative in re.findall(r"\bfile:(?!/)(\w[\w./-]*)", text):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text("postgresql://opscheck@replica-1.internal/app\n")
    inventory = load_inventory(folder / "example-production.yml")
    assert inventory.environment == "production"
    sections = {name for name, value in inventory if isinstance(value, list) and value}
    assert {"system", "http", "tls", "postgres", "redis", "backups", "logs", "services"} <= sections
    kinds = {name for name in registry.names() if registry.get(name).targets(inventory)}
    assert len(kinds) >= 30, sorted(kinds)
