"""`ansible_inventory:` groups and the new sections' validation: clear errors, stable order."""

from __future__ import annotations

import pytest

from opscheck.errors import InventoryError
from opscheck.inventory import load_inventory

YAML_HOSTS = """
all:
  children:
    web:
      hosts:
        web-2: {ansible_connection: local}
        web-1: {ansible_connection: local}
    db:
      hosts:
        db-1: {ansible_host: 10.0.0.21, ansible_user: deploy}
"""


def _load(tmp_path, text: str):
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    return load_inventory(path)


def test_yaml_ansible_inventory_gives_sorted_groups_next_to_own_hosts(tmp_path):
    (tmp_path / "hosts.yml").write_text(YAML_HOSTS)
    inventory = _load(tmp_path, "hosts: {ops: ['local://']}\nansible_inventory: hosts.yml\n")
    assert list(inventory.hosts) == ["ops", "db", "web"]
    assert [h.name for h in inventory.hosts["web"]] == ["web-1", "web-2"]
    assert [h.name for h in inventory.all_hosts()] == ["local", "db-1", "web-1", "web-2"]
    spec = inventory.hosts["db"][0].spec
    assert spec == f"ansible://db-1?ansible_inventory={tmp_path}/hosts.yml"


def test_ansible_inventory_alone_replaces_the_default_local_group(tmp_path):
    (tmp_path / "hosts.yml").write_text(YAML_HOSTS)
    inventory = _load(tmp_path, "ansible_inventory: hosts.yml\nsystem:\n  - {on: web, memory: {}}\n")
    assert list(inventory.hosts) == ["db", "web"]
    assert [h.name for h in inventory.hosts_for(inventory.system[0])] == ["web-1", "web-2"]


def test_ansible_host_resolves_to_its_native_backend(tmp_path):
    from opscheck.host import run
    from opscheck.measurement import HostRef

    (tmp_path / "hosts.yml").write_text(YAML_HOSTS)
    inventory = _load(tmp_path, "ansible_inventory: hosts.yml\n")
    ref: HostRef = inventory.hosts["web"][0]
    assert run(ref, "echo $((6*7))", 5).stdout.strip() == "42"


@pytest.mark.parametrize(
    ("text", "files", "message"),
    [
        ("ansible_inventory: missing.ini\n", {}, "ansible_inventory: {tmp}/missing.ini does not exist"),
        ("ansible_inventory: hosts.ini\nhosts: {web: ['local://']}\n", {"hosts.ini": "[web]\nw1 ansible_connection=local\n"},
         "ansible_inventory: group 'web' is defined both in hosts: and in hosts.ini; rename one"),
        ("ansible_inventory: hosts.ini\n", {"hosts.ini": "# nothing\n"}, "defines no hosts"),
    ],
)
def test_bad_ansible_inventories_are_one_clear_line(tmp_path, text, files, message):
    for name, content in files.items():
        (tmp_path / name).write_text(content)
    with pytest.raises(InventoryError) as err:
        _load(tmp_path, text)
    assert len(err.value.problems) == 1
    assert message.format(tmp=tmp_path) in err.value.problems[0]
    assert err.value.problems[0].startswith(f"{tmp_path}/inventory.yml:")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services:\n  - processes: [{pattern: 'node (', min: 1}]\n", "services[0].processes[0].pattern: not a valid regular expression"),
        ("services:\n  - processes: [{pattern: node, min: 3, max: 1}]\n", "max 1 is below min 3"),
        ("services:\n  - listening: [70000]\n", "services[0].listening[0]: expected a TCP port number 1-65535, found 70000"),
        ("services:\n  - units: ['nginx; rm -rf /']\n", "expected a systemd unit name"),
        ("services:\n  - lisening: [80]\n", "did you mean 'listening'?"),
        ("files:\n  - {path: /srv/.env, max_mode: 0600}\n", "write the mode in quotes, like '0600' (an unquoted 0600 is the decimal number 600), found 600"),
        ("files:\n  - {path: srv/.env}\n", "files[0].path: expected an absolute path"),
        ("files:\n  - {path: /x, exists: false, owner: root}\n", "exists: false cannot be combined"),
        ("tcp:\n  - {endpoint: db.internal}\n", "tcp[0].endpoint: expected host:port"),
        ("tcp:\n  - {endpoint: 'db:5432', on: local}\n", "on: does not apply to tcp checks"),
        ("tcp:\n  - {endpoint: 'db:5432', latency: {warn: 2s, crit: 1s}}\n", "warn 2s is above crit 1s"),
        ("env_flags:\n  - {present: [A]}\n", "give exactly one of process: PATTERN or file: PATH"),
        ("env_flags:\n  - {file: /srv/.env}\n", "nothing to check"),
        ("env_flags:\n  - {file: /srv/.env, present: ['A-B']}\n", "expected an environment variable name"),
        ("env_flags:\n  - {file: /srv/.env, expect: {JWT_SECRET: 'env:H3_NOT_SET_ANYWHERE'}}\n", "environment variable H3_NOT_SET_ANYWHERE is not set"),
        ("hygiene:\n  - {reboot_required: maybe}\n", "hygiene[0].reboot_required"),
    ],
)
def test_bad_entries_name_the_key(tmp_path, text, message):
    with pytest.raises(InventoryError) as err:
        _load(tmp_path, text)
    assert any(message in p for p in err.value.problems), err.value.problems
