"""`opscheck discover`: a drafted inventory of this machine (and of a host over SSH) that
validates and, run at once, passes the daily suite; certificates, backups and logs it finds."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import hosts_sshd
import jsonschema
import yaml
from http_tls_servers import issue

from opscheck import connect
from opscheck.discover import draft as drafting
from opscheck.discover import facts as gathering
from opscheck.discover.render import render
from opscheck.discover.trial import run_trial
from opscheck.inventory import load_inventory
from opscheck.inventory.loader import InventoryLoader
from opscheck.inventory.schema import inventory_schema
from opscheck.measurement import HostRef

ROOT = Path(__file__).resolve().parent.parent
LOCAL = HostRef("local", "local://")
sshd = hosts_sshd.sshd


def opscheck(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "opscheck.cli", *args], cwd=cwd, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=300, env={**os.environ, **(env or {})},
    )


def active(text: str) -> dict:
    return yaml.load(text, Loader=InventoryLoader)  # noqa: S506 - a SafeLoader subclass


def test_new_user_goes_from_nothing_to_a_passing_daily_suite(tmp_path):
    """The issue's promise: `opscheck discover > inv.yml && opscheck run daily --inventory=inv.yml`."""
    inv = tmp_path / "inv.yml"
    shell = f"{sys.executable} -m opscheck.cli discover > {inv} && {sys.executable} -m opscheck.cli run daily --inventory={inv} --reports-dir={tmp_path / 'reports'}"
    done = subprocess.run(["sh", "-c", shell], cwd=ROOT, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    text = inv.read_text()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- drafted:\n{text}"
    assert done.stdout.startswith("opscheck daily on discovered: OK - "), done.stdout
    assert text.startswith("# yaml-language-server: $schema=inventory.schema.json\n")
    data = active(text)
    assert data["hosts"] == {"local": ["local://"]}
    system = data["system"][0]
    assert {"mount": "/", "warn": system["disk"][0]["warn"], "crit": system["disk"][0]["crit"]} == system["disk"][0]
    # The loopback services of this machine are found on their usual ports, and their DSNs are
    # env: placeholders in commented entries: never a secret, never an inventory that fails to load.
    services = data["services"][0]
    assert {5432, 6379, 5672} <= set(services["listening"])
    assert services["ignore_loopback"] is True and isinstance(services["only"], list)
    assert "# - {name: local postgres, dsn: 'env:PG_DSN'}" in text
    assert "needs a secret first: export PG_DSN=" in text
    assert "# - {name: local redis, url: 'env:REDIS_URL'}" in text
    assert "postgres" not in data and "redis" not in data
    assert "no systemd" in text or "units" in services
    # It validates against the schema too, as an editor would see it.
    jsonschema.Draft202012Validator(inventory_schema()).validate(data)
    assert opscheck("inventory", "check", str(inv)).returncode == 0


def test_an_entry_that_is_not_ok_now_is_commented_out_with_its_verdict(tmp_path):
    pki = tmp_path / "letsencrypt" / "live" / "example.test"
    pki.mkdir(parents=True)
    good, expired = issue("example.test", days=90), issue("old.test", days=-2, valid_from_days=-30)
    (pki / "cert.pem").write_bytes(good.pem())
    (pki / "chain.pem").write_bytes(good.pem())       # repeats: left out
    (pki / "fullchain.pem").write_bytes(good.pem())   # repeats: left out
    (pki / "privkey.pem").write_bytes(good.key_pem())  # not a certificate
    ssl = tmp_path / "ssl"
    (ssl / "certs").mkdir(parents=True)
    (ssl / "certs" / "ca-certificates.crt").write_bytes(good.pem())  # the CA store: pruned
    (ssl / "ca-bundle.pem").write_bytes(b"".join(issue(f"ca{i}", ca=True).pem() for i in range(5)))
    (ssl / "old.crt").write_bytes(expired.pem())
    facts = gathering.gather(LOCAL, cert_roots=(str(tmp_path / "letsencrypt" / "live"), str(ssl)))
    assert facts.certs == [str(pki / "cert.pem"), str(ssl / "old.crt")]

    drafted = drafting.build([facts], {"local": [LOCAL]})
    drafted.blocks = [b for b in drafted.blocks if b.section in ("tls", "system")]
    run_trial(drafted)
    text = render(drafted)
    inventory = load_inventory(_write(tmp_path / "inv.yml", text))
    assert [t.file for t in inventory.tls] == [str(pki / "cert.pem")]
    assert f"#   file: {ssl / 'old.crt'}" in text or f"file: {ssl / 'old.crt'}" in text.split("commented out: CRIT")[1]
    assert "commented out: CRIT when drafted:" in text and "expired" in text


def test_backup_folder_given_with_backups(tmp_path):
    folder = tmp_path / "dumps"
    folder.mkdir()
    now = time.time()
    for day in (3, 2, 1):
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            payload = f"config of day {day}\n".encode() * 50
            info = tarfile.TarInfo("etc/app.conf")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        path = folder / f"etc_2026-11-2{day}_0300.tar.gz"
        path.write_bytes(buffer.getvalue())
        os.utime(path, (now - day * 3600, now - day * 3600))
    facts = gathering.gather(LOCAL, backups=[str(folder), str(tmp_path / "missing")])
    assert [(b.pattern, b.count) for b in facts.backups] == [("etc_*.tar.gz", 3)]
    assert 3500 < facts.backups[0].newest_age_s < 3700
    assert any("missing: cannot list" in n for n in facts.notes)
    drafted = drafting.build([facts], {"local": [LOCAL]})
    drafted.blocks = [b for b in drafted.blocks if b.section == "backups"]
    run_trial(drafted)
    inventory = load_inventory(_write(tmp_path / "inv.yml", render(drafted)))
    (entry,) = inventory.backups
    assert (entry.path, entry.pattern, entry.max_age.warn, entry.integrity) == (str(folder), "etc_*.tar.gz", 26 * 3600, ["auto"])


def test_log_limits_are_raised_above_what_the_log_holds_now(tmp_path):
    log = tmp_path / "app.log"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime())
    log.write_text("".join(f"{stamp} FATAL lost connection {i}\n" for i in range(30)))
    drafted = drafting.Draft({"local": [LOCAL]})
    drafted.add("logs", {"name": "app", "on": "local", "path": str(log), "pattern": "FATAL", "window": "24h", "warn": 10, "crit": 100}, host=LOCAL)
    run_trial(drafted)
    (block,) = drafted.blocks
    assert block.active and (block.entry["warn"], block.entry["crit"]) == (70, 400)
    assert "limits raised: 30 matching lines in the window when drafted" in block.comments[-1]


