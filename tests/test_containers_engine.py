"""Container checks against a real Docker Engine started by the tests (tests/docker_engine.py).

One set of containers is started once for the module, all at once: a Compose-style
stack (labels com.docker.compose.project/service) with a passing health check, a
container that exits 3, one whose health check fails, one still starting, one in a
restart loop, one burning CPU under a 0.2-core limit, one holding 40 MiB of a 64 MiB
limit, one without limits, and one writing ERROR lines to its log. Each test asserts
the verdict, the value and the message of a probe run on an inventory entry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker_engine as engine_support  # noqa: F401 - imported before pytester's in-process runs
import pytest

from opscheck import measuring, registry
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once
from opscheck.verdict import Verdict

HEALTH_FAST = ["--health-interval", "1s", "--health-retries", "1", "--health-timeout", "5s"]
SHOP = ["--label", "com.docker.compose.project=shop"]


@pytest.fixture(scope="module")
def stack(docker_engine):
    e = docker_engine
    runs = [
        ("shop-web", [*SHOP, "--label", "com.docker.compose.service=web", "--health-cmd", "true", *HEALTH_FAST], "sleep 3600"),
        ("shop-db", [*SHOP, "--label", "com.docker.compose.service=db"], "sleep 3600"),
        ("shop-run-once", [*SHOP, "--label", "com.docker.compose.service=web", "--label", "com.docker.compose.oneoff=True"], "exit 9"),
        ("exits", ["--label", "app=batch"], "echo bye; exit 3"),
        ("sick", ["--label", "app=sick", "--health-cmd", "echo upstream returned 503; exit 1", *HEALTH_FAST], "sleep 3600"),
        ("warming", ["--label", "app=warming", "--health-cmd", "true", "--health-interval", "1h", "--health-start-period", "1h"], "sleep 3600"),
        ("loop", ["--label", "app=loop", "--restart", "always"], "echo boom; exit 2"),
        ("burn", ["--label", "app=burn", "--cpus", "0.2"], "yes > /dev/null"),
        ("mem-limited", ["--memory", "64m", "--tmpfs", "/t:size=60m"], "dd if=/dev/zero of=/t/fill bs=1048576 count=40 2>/dev/null; sleep 3600"),
        ("mem-free", [], "sleep 3600"),
        ("logger", [], 'echo "2026 INFO started"; echo "ERROR db timeout user=alice password=Hunter2Secret"; '
                       'echo "ERROR disk full"; echo "Warning: slow" >&2; sleep 3600'),
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda r: e.run(r[0], *r[1], command=r[2]), runs))
    state = lambda name: e.inspect(name)["State"]  # noqa: E731
    e.wait_for(lambda: state("exits")["Status"] == "exited", "exits to exit")
    e.wait_for(lambda: state("sick")["Health"]["Status"] == "unhealthy", "sick to turn unhealthy")
    e.wait_for(lambda: state("shop-web")["Health"]["Status"] == "healthy", "shop-web to turn healthy")
    e.wait_for(lambda: e.inspect("loop")["RestartCount"] >= 3, "loop to restart 3 times")
    e.wait_for(lambda: "ERROR disk" in e.docker("logs", "logger"), "logger to log")
    return e


def targets(tmp_path: Path, kind: str, entry: str, section: str = "containers"):
    path = tmp_path / "inventory.yml"
    path.write_text(f"{section}:\n  - {entry}\n")
    return registry.get(kind).targets(load_inventory(path))


def check(tmp_path, kind, entry, section="containers"):
    (target,) = targets(tmp_path, kind, entry, section)
    return evaluate(probe_once(target))


def at(stack) -> str:
    return f"engine: {stack.url}"


# --- running -----------------------------------------------------------------------------------


def test_compose_stack_running_ok_one_offs_left_out(stack, tmp_path):
    result = check(tmp_path, "container_running", f"{{compose_project: shop, {at(stack)}}}")
    assert result.verdict is Verdict.OK, result.summary
    assert result.summary == "compose shop 2 of 2 running"
    names = [row["name"] for row in result.measurement.evidence["containers"]]
    assert names == ["shop-db", "shop-web"]  # the `compose run` one-off is not part of the stack


def test_exited_container_is_crit_with_its_exit_code(stack, tmp_path):
    result = check(tmp_path, "container_running", f"{{labels: {{app: batch}}, {at(stack)}}}")
    assert result.verdict is Verdict.CRIT
    assert result.summary == "app=batch 0 of 1 running: exits exited (exit code 3)"
    assert result.measurement.evidence["containers"][0]["exit_code"] == 3


def test_missing_container_and_service_are_crit(stack, tmp_path):
    result = check(tmp_path, "container_running", f"{{names: [shop-web, ghost], {at(stack)}}}")
    assert result.verdict is Verdict.CRIT
    assert result.summary == "shop-web,ghost 1 of 1 running: ghost missing"
    result = check(tmp_path, "container_running", f"{{compose_project: shop, services: [web, cache], {at(stack)}}}")
    assert (result.verdict, result.summary) == (Verdict.CRIT, "compose shop[web,cache] 1 of 1 running: service cache missing")
    result = check(tmp_path, "container_running", f"{{compose_project: nosuch, {at(stack)}}}")
    assert result.summary == "compose nosuch 0 of 0 running: any container of compose nosuch missing"


def test_unreachable_engine_is_crit_for_running_unknown_for_the_rest(tmp_path):
    entry = "{names: [web], engine: unix:///tmp/opscheck-no-such-engine.sock}"
    running = check(tmp_path, "container_running", entry)
    assert running.verdict is Verdict.CRIT
    assert "engine unix:///tmp/opscheck-no-such-engine.sock unreachable" in running.summary
    health = check(tmp_path, "container_health", entry)
    assert health.verdict is Verdict.UNKNOWN and "unreachable" in health.summary


def test_tcp_engine_with_mutual_tls(stack, tmp_path):
    cert, key, ca = stack.tls
    entry = f"{{names: [shop-db], engine: '{stack.tcp_url}', tls: {{ca: {ca}, cert: {cert}, key: {key}}}}}"
    result = check(tmp_path, "container_running", entry)
    assert result.summary == "shop-db 1 of 1 running"
    assert result.verdict is Verdict.OK
    # Without a client certificate the engine refuses the handshake: we could not look, UNKNOWN.
    refused = check(tmp_path, "container_running", f"{{names: [shop-db], engine: '{stack.tcp_url}', tls: {{ca: {ca}}}}}")
    assert refused.verdict is Verdict.UNKNOWN
    assert f"engine {stack.tcp_url}: TLS handshake failed" in refused.summary


def test_docker_host_from_the_environment(stack, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", stack.url)
    (target,) = targets(tmp_path, "container_running", "{names: [shop-db]}")
    assert target.id == "local:shop-db"
    result = evaluate(probe_once(target))
    assert (result.verdict, result.summary) == (Verdict.OK, "shop-db 1 of 1 running")


def test_permission_denied_on_the_socket_is_unknown(stack, tmp_path):
    """As nobody, the engine's socket (in a 0700 folder) cannot be opened: UNKNOWN, not CRIT."""
    folder = Path(tempfile.mkdtemp(prefix="opscheck-nobody-"))  # pytest's tmp_path is root's alone
    folder.chmod(0o755)
    inventory = folder / "inventory.yml"
    inventory.write_text(f"containers:\n  - {{names: [shop-db], {at(stack)}}}\n")
    inventory.chmod(0o644)
    script = (
        "from opscheck import registry; from opscheck.inventory import load_inventory; "
        "from opscheck.judging import evaluate; from opscheck.measuring import probe_once; "
        f"t, = registry.get('container_running').targets(load_inventory('{inventory}')); "
        "r = evaluate(probe_once(t)); print(r.verdict.value, r.summary)"
    )
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    # CI's checkout and venv live in 0700 temporary folders: let nobody pass through them (not read
    # them) while it imports opscheck, and put the modes back afterwards.
    opened = _traversable_by_others([Path(measuring.__file__), Path(sysconfig.get_paths()["purelib"]), Path(sys.executable)])
    try:
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", script],
                             capture_output=True, text=True, timeout=60, env=env, cwd="/")
    finally:
        for path, mode in reversed(opened):
            path.chmod(mode)
        shutil.rmtree(folder)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("UNKNOWN "), out.stdout
    assert "permission denied on the socket" in out.stdout


