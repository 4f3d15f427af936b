"""`ansible_inventory:` — host groups read from an existing Ansible inventory (INI or YAML).

ansible-core's `ansible-inventory --list` does the parsing (through testinfra's
AnsibleRunner), so every inventory Ansible understands works here, and nothing
imports ansible unless an inventory names one. Hosts become `ansible://NAME`
specs: testinfra maps each one's ansible_connection/host/user/port/key onto its
native backend when a command first runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationInfo, model_validator

from opscheck.measurement import HostRef

SKIPPED_GROUPS = ("all", "_meta")


def ansible_spec(name: str, inventory: str) -> str:
    return f"ansible://{name}?ansible_inventory={quote(inventory, safe='/')}"


def read_groups(path: Path) -> dict[str, list[HostRef]]:
    """group -> hosts, both sorted by name, so every xdist worker collects the same list."""
    if shutil.which("ansible-inventory") is None:
        raise ValueError("reading an Ansible inventory needs ansible-core: pip install 'opscheck[ansible]'")
    if not path.is_file():
        raise ValueError(f"{path} does not exist")
    from testinfra.utils.ansible_runner import AnsibleRunner, itergroup

    try:
        data = AnsibleRunner.get_runner(str(path)).inventory
    except Exception as exc:  # noqa: BLE001 - ansible-inventory's own message says what is wrong
        raise ValueError(f"ansible-inventory cannot read {path}: {str(exc).strip()[:500]}") from None
    groups: dict[str, list[HostRef]] = {}
    for group in sorted(data):
        if group in SKIPPED_GROUPS:
            continue
        names = sorted(set(itergroup(data, group)))
        if names:
            groups[group] = [HostRef(name, ansible_spec(name, str(path))) for name in names]
    if not groups:
        raise ValueError(f"{path} defines no hosts")
    return groups


def merge_groups(cls, data: Any, info: ValidationInfo) -> Any:
    """Before validation: add the Ansible inventory's groups to `hosts:` (which then validates both)."""
    if not isinstance(data, dict) or not data.get("ansible_inventory"):
        return data
    raw = data["ansible_inventory"]
    if not isinstance(raw, str):
        return data  # the field's own validation reports it
    path = Path(raw).expanduser()
    base = (info.context or {}).get("base_dir")
    if not path.is_absolute() and base:
        path = Path(base) / path
    try:
        groups = read_groups(path.resolve())
    except ValueError as exc:
        raise ValueError(f"ansible_inventory: {exc}") from None
    own = data.get("hosts")
    if own is None:
        # An Ansible inventory replaces the default `local` group rather than adding to it.
        return {**data, "hosts": groups}
    if not isinstance(own, dict):
        return data
    clash = sorted(set(own) & set(groups))
    if clash:
        raise ValueError(f"ansible_inventory: group {clash[0]!r} is defined both in hosts: and in {raw}; rename one")
    return {**data, "hosts": {**own, **groups}}


# Assigned in the Inventory model's body, next to the `ansible_inventory` field.
merge_ansible_groups = model_validator(mode="before")(merge_groups)
