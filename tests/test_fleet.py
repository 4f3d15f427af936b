"""A fleet of 12 namespace hosts (own address, own sshd, reachable only over veth), run from runner namespaces.

The agent path against the per-command path on the same hosts, a host that never answers,
and two sharded runner processes whose runs merge into one record that verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import fleet_netns
import pytest

from opscheck.measurement import HostRef, Target
from opscheck.plugin import sharding

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 12
CHECKS_PER_HOST = 12


@pytest.fixture(scope="module")
def fleet():
    built = fleet_netns.build(HOSTS, runners=2)
    try:
        silent = built.hosts[-1]  # a host that accepts TCP and never says a word: hung sshd
        built.stop_host(silent)
        silent.proc = subprocess.Popen(["ip", "netns", "exec", silent.netns, sys.executable, "-c", (
            "import socket,time;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
            f"s.bind(('{silent.address}',22));s.listen(50);time.sleep(3600)")])
        files = fleet_netns.daily_files(built.dir / "data")
        # Generous: the per-command path on a busy 2-core machine needs it (a probe past its timeout is UNKNOWN).
        built.inventory = fleet_netns.daily_inventory(built, built.hosts, files, built.dir / "fleet.yml", timeout="120s")
        yield built
    finally:
        built.close()


def opscheck_run(fleet, reports: Path, *args: str, runner: int = 0, agent: bool = True) -> subprocess.Popen:
    env = {**os.environ, "OPSCHECK_HOST_AGENT": "on" if agent else "off"}
    argv = fleet.in_runner([sys.executable, "-m", "opscheck", "run", "daily", "--suite-dir", str(ROOT),
                            f"--inventory={fleet.inventory}", "--reports-dir", str(reports), "--no-notify", *args], runner)
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finished(proc: subprocess.Popen) -> tuple[int, str]:
    output = proc.communicate(timeout=600)[0]
    return proc.returncode, output


def results(reports: Path) -> dict:
    return json.loads(next(reports.glob("*-daily/results.json")).read_text())


def by_id(document: dict) -> dict[str, dict]:
    return {c["id"].split("::", 1)[1]: c for c in document["checks"]}


def test_agent_gives_the_verdicts_of_the_per_command_path(fleet, tmp_path):
    agent, per_command = opscheck_run(fleet, tmp_path / "agent"), opscheck_run(fleet, tmp_path / "percmd", agent=False, runner=1)
    (agent_rc, agent_out), (per_rc, per_out) = finished(agent), finished(per_command)
    assert agent_rc == per_rc == 1, agent_out + per_out  # the silent host is CRIT
    with_agent, without = by_id(results(tmp_path / "agent")), by_id(results(tmp_path / "percmd"))
    assert len(with_agent) == HOSTS * CHECKS_PER_HOST
    differ = {k: (v["summary"], without[k]["summary"]) for k, v in with_agent.items() if v["verdict"] != without[k]["verdict"]}
    assert not differ and set(with_agent) == set(without)
    silent = fleet.hosts[-1].name
    for test_id, check in with_agent.items():
        if f"[{silent}:" in test_id or f"[{silent}]" in test_id:
            assert check["verdict"] == "CRIT" and check["summary"].startswith(f"{silent}") and ": unreachable" in check["summary"], check
        else:
            assert check["verdict"] == "OK", check
            same = without[test_id]
            if check["check"] in ("file", "backup_count", "backup_retention", "process", "port", "cert_file"):
                assert (check["value"], check["summary"]) == (same["value"], same["summary"])
    # The hung host cost one connect timeout: every other check of it was failed from memory.
    silent_checks = [c for k, c in with_agent.items() if f"[{silent}" in k]
    assert sum("not retried" in c["summary"] for c in silent_checks) >= CHECKS_PER_HOST - 2
    assert "Connection timed out" in " ".join(c["summary"] for c in silent_checks)


def test_two_sharded_runners_merge_into_one_record_that_verifies(fleet, tmp_path):
    first, second = (opscheck_run(fleet, tmp_path / f"shard{i}", "--shard", f"{i}/2", runner=i - 1) for i in (1, 2))
    (rc1, out1), (rc2, out2) = finished(first), finished(second)
    assert {rc1, rc2} <= {0, 1}, out1 + out2
    parts = [next((tmp_path / f"shard{i}").glob("*-daily")) for i in (1, 2)]
    hosts = [{c["host"] for c in results(p.parent)["checks"]} for p in parts]
    assert not hosts[0] & hosts[1] and hosts[0] | hosts[1] == {h.name for h in fleet.hosts}
    assert {len(h) for h in hosts} == {HOSTS // 2}
    shards = [json.loads((p / "manifest.json").read_text())["run"]["shard"] for p in parts]
    assert shards == ["1/2", "2/2"]

    incomplete = cli("merge", str(parts[0]), "--out", str(tmp_path / "half"))
    assert incomplete.returncode == 1 and "shards do not make one whole fleet: have 1/2, need 1/2, 2/2" in incomplete.stderr
    merged = tmp_path / "merged"
    done = cli("merge", *map(str, parts), "--out", str(merged))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"merged 2 run(s) into {merged}")
    document = json.loads((merged / "manifest.json").read_text())
    assert [p["shard"] for p in document["parts"]] == ["1/2", "2/2"]
    for part, source in zip(document["parts"], parts, strict=True):
        assert part["manifest_sha256"] == sha256(source / "manifest.json")
    record = json.loads((merged / "results.json").read_text())
    assert len(record["checks"]) == HOSTS * CHECKS_PER_HOST
    assert record["run"]["counts"]["CRIT"] == CHECKS_PER_HOST and record["run"]["counts"]["OK"] == (HOSTS - 1) * CHECKS_PER_HOST
    verified = cli("verify", str(merged))
    assert verified.returncode == 0, verified.stderr
    assert "1 run(s)" in verified.stdout and ": ok" in verified.stdout

    # Tampering with a part is caught, even when the part's own manifest is recomputed to match.
    part = merged / "parts" / document["parts"][0]["part"]
    data = json.loads((part / "results.json").read_text())
    data["checks"][0]["verdict"] = "OK"
    (part / "results.json").write_text(json.dumps(data))
    tampered = cli("verify", str(merged))
    assert tampered.returncode == 1
    assert f"merged/parts/{part.name}/results.json: altered" in tampered.stderr
    from opscheck.reports import manifest

    own = json.loads((part / "manifest.json").read_text())
    own["files"]["results.json"]["sha256"] = manifest.sha256_file(part / "results.json")
    own["seal"] = manifest.seal(own)
    (part / "manifest.json").write_text(json.dumps(own, indent=1))
    resealed = cli("verify", str(merged))
    assert resealed.returncode == 1
    assert f"merged/parts/{part.name}/manifest.json: changed since the merge" in resealed.stderr


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "opscheck", *args], capture_output=True, text=True, cwd=ROOT)


def sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _item(host: str | None, nodeid: str):
    target = Target(kind="disk", id=nodeid, check="disk", host=HostRef(host, f"ssh://{host}") if host else None)
    return SimpleNamespace(callspec=SimpleNamespace(params={"target": target}), nodeid=nodeid)


def test_shards_split_by_host_evenly_and_the_same_on_every_runner():
    items = [_item(f"web-{h:02d}", f"c::test_{k}[web-{h:02d}]") for h in range(10) for k in ("disk", "load", "port")]
    items += [_item(None, f"c::test_tcp_reachable[ep{n}]") for n in range(3)]
    shards = [sharding.split(items, i, 3)[0] for i in (1, 2, 3)]
    assert sorted(i.nodeid for s in shards for i in s) == sorted(i.nodeid for i in items)
    for shard in shards:
        hosts = {sharding.key(i) for i in shard}
        assert all(sharding.key(i) in hosts for i in shard)
    assert [len({sharding.key(i) for i in s}) for s in shards] == [5, 4, 4]  # 13 keys dealt round-robin
    host_of = {}
    for number, shard in enumerate(shards):
        for item in shard:
            assert host_of.setdefault(sharding.key(item), number) == number  # a host never spans shards
    assert [i.nodeid for i in sharding.split(list(reversed(items)), 2, 3)[0]] == \
        [i.nodeid for i in reversed(shards[1])]  # the split does not depend on collection order


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_one_line(text):
    with pytest.raises(pytest.UsageError, match=r"expected I/N with 1 <= I <= N"):
        sharding.parse(text)
