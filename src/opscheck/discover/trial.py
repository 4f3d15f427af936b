"""Run the draft once before printing it: what would not be OK is tuned or commented out.

The promise of `opscheck discover` is a file that passes `opscheck inventory check`
and, run at once on the same host, gives all OK. Facts alone cannot promise that (a
log already holding 300 errors, a backup set whose newest file is half the size of
the one before), so the draft is validated and every target measured with the same
probes a run uses. Usage limits (disk, memory, load) already past their defaults are
raised above today's value, saying so; any other entry that is not OK is written
commented out with the verdict it had.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from opscheck import registry
from opscheck.discover.draft import Block, Draft
from opscheck.errors import InventoryError

PERCENT_KINDS = {"disk", "inodes", "memory", "swap"}
MAX_ROUNDS = 3


def run_trial(draft: Draft, concurrency: int = 16) -> None:
    """Tune or comment out every active block that does not measure OK; at most a few rounds."""
    for _ in range(MAX_ROUNDS):
        if not _one_round(draft, concurrency):
            return


def _one_round(draft: Draft, concurrency: int) -> bool:
    from opscheck.inventory.model import Inventory
    from opscheck.judging import evaluate
    from opscheck.measuring import forget, measure, prefetch
    from opscheck.verdict import Verdict

    try:
        inventory = Inventory.model_validate(draft.data())
    except ValidationError as exc:  # a draft the models refuse is a bug here: say where, no traceback
        raise InventoryError([f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)]) from None
    owners = _owners(draft, inventory)
    targets = []
    for name in sorted(registry.names()):
        targets += registry.get(name).targets(inventory)
    prefetch(targets, concurrency)
    changed = False
    try:
        for target in targets:
            result = evaluate(measure(target))
            if result.verdict is Verdict.OK:
                continue
            block = _owner(owners, target)
            if block is None or not block.active:
                continue
            raisable = target.kind in PERCENT_KINDS | {"load_per_core"} or (target.kind == "log_pattern" and "pattern" in block.entry)
            if raisable and result.verdict in (Verdict.WARN, Verdict.CRIT) and _raise_limit(block, target, result.measurement.value):
                changed = True
                continue
            if target.kind in PERCENT_KINDS | {"load_per_core"}:
                _drop_aspect(block, target, f"{result.verdict.value} when drafted: {result.summary}")
                changed = True
                continue
            block.active = False
            block.comments.append(f"commented out: {result.verdict.value} when drafted: {result.summary}")
            changed = True
    finally:
        forget()
    return changed


def _owners(draft: Draft, inventory) -> dict[int, Block]:
    """id(item or any model inside it) -> the block it came from."""
    active: dict[str, list[Block]] = {}
    for block in draft.blocks:
        if block.active:
            active.setdefault(block.section, []).append(block)
    owners: dict[int, Block] = {}
    for section, index, item in inventory.items():
        blocks = active.get(section, [])
        if index >= len(blocks):
            continue
        owners[id(item)] = blocks[index]
        for value in item.__dict__.values():
            for inner in value if isinstance(value, (list, tuple)) else [value]:
                owners.setdefault(id(inner), blocks[index])
    return owners


def _owner(owners: dict[int, Block], target) -> Block | None:
    for candidate in (target.spec, target.params.get("entry")):
        if candidate is not None and id(candidate) in owners:
            return owners[id(candidate)]
    return None


def _raise_limit(block: Block, target, value: Any) -> bool:
    """Limits above today's value; False when there is no sensible room (then comment out)."""
    if not isinstance(value, (int, float)):
        return False
    if target.kind == "log_pattern":
        count = int(value)
        block.entry["warn"], block.entry["crit"] = max(10, 2 * count + 10), max(100, 10 * count + 100)
        block.comments.append(f"limits raised: {count} matching lines in the window when drafted; look at them, then lower the limits")
        return True
    if target.kind == "load_per_core":
        warn = round(max(1.5, value * 1.5), 1)
        block.entry["load_per_core"] = {"warn": warn, "crit": round(max(3.0, warn * 2), 1)}
        block.comments.append(f"load_per_core raised: {value:.2f} per core when drafted")
        return True
    if value >= 97:
        return False
    warn = min(98, math.ceil(value) + 3)
    crit = min(99, max(warn + 1, math.ceil(value) + 6))
    limits = {"warn": f"{warn}%", "crit": f"{crit}%"}
    if target.kind in ("disk", "inodes"):
        mount = target.spec.mount
        for entry in block.entry[target.kind]:
            if entry["mount"] == mount:
                entry.update(limits)
        block.comments.append(f"{target.kind} {mount} raised: {value:.1f}% used when drafted; make room, then lower it")
    else:
        block.entry[target.kind] = limits
        block.comments.append(f"{target.kind} raised: {value:.1f}% used when drafted")
    return True


def _drop_aspect(block: Block, target, why: str) -> None:
    """One system aspect that cannot be OK today goes; the rest of the entry stays."""
    if target.kind in ("disk", "inodes"):
        block.entry[target.kind] = [e for e in block.entry[target.kind] if e["mount"] != target.spec.mount]
        if not block.entry[target.kind]:
            del block.entry[target.kind]
    else:
        block.entry.pop(target.kind, None)
    block.comments.append(f"{target.kind} left out: {why}")
