"""Recompute a run folder's manifest, or a whole reports dir's chain, and name every difference."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from opscheck.reports.folder import IN_PROGRESS, in_progress
from opscheck.reports.manifest import FILENAME, empty_folders, folder_files, read, seal, sha256_file

RUN_NAME = re.compile(r"^\d{8}T\d{6}Z-")


@dataclass
class Verification:
    runs: list[str] = field(default_factory=list)
    files: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not self.problems


def verify(path: Path) -> Verification:
    """A run folder (it holds manifest.json) or a reports dir (every run folder in it, and the chain)."""
    result = Verification()
    path = Path(path).resolve()
    if not path.is_dir():
        result.problems.append(f"{path}: no such folder")
        return result
    if (path / FILENAME).exists() or RUN_NAME.match(path.name):
        folders, reports_dir = [path], path.parent
    else:
        folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and ((p / FILENAME).exists() or RUN_NAME.match(p.name)))
        reports_dir = path
        if not folders:
            result.problems.append(f"{path}: no run folders (nothing to verify)")
            return result
        for latest in sorted(path.glob("latest*")):
            if latest.is_symlink() and not latest.resolve().is_dir():
                result.problems.append(f"{latest}: points at {latest.readlink()}, which is missing")
    documents = {}
    for folder in folders:
        document = _verify_folder(folder, result)
        if document is not None:
            documents[folder.name] = document
    _verify_chain(reports_dir, documents, [f.name for f in folders], result)
    return result


def _verify_folder(folder: Path, result: Verification) -> dict | None:
    name = folder.name
    result.runs.append(name)
    if not (folder / FILENAME).exists() and in_progress(folder):
        # Its writer is alive and will seal it: not tampering, not yet verifiable.
        result.notes.append(f"{name}: in progress (being written, not sealed yet)")
        return None
    if not (folder / FILENAME).exists() and (folder / IN_PROGRESS).exists():
        result.problems.append(f"{name}: never sealed (its run died before the end: killed, or the machine went down)")
        return None
    if not (folder / FILENAME).exists():
        result.problems.append(f"{name}: {FILENAME} missing (run never sealed, or manifest removed)")
        return None
    document = read(folder)
    if document is None or not isinstance(document.get("files"), dict):
        result.problems.append(f"{name}/{FILENAME}: not a readable manifest")
        return None
    if document.get("seal") != seal(document):
        result.problems.append(f"{name}/{FILENAME}: edited (its seal does not match its content)")
    recorded = document["files"]
    actual = folder_files(folder)
    result.files += len(actual)
    for relative in sorted(recorded):
        if relative not in actual:
            result.problems.append(f"{name}/{relative}: missing")
        elif actual[relative]["sha256"] != recorded[relative].get("sha256"):
            result.problems.append(f"{name}/{relative}: altered (sha256 {actual[relative]['sha256'][:12]}…, manifest says {str(recorded[relative].get('sha256'))[:12]}…)")
    for relative in sorted(set(actual) - set(recorded)):
        kind = actual[relative].get("kind")
        result.problems.append(f"{name}/{relative}: extra file{f' ({kind})' if kind else ''}, not in the manifest")
    for relative in sorted(set(empty_folders(folder)) - set(document.get("folders") or [])):
        result.problems.append(f"{name}/{relative}/: extra folder, not in the manifest")
    for part in document.get("parts") or []:
        _verify_part(folder, part, result)
    return document


def _verify_part(folder: Path, part: dict, result: Verification) -> None:
    """A part of a merged record (opscheck merge): its manifest is the one merged, and it still verifies."""
    where = f"{folder.name}/parts/{part.get('part')}"
    path = folder / "parts" / str(part.get("part"))
    if not (path / FILENAME).is_file():
        result.problems.append(f"{where}: part missing")
        return
    found = sha256_file(path / FILENAME)
    if found != part.get("manifest_sha256"):
        result.problems.append(f"{where}/{FILENAME}: changed since the merge (sha256 {found[:12]}…, merge says {str(part.get('manifest_sha256'))[:12]}…)")
    own = Verification()
    _verify_folder(path, own)
    result.problems += [f"{folder.name}/parts/{problem}" for problem in own.problems]


def verify_before_pruning(reports_dir: Path, names: list[str]) -> dict[str, list[str]]:
    """The problems of each run about to be pruned: its own files and seal, and its successors' links to it."""
    problems: dict[str, list[str]] = {}
    successors = [read(p) for p in Path(reports_dir).iterdir() if p.is_dir() and not p.is_symlink() and p.name not in names]
    for name in names:
        result = Verification()
        folder = Path(reports_dir) / name
        if _verify_folder(folder, result) is not None and (folder / FILENAME).exists():
            found = sha256_file(folder / FILENAME)
            for document in successors:
                previous = (document or {}).get("previous") or {}
                if previous.get("run") == name and previous.get("manifest_sha256") != found:
                    result.problems.append(f"chain break: {(document.get('run') or {}).get('id')} follows {name}, whose {FILENAME} changed")
        if result.problems:
            problems[name] = result.problems
    return problems


def _verify_chain(reports_dir: Path, documents: dict[str, dict], present: list[str], result: Verification) -> None:
    pruned = {}
    others = [read(p) for p in reports_dir.iterdir() if p.is_dir() and p.name not in documents] if reports_dir.is_dir() else []
    for document in [*documents.values(), *(d for d in others if d)]:
        for record in document.get("pruned") or []:
            pruned[record.get("run")] = record.get("manifest_sha256")
    followers: dict[str, list[str]] = {}
    for name, document in sorted(documents.items()):
        previous = document.get("previous")
        if not previous:
            continue
        before, expected = previous.get("run"), previous.get("manifest_sha256")
        followers.setdefault(before, []).append(name)
        manifest = reports_dir / before / FILENAME if before else None
        if manifest is not None and manifest.exists():
            found = sha256_file(manifest)
            if found != expected:
                result.problems.append(f"chain break: {name} follows {before}, whose {FILENAME} changed (sha256 {found[:12]}…, expected {str(expected)[:12]}…)")
        elif before in pruned:
            if pruned[before] != expected:
                result.problems.append(f"chain break: {name} follows {before}, pruned with a different manifest hash")
            else:
                result.notes.append(f"{name} follows {before}, pruned by retention")
        else:
            result.problems.append(f"chain break: {name} follows {before}, which is missing (deleted, not pruned)")
    for before, names in sorted(followers.items()):
        if len(names) > 1:
            result.problems.append(f"chain fork: {', '.join(names)} all follow {before}")
