"""One audit record from several sealed run folders: shards of a fleet, or one run per site.

Each part is verified first and copied whole under `parts/`, so the merged folder stands
on its own: its manifest lists every file (the parts' included) and, per part, the sha256
of the part's own manifest.json. `opscheck verify` then re-verifies every part against its
own manifest and that hash, so an edited part is caught even when its manifest was
recomputed to match. results.json holds every part's checks, each tagged with its part.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from opscheck.redact import redact_data
from opscheck.reports.folder import write_atomic
from opscheck.reports.manifest import (
    FILENAME,
    FORMAT,
    empty_folders,
    folder_files,
    read,
    seal,
    sha256_file,
)
from opscheck.reports.run import VERDICTS

PARTS = "parts"


class MergeError(Exception):
    """The parts cannot make one record: each line names a part and what is wrong."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def merge(folders: list[Path], out: Path) -> str:
    """Write the merged record to `out` (a new folder); returns the sha256 of its manifest."""
    from opscheck.reports.verify import verify

    folders = [Path(f).resolve() for f in folders]
    problems = []
    if len({f for f in folders}) != len(folders):
        problems.append("the same run folder is given twice")
    if out.exists():
        problems.append(f"{out}: already exists (the merged record goes to a new folder)")
    documents = []
    for folder in folders:
        result = verify(folder)
        problems += [f"{folder.name}: {p}" if not p.startswith(folder.name) else p for p in result.problems
                     if not p.startswith("chain")]  # a part's predecessors stay on its runner
        documents.append(read(folder) or {})
    runs = [d.get("run") or {} for d in documents]
    suites = {r.get("suite") for r in runs}
    if len(suites) > 1:
        problems.append(f"parts of different suites: {', '.join(sorted(map(str, suites)))}")
    shards = [r.get("shard") for r in runs]
    if any(shards):
        counts = {s.split("/")[1] for s in shards if s}
        seen = sorted(s for s in shards if s)
        expected = [f"{i}/{c}" for c in counts for i in range(1, int(c) + 1)] if len(counts) == 1 else []
        if None in shards or len(counts) != 1 or seen != sorted(expected):
            problems.append(f"shards do not make one whole fleet: have {', '.join(s or 'unsharded' for s in shards)}"
                            + (f", need {', '.join(expected)}" if expected else ""))
    if problems:
        raise MergeError(problems)
    out.mkdir(parents=True)
    try:
        return _write(folders, documents, runs, out)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise


def _write(folders: list[Path], documents: list[dict], runs: list[dict], out: Path) -> str:
    parts, checks = [], []
    for number, (folder, run) in enumerate(zip(folders, runs, strict=True), start=1):
        name = f"{number}-{folder.name}"
        shutil.copytree(folder, out / PARTS / name, symlinks=True)
        parts.append({"part": name, "run": run.get("id") or folder.name, "shard": run.get("shard"),
                      "host": run.get("host"), "source": str(folder),
                      "manifest_sha256": sha256_file(out / PARTS / name / FILENAME)})
        try:
            recorded = json.loads((folder / "results.json").read_text()).get("checks") or []
        except (OSError, ValueError):
            recorded = []
        checks += [{**check, "part": name} for check in recorded]
    counts = dict.fromkeys(VERDICTS, 0)
    for check in checks:
        counts[check.get("verdict")] = counts.get(check.get("verdict"), 0) + 1
    meta = {
        "id": out.name,
        "kind": "merge",
        "suite": runs[0].get("suite"),
        "environment": sorted({str(r.get("environment")) for r in runs}),
        "started": min(str(r.get("started")) for r in runs),
        "finished": max(str(r.get("finished")) for r in runs),
        "merged": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "counts": counts,
    }
    write_atomic(out / "results.json",
                 json.dumps(redact_data({"run": meta, "parts": parts, "checks": checks}), indent=1).encode() + b"\n")
    document = {"format": FORMAT, "run": redact_data(meta), "previous": None, "pruned": [], "parts": parts,
                "files": folder_files(out), "folders": empty_folders(out)}
    document["seal"] = seal(document)
    data = json.dumps(document, indent=1).encode() + b"\n"
    write_atomic(out / FILENAME, data)
    import hashlib

    return hashlib.sha256(data).hexdigest()
