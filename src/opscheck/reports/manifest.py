"""manifest.json: the run's metadata, the sha256 of every file of its folder, and the chain.

Each manifest names the previous run's manifest by hash, so deleting or editing a
sealed run breaks the link from its successor. The `seal` (a digest of the
manifest's own content) catches an edit to the newest manifest, which no
successor covers yet; the manifest hash printed at the end of the run is the
anchor to keep elsewhere (cron log, monitoring) against a recomputed seal.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from opscheck.redact import redact_data
from opscheck.reports.folder import IN_PROGRESS, write_atomic
from opscheck.reports.run import Run

FILENAME = "manifest.json"
FORMAT = "opscheck-manifest/1"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_files(folder: Path) -> dict[str, dict[str, Any]]:
    """Every entry below `folder` but folders and the manifest: relative path -> sha256 and size.

    Judged by lstat, never followed or opened unless a regular file: a dangling symlink,
    a FIFO (opening one would block) or a device added to a run folder is an entry with
    its `kind` and no hash, so verification names it instead of crashing or hanging."""
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if relative in (FILENAME, IN_PROGRESS):
            continue  # the writer's own marker goes right after sealing
        try:
            info = path.lstat()
        except OSError:
            continue  # removed while we walked
        if stat.S_ISDIR(info.st_mode):
            continue
        if stat.S_ISREG(info.st_mode):
            try:
                files[relative] = {"sha256": sha256_file(path), "size": info.st_size}
            except OSError as exc:
                files[relative] = {"sha256": None, "size": info.st_size, "kind": f"unreadable ({exc.strerror})"}
        elif stat.S_ISLNK(info.st_mode):
            files[relative] = {"sha256": None, "size": 0, "kind": f"symlink to {os.readlink(path)}"}
        else:
            kind = "FIFO" if stat.S_ISFIFO(info.st_mode) else "socket" if stat.S_ISSOCK(info.st_mode) else "device"
            files[relative] = {"sha256": None, "size": 0, "kind": kind}
    return files


def empty_folders(folder: Path) -> list[str]:
    """Folders below `folder` with nothing in them: the manifest names them, as files name the rest."""
    empty = []
    for path in sorted(folder.rglob("*")):
        try:
            if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
                empty.append(path.relative_to(folder).as_posix())
        except OSError:
            continue
    return empty


def seal(document: dict) -> str:
    body = {k: v for k, v in document.items() if k != "seal"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def write(run: Run, folder: Path) -> str:
    """Seal `folder`; returns the sha256 of the manifest file, the link its successor will carry."""
    document = {
        "format": FORMAT,
        "run": redact_data(run.meta()),
        "previous": run.previous,
        "pruned": run.pruned,
        "files": folder_files(folder),
        "folders": empty_folders(folder),
    }
    document["seal"] = seal(document)
    data = json.dumps(document, indent=1, sort_keys=False).encode() + b"\n"
    write_atomic(folder / FILENAME, data)
    return hashlib.sha256(data).hexdigest()


def read(folder: Path) -> dict | None:
    try:
        return json.loads((folder / FILENAME).read_text())
    except (OSError, ValueError):
        return None


def sealed_runs(reports_dir: Path, exclude: Path | None = None) -> list[Path]:
    """Run folders with a manifest, oldest sealed first."""
    runs = []
    if not reports_dir.is_dir():
        return runs
    for path in reports_dir.iterdir():
        if path.is_symlink() or not path.is_dir() or (exclude is not None and path.resolve() == exclude.resolve()):
            continue
        document = read(path)
        if document is not None:
            run = document.get("run") or {}
            runs.append(((run.get("finished") or "", path.name), path))
    return [path for _, path in sorted(runs)]


def previous_run(reports_dir: Path, exclude: Path) -> dict | None:
    """The link to the most recently sealed run: its id and its manifest's sha256.

    That is the head of the chain, the sealed run no other run follows, rather than the
    one with the latest `finished` time: suites running side by side can finish in one
    order (or in the same second) and seal in another."""
    runs = sealed_runs(reports_dir, exclude)
    if not runs:
        return None
    followed = {((read(p) or {}).get("previous") or {}).get("run") for p in runs}
    heads = [p for p in runs if p.name not in followed]
    last = (heads or runs)[-1]
    return {"run": last.name, "manifest_sha256": sha256_file(last / FILENAME)}