# --- health ------------------------------------------------------------------------------------


def test_healthy_stack_notes_containers_without_a_check(stack, tmp_path):
    result = check(tmp_path, "container_health", f"{{compose_project: shop, {at(stack)}}}")
    assert (result.verdict, result.summary) == (Verdict.OK, "compose shop 1 of 1 healthy (no health check: shop-db)")


def test_unhealthy_is_crit_with_the_last_check_output(stack, tmp_path):
    result = check(tmp_path, "container_health", f"{{labels: {{app: sick}}, {at(stack)}}}")
    assert result.verdict is Verdict.CRIT
    assert result.summary == "app=sick 0 of 1 healthy: sick unhealthy (exit 1: upstream returned 503)"


def test_starting_is_warn(stack, tmp_path):
    result = check(tmp_path, "container_health", f"{{labels: {{app: warming}}, {at(stack)}}}")
    assert result.verdict is Verdict.WARN
    assert result.summary == "app=warming 0 of 1 healthy: warming health starting (no health-check output recorded)"


def test_no_health_check_at_all_is_unknown(stack, tmp_path):
    result = check(tmp_path, "container_health", f"{{names: [shop-db], {at(stack)}}}")
    assert result.verdict is Verdict.UNKNOWN
    assert "no running container of the set defines a health check" in result.summary