def test_no_systemd_is_said_not_guessed():
    facts = gathering.gather(LOCAL)
    if os.path.isdir("/run/systemd/system"):
        assert facts.units is not None
    else:
        assert facts.units is None
        assert any("no systemd on this host" in n for n in facts.notes)


def test_discover_over_ssh_drafts_the_remote_host_and_its_daily_suite_passes(tmp_path, sshd):
    connect.forget_down()
    spec = sshd.spec()
    done = opscheck("discover", spec, "--environment", "ssh-test")
    assert done.returncode == 0, done.stderr
    data = active(done.stdout)
    assert data["hosts"] == {"discovered": [spec]} and data["environment"] == "ssh-test"
    assert data["system"][0]["on"] == "127.0.0.1" and data["system"][0]["disk"][0]["mount"] == "/"
    # sshd was started seconds ago: not a steady listener, said so rather than required. On a shared
    # machine other listeners come and go between discovery and the trial run: then the services
    # block is commented out, saying so (the trial's promise), and the port is not required either.
    if "services" in data:
        assert sshd.port not in data["services"][0].get("listening", [])
    else:
        assert "# commented out: " in done.stdout and "services:" in done.stdout, done.stdout
    assert f"{sshd.port} sshd" in done.stdout or f", {sshd.port}" in done.stdout or f": {sshd.port}" in done.stdout
    inv = _write(tmp_path / "inv.yml", done.stdout)
    run = opscheck("run", "daily", f"--inventory={inv}", f"--reports-dir={tmp_path / 'reports'}")
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- drafted:\n{done.stdout}"
    assert "OK - " in run.stdout


