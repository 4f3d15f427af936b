"""The draft as commented YAML: active entries as written, the others commented out."""

from __future__ import annotations

import datetime as dt
import re

import yaml

from opscheck.discover.draft import Draft

SCHEMA_DEFAULT = "inventory.schema.json"
# Order of sections in the file: the order an SRE reads a host in.
ORDER = ("system", "services", "tls", "postgres", "redis", "rabbitmq", "memcached", "logs", "backups")


def render(draft: Draft, schema: str = SCHEMA_DEFAULT, environment: str = "discovered") -> str:
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    names = ", ".join(h.name for hosts in draft.hosts.values() for h in hosts)
    out = [
        f"# yaml-language-server: $schema={schema}",
        f"# Drafted by `opscheck discover` from {names} at {now}.",
        "# Every active entry measured OK when drafted; review the limits, then commit this file.",
        "# Editor completion: `opscheck inventory schema > inventory.schema.json` next to this file.",
    ]
    for note in draft.notes:
        out.append(f"# note: {note}")
    out += [f"environment: {_scalar(environment)}", "hosts:"]
    for group, hosts in draft.hosts.items():
        out.append(f"  {_scalar(group)}: [{', '.join(_scalar(h.spec) for h in hosts)}]")
    sections = sorted({b.section for b in draft.blocks}, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))
    for section in sections:
        blocks = [b for b in draft.blocks if b.section == section]
        out.append("")
        if any(b.active for b in blocks):
            out.append(f"{section}:")
        else:
            out.append(f"# {section}:")
        for block in blocks:
            for comment in block.comments:
                out.append(f"  # {comment}")
            lines = _entry(block.entry)
            prefix = "  " if block.active else "  # "
            if not block.active and any(b.active for b in blocks):
                prefix = "  # "
            out += [prefix + line for line in lines]
    return "\n".join(out) + "\n"


def _entry(entry: dict) -> list[str]:
    text = yaml.safe_dump([entry], sort_keys=False, default_flow_style=None, width=120, allow_unicode=True)
    # PyYAML quotes `on` for YAML 1.1; the inventory reads YAML 1.2, where it is a plain key.
    text = re.sub(r"(^\s*-?\s*|[{,]\s*)'on':", r"\1on:", text, flags=re.M)
    return text.rstrip("\n").splitlines()


def _scalar(value: str) -> str:
    return yaml.safe_dump(value, default_style=None).removesuffix("\n...\n").strip()
