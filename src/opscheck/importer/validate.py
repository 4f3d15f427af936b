"""The one place the importer asks opscheck whether its output loads.

Until `opscheck inventory check --offline` exists (issue: discover), this is the normal
loader with every `env:` placeholder set to a stand-in value, so nothing is contacted and
nothing real is needed; switch `check_text` to the offline check when it lands.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

STAND_INS = {
    "DATABASE_URL": "postgresql://placeholder@placeholder.invalid:5432/placeholder",
    "REDIS_URL": "redis://placeholder.invalid:6379/0",
    "RABBITMQ_URL": "amqp://placeholder.invalid:5672/",
}
_ENV = re.compile(r"env:([A-Za-z_][A-Za-z0-9_]*)")


@contextmanager
def stand_ins(names):
    saved = {n: os.environ.get(n) for n in names}
    try:
        for n in names:
            if n not in os.environ:
                os.environ[n] = STAND_INS.get(n, "placeholder-value")
        yield
    finally:
        for n, v in saved.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def check_text(text: str) -> list[str]:
    """Problems the loader finds in an inventory text (empty: it loads)."""
    from opscheck.errors import InventoryError
    from opscheck.registry import load_inventory

    with tempfile.TemporaryDirectory() as tmp, stand_ins(set(_ENV.findall(text))):
        path = Path(tmp) / "imported.yml"
        path.write_text(text, encoding="utf-8")
        try:
            load_inventory(path)
        except InventoryError as exc:
            return [p.replace(str(path), "imported.yml") for p in exc.problems]
    return []


def entry_problem(section: str, entry: dict) -> tuple[str, str] | None:
    """Why this installed opscheck cannot load `entry` in `section`: ("kind", what) or ("error", message).

    Asked of the real Inventory model, so a section or key added later is taken live.
    """
    from opscheck.inventory.model import Inventory

    if section not in Inventory.model_fields:
        return "kind", section
    import json

    with stand_ins(set(_ENV.findall(json.dumps(entry)))):
        try:
            Inventory.model_validate({section: [entry]})
        except ValidationError as exc:
            extra = [e for e in exc.errors() if e["type"] == "extra_forbidden"]
            if extra:
                keys = sorted({str(e["loc"][-1]) for e in extra})
                return "kind", f"{section} {', '.join(keys)} key{'s' if len(keys) > 1 else ''}"
            first = exc.errors()[0]
            return "error", f"{'.'.join(map(str, first['loc'][2:]))}: {first['msg']}"
    return None
