"""The inventory's JSON Schema: valid draft 2020-12, accepts every shipped inventory, rejects the
malformed corpus wherever the loader rejects it for a type reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory
from opscheck.inventory.loader import InventoryLoader
from opscheck.inventory.schema import inventory_schema

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "data" / "bad_inventories").glob("*.yml"))
SHIPPED = sorted((ROOT / "inventories").glob("*.yml")) + sorted(
    p for p in (ROOT / "examples").rglob("*.yml") if p.read_text().lstrip().startswith(("#", "environment")) and "hosts:" in p.read_text()
)

# Rejected by the loader for a reason a JSON Schema cannot state; each says why.
NOT_A_TYPE_REASON = {
    "06_warn_above_crit": "an order between two values (warn below crit), not a type",
    "10_unknown_group": "a cross-reference: `on:` must name a group of hosts:",
    "11_yaml_syntax": "not YAML: there is no document to validate",
    "12_yaml_unclosed": "not YAML: there is no document to validate",
    "15_duplicate_key": "JSON's data model has no duplicate keys; only the YAML parser sees them",
    "18_host_name_clash": "a cross-reference between two host entries",
    "23_yes_is_not_boolean": "a cross-reference: `on: yes` is a string naming an unknown group",
    "26_missing_env_var": "the environment, not the file: the variable is not set",
    "27_inline_password": "a rule inside a string: the password part of a DSN",
    "28_missing_secret_file": "the machine, not the file: the secret file does not exist",
}


@pytest.fixture(scope="module")
def validator():
    schema = inventory_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def read(path: Path):
    return yaml.load(path.read_text(), Loader=InventoryLoader)  # noqa: S506 - a SafeLoader subclass


def test_schema_is_draft_2020_12_with_enums_patterns_and_descriptions(validator):
    schema = validator.schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    text = json.dumps(schema)
    assert '"enum": ["critical", "high", "medium", "low"]' in text
    assert '"enum": ["daily", "weekly", "monthly", "quarterly", "smoke"]' in text
    assert '"auto", "iso8601", "syslog", "combined", "python"' in text  # log formats
    timeout = schema["$defs"]["Defaults"]["properties"]["timeout"]
    assert "pattern" in timeout and "a duration like 30s" in timeout["description"]
    assert schema["properties"]["system"]["description"].startswith("`system:`")
    assert "host groups" in schema["$defs"]["SystemItem"]["properties"]["on"]["description"]
    # A secret that must come from outside: a pattern, never a bare string.
    password = schema["$defs"]["RedisItem"]["properties"]["password"]
    assert any(o.get("pattern") == r"^(env:.+|file:.+)$" for o in password["anyOf"])


@pytest.mark.parametrize("value, ok", [("10s", True), ("5m", True), ("250ms", True), ("10", False), ("5 minutes", False)])
def test_duration_pattern(validator, value, ok):
    assert validator.is_valid({"defaults": {"timeout": value}}) is ok


@pytest.mark.parametrize("value, ok", [("85%", True), ("100%", True), (85, True), ("150%", False), ("lots", False), (101, False)])
def test_percent_pattern(validator, value, ok):
    assert validator.is_valid({"system": [{"memory": {"warn": value}}]}) is ok


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_inventories_validate(validator, path):
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(read(path))]
    assert errors == []


def test_shipped_list_is_not_empty():
    assert {p.name for p in SHIPPED} >= {"local.yml", "example-production.yml"}


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_corpus_rejected_by_schema_where_the_loader_rejects_a_type(validator, path):
    with pytest.raises(InventoryError):
        load_inventory(path)
    if path.stem in NOT_A_TYPE_REASON:
        try:
            data = read(path)
        except yaml.YAMLError:
            return
        # Documented exceptions really are accepted: otherwise the list is stale.
        assert validator.is_valid(data), f"{path.stem} is rejected by the schema: drop it from NOT_A_TYPE_REASON"
        return
    assert not validator.is_valid(read(path)), f"{path.stem}: the loader rejects it, the schema accepts it"


def test_cli_prints_the_schema():
    done = subprocess.run([sys.executable, "-m", "opscheck.cli", "inventory", "schema"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    assert schema["title"] == "Inventory"
    assert {"system", "postgres", "include", "vars"} <= set(schema["properties"])