# --- restarts ----------------------------------------------------------------------------------


def test_restart_loop_per_hour_of_uptime_then_since_the_previous_run(stack, tmp_path, monkeypatch):
    monkeypatch.setattr(measuring, "previous_results", tmp_path / "latest-daily" / "results.json")
    entry = f"{{labels: {{app: loop}}, restarts: {{warn: 1, crit: 2}}, {at(stack)}}}"
    first = check(tmp_path, "container_restarts", entry)
    row = first.measurement.evidence["containers"][0]
    assert row["restart_count"] >= 3 and row["restarts"] == row["restart_count"]  # less than an hour old: / 1 h
    assert first.verdict is Verdict.CRIT
    assert first.summary.startswith(f"loop {row['restarts']:g} restarts per hour of uptime (no previous run")
    # The suite's previous run recorded that count; the next run judges only what came since.
    (tmp_path / "latest-daily").mkdir()
    record = first.to_dict()
    (tmp_path / "latest-daily" / "results.json").write_text(json.dumps({"run": {"started": "2026-12-01T06:00:00Z"}, "checks": [record]}))
    stack.wait_for(lambda: stack.inspect("loop")["RestartCount"] > row["restart_count"], "loop to restart again")
    second = check(tmp_path, "container_restarts", entry)
    now = second.measurement.evidence["containers"][0]
    assert now["restarts"] == now["restart_count"] - row["restart_count"] >= 1
    assert "restarts since the previous run (2026-12-01T06:00:00Z)" in second.summary


def test_stable_stack_has_no_restarts(stack, tmp_path, monkeypatch):
    monkeypatch.setattr(measuring, "previous_results", None)
    result = check(tmp_path, "container_restarts", f"{{compose_project: shop, {at(stack)}}}")
    assert result.verdict is Verdict.OK
    assert result.measurement.value == 0
    assert "(warn 1, crit 5)" in result.summary


# --- cpu and memory ----------------------------------------------------------------------------


def test_cpu_burner_is_judged_on_its_limit(stack, tmp_path):
    result = check(tmp_path, "container_cpu", f"{{labels: {{app: burn}}, cpu: {{warn: 5%, crit: 10%}}, {at(stack)}}}")
    row = result.measurement.evidence["containers"][0]
    assert row["cpu_limit_cores"] == 0.2
    # Saturating its 0.2 core: ~20% in docker stats, ~100% of its limit; the machine is shared, so
    # other jobs take their share (40% of its limit seen at a load of 20 on 2 cores): a wide margin below.
    assert 10 < row["percent"] <= 110, row
    assert row["percent"] == pytest.approx(row["docker_stats_percent"] / 0.2, abs=0.3)  # each rounded to 0.1
    assert result.verdict is Verdict.CRIT
    assert result.summary.startswith(f"burn {row['percent']:g}% CPU of its 0.2-core limit (docker stats ")


def test_idle_container_cpu_ok_without_a_limit(stack, tmp_path):
    result = check(tmp_path, "container_cpu", f"{{names: [mem-free], cpu: {{}}, {at(stack)}}}")
    assert result.verdict is Verdict.OK
    assert result.measurement.value < 5
    assert "CPU (as docker stats: 100% is one core; no CPU limit) (warn 80%, crit 95%)" in result.summary