def test_unreachable_host_is_an_error_not_an_empty_draft():
    done = opscheck("discover", "ssh://nobody@127.0.0.1:1?connect_timeout=2", "--timeout", "5s")
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    assert "127.0.0.1" in done.stderr and "Traceback" not in done.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path



def test_discover_an_ansible_group(tmp_path):
    hosts = write_ini(tmp_path / "hosts.ini", "[ops]\nlocalhost ansible_connection=local\n\n[app]\napp-1 ansible_host=10.0.0.11\n")
    done = opscheck("discover", "--ansible", str(hosts), "--group", "ops", "--no-trial")
    assert done.returncode == 0, done.stderr
    data = active(done.stdout)
    (spec,) = data["hosts"]["ops"]
    assert list(data["hosts"]) == ["ops"] and spec.startswith("ansible://localhost")
    assert data["system"][0]["on"] == "localhost"
    inv = _write(tmp_path / "inv.yml", done.stdout)
    assert opscheck("inventory", "check", str(inv)).returncode == 0
    wrong = opscheck("discover", "--ansible", str(hosts), "--group", "nope")
    assert wrong.returncode == 3
    assert wrong.stderr == f"opscheck discover: {hosts}: no group 'nope' (groups: app, ops)\n"


def write_ini(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_listeners_become_listening_only_and_comments():
    """Pure drafting logic: which listeners are required, allowed, or only mentioned."""
    L = gathering.Listener
    facts = gathering.HostFacts(
        LOCAL,
        listeners=[
            L("0.0.0.0", 22, "sshd", 1, 86400.0),          # steady, exposed
            L("127.0.0.1", 5432, "postgres", 2, 7200.0),   # steady, loopback
            L("127.0.0.1", 8080, "python3", 3, 30.0),      # started seconds ago
            L("0.0.0.0", 2024, "", 0, None),               # not ours to name
            L("127.0.0.1", 45000, "pytest", 4, 5000.0),    # ephemeral range
        ],
        units=None,
        containers=[{"Names": "web"}],
        compose=[{"Name": "shop", "Status": "running(1)", "ConfigFiles": "/srv/shop/compose.yml"}],
    )
    drafted = drafting.build([facts], {"local": [LOCAL]})
    (services,) = [b for b in drafted.blocks if b.section == "services"]
    assert services.entry == {"name": "local services", "on": "local", "listening": [22, 5432], "only": [22, 2024], "ignore_loopback": True}
    text = "\n".join(services.comments)
    assert "no systemd here" in text
    assert "left out, started less than 10 minutes ago (add them if they must always run): 8080 python3" in text
    assert "process not visible to this user (run as root to name them): 2024" in text
    assert "left out, in the ephemeral range 32768-60999 (short-lived): 45000" in text
    (postgres,) = [b for b in drafted.blocks if b.section == "postgres"]
    assert (postgres.active, postgres.entry) == (False, {"name": "local postgres", "dsn": "env:PG_DSN"})
    (docker,) = [n for n in drafted.notes if "Docker" in n]
    assert "containers: web; compose projects: shop (running(1), /srv/shop/compose.yml)" in docker
    rendered = render(drafted)
    assert "# - {name: local postgres, dsn: 'env:PG_DSN'}" in rendered
    assert "# note: local: a Docker engine answers" in rendered
