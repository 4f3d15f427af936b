"""Files the checking user may not read are UNKNOWN "permission denied reading …", never CRIT "does not exist".

The host spec runs every command as `nobody` (`local://?sudo=true&sudo_user=nobody`); the files sit
in a root-only (0700) directory, so `nobody` can neither read them nor tell whether they exist.
"""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from opscheck.inventory.model import Inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.registry import get
from opscheck.verdict import Verdict

NOBODY = "local://?sudo=true&sudo_user=nobody"


@pytest.fixture
def private(tmp_path_factory) -> Path:
    """A root-only directory with a backup, a log, an env file and a certificate inside."""
    root = tmp_path_factory.mktemp("root-only")
    os.chmod(root.parent, 0o755)
    (root / "db").mkdir()
    with gzip.open(root / "db" / "db_1.sql.gz", "wt") as dump:
        dump.write("-- dump\n")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    (root / "app.log").write_text(f"{stamp} ERROR boom\n")
    (root / "app.env").write_text("DEBUG=0\n")
    (root / "site.pem").write_text("not read anyway\n")
    os.chmod(root, 0o700)
    return root


def results(inventory: dict, kind: str) -> list:
    inventory = {"hosts": {"app": [NOBODY]}, **inventory}
    inv = Inventory.model_validate(inventory)
    targets = get(kind).targets(inv)
    assert targets, f"no {kind} target"
    return [evaluate(probe_once(t)) for t in targets]


@pytest.mark.parametrize("kind", ["backup_age", "backup_count", "backup_size", "backup_retention"])
def test_backups(private, kind):
    backup = {"name": "db dumps", "on": "app", "path": str(private / "db"), "pattern": "db_*.sql.gz", "max_age": "4h",
              "keep_days": 7, "min_count": 1}
    (r,) = results({"backups": [backup]}, kind)
    assert r.verdict is Verdict.UNKNOWN, r.summary
    assert f"permission denied reading {private}/db" in r.summary


def test_logs(private):
    log = {"name": "app", "on": "app", "path": str(private / "app.log"), "pattern": "ERROR", "warn": 5, "crit": 50}
    (r,) = results({"logs": [log]}, "log_pattern")
    assert r.verdict is Verdict.UNKNOWN, r.summary
    assert f"permission denied reading {private}/app.log" in r.summary


def test_env_file(private):
    (r,) = results({"env_flags": [{"on": "app", "file": str(private / "app.env"), "absent": ["DEBUG"]}]}, "env_flags")
    assert r.verdict is Verdict.UNKNOWN, r.summary
    assert f"permission denied reading {private}/app.env" in r.summary


def test_cert_file_and_file_permissions(private):
    (cert,) = results({"tls": [{"name": "site cert", "file": str(private / "site.pem"), "on": "app"}]}, "cert_file")
    assert cert.verdict is Verdict.UNKNOWN, cert.summary
    assert f"permission denied reading {private}/site.pem" in cert.summary
    (mode,) = results({"files": [{"on": "app", "path": str(private / "app.env"), "max_mode": "0600"}]}, "file")
    assert mode.verdict is Verdict.UNKNOWN, mode.summary
    assert f"permission denied reading {private}/app.env" in mode.summary
    (tree,) = results({"files": [{"on": "app", "path": str(private / "db"), "no_world_writable": True}]}, "world_writable")
    assert tree.verdict is Verdict.UNKNOWN, tree.summary
    assert f"permission denied reading {private}/db" in tree.summary


def test_missing_files_still_do_not_exist(private):
    """The other side: where `nobody` can look, a missing file is still CRIT."""
    (r,) = results({"env_flags": [{"on": "app", "file": "/tmp/opscheck-no-such.env", "absent": ["DEBUG"]}]}, "env_flags")
    assert r.verdict is Verdict.CRIT and "does not exist" in r.summary