def test_memory_of_the_limit_and_of_the_host(stack, tmp_path):
    limited = check(tmp_path, "container_memory", f"{{names: [mem-limited], memory: {{warn: 50%, crit: 90%}}, {at(stack)}}}")
    row = limited.measurement.evidence["containers"][0]
    assert row["limit_bytes"] == 64 * 1024 * 1024 and row["limited"]
    assert 40 * 1024 * 1024 <= row["used_bytes"] < 50 * 1024 * 1024, row
    assert limited.verdict is Verdict.WARN
    assert limited.summary.startswith(f"mem-limited {row['percent']:g}% memory (")
    assert "MiB of its limit, 64 MiB) (warn 50%, crit 90%)" in limited.summary
    free = check(tmp_path, "container_memory", f"{{names: [mem-free], memory: {{}}, {at(stack)}}}")
    assert free.verdict is Verdict.OK
    assert "of the host's memory (no memory limit)" in free.summary
    assert free.measurement.evidence["containers"][0]["limit_bytes"] > 64 * 1024 * 1024


def test_stats_of_a_set_without_a_running_container_is_unknown(stack, tmp_path):
    result = check(tmp_path, "container_memory", f"{{labels: {{app: batch}}, memory: {{}}, {at(stack)}}}")
    assert result.verdict is Verdict.UNKNOWN
    assert "no running container of app=batch to take stats of (exits)" in result.summary


# --- image drift -------------------------------------------------------------------------------


def test_image_drift_against_the_local_tag(stack, tmp_path):
    stack.docker("tag", engine_support.IMAGE, "opscheck-busybox:drift")
    stack.run("drifter", "--label", "app=drift")
    entry = f"{{labels: {{app: drift}}, image_drift: true, {at(stack)}}}"
    assert check(tmp_path, "container_image_drift", entry).summary == "app=drift 0 of 1 drifted from the engine's tag"
    # A new image under the tag, the container not recreated: the deploy did not roll out.
    stack.docker("import", "--change", "ENV RELEASE=2", str(stack.dir / "image.tar"), "opscheck-busybox:test")
    result = check(tmp_path, "container_image_drift", entry)
    assert result.verdict is Verdict.WARN
    assert "drifter runs sha256:" in result.summary and ", opscheck-busybox:test is now sha256:" in result.summary


# --- container logs ----------------------------------------------------------------------------


def test_container_log_patterns(stack, tmp_path):
    entry = f'{{container: logger, {at(stack)}, window: 1h, patterns: {{errors: {{regex: ERROR, warn: 1, crit: 5}}, slow: {{regex: "warning", ignore_case: true}}}}}}'
    (errors, slow) = targets(tmp_path, "log_pattern", entry, section="logs")
    assert errors.id == "local:container:logger:errors"
    result = evaluate(probe_once(errors))
    assert result.verdict is Verdict.WARN
    assert result.summary == "container:logger errors 2 in the last 1h (warn 1, crit 5)"
    lines = result.measurement.evidence["last_lines"]
    assert lines[0] == "ERROR disk full" and "Hunter2Secret" not in lines[1] and "***" in lines[1]
    assert evaluate(probe_once(slow)).measurement.value == 1  # stderr is read too


def test_missing_container_log_is_crit(stack, tmp_path):
    result = check(tmp_path, "log_pattern", f"{{container: ghost, {at(stack)}, pattern: ERROR, crit: 0}}", section="logs")
    assert result.verdict is Verdict.CRIT
    assert "container ghost does not exist" in result.summary


def test_the_engine_client_sends_only_reads(stack, tmp_path):
    """Whatever a probe might call, the client it gets refuses anything but GET, before sending."""
    from opscheck.probes.containers.engine import ReadOnly, engine

    (target,) = targets(tmp_path, "container_running", f"{{names: [shop-db], {at(stack)}}}")
    with pytest.raises(ReadOnly, match=r"refused POST .*/containers/shop-db/stop"), engine(target) as client:
        assert client.api.inspect_container("shop-db")["State"]["Running"]
        client.api.stop("shop-db")
    assert stack.inspect("shop-db")["State"]["Running"]


def _traversable_by_others(paths: list[Path]) -> list[tuple[Path, int]]:
    """Add o+x to every ancestor folder of `paths` that lacks it; returns what to restore."""
    opened = []
    for path in paths:
        for folder in path.resolve().parents:
            mode = folder.stat().st_mode & 0o7777
            if not mode & 0o001 and all(folder != done for done, _ in opened):
                folder.chmod(mode | 0o001)
                opened.append((folder, mode))
    return opened
