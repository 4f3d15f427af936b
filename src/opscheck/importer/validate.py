"""The one place the importer asks opscheck whether its output loads.

It asks the offline check (`opscheck inventory check --offline`, inventory/offline.py): an
`env:NAME` that is unset or a `file:PATH` that does not exist is taken as present, every
other problem is reported. A draft needs no real secret and no stand-in value, so nothing is
contacted and no stand-in can trip a rule about secrets (length, names).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from pydantic import ValidationError


def check_text(text: str) -> list[str]:
    """Problems the offline check finds in an inventory text (empty: it loads)."""
    from opscheck.inventory.offline import check_offline

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "imported.yml"
        path.write_text(text, encoding="utf-8")
        return [p.replace(str(path), "imported.yml") for p in check_offline(path)]


def entry_problem(section: str, entry: dict) -> tuple[str, str] | None:
    """Why this installed opscheck cannot load `entry` in `section`: ("kind", what) or ("error", message).

    Asked of the real Inventory model, so a section or key added later is taken live; secrets
    not at hand are taken as present, as the offline check does.
    """
    from opscheck.inventory.model import Inventory
    from opscheck.inventory.offline import absent_secrets, errors_beside

    if section not in Inventory.model_fields:
        return "kind", section
    data = json.loads(json.dumps({section: [entry]}))
    absent = set(absent_secrets(data, (), Path.cwd()))
    try:
        Inventory.model_validate(data, context={"base_dir": str(Path.cwd())})
    except ValidationError as exc:
        errors = errors_beside(exc, absent)
        extra = [e for e in errors if e["type"] == "extra_forbidden"]
        if extra:
            keys = sorted({str(e["loc"][-1]) for e in extra})
            return "kind", f"{section} {', '.join(keys)} key{'s' if len(keys) > 1 else ''}"
        if errors:
            first = errors[0]
            return "error", f"{'.'.join(map(str, first['loc'][2:]))}: {first['msg']}"
    return None
