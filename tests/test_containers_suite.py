"""The container checks end to end: the shipped checks/test_containers.py run by pytest on an
inventory of a real engine's containers, twice, the second run comparing restarts with the first."""

from __future__ import annotations

import docker_engine as engine_support  # noqa: F401 - imported before pytester's in-process runs
import pytest


@pytest.fixture(scope="module")
def e2e(docker_engine):
    e = docker_engine
    e.run("e2e-web", "--label", "com.docker.compose.project=e2e", "--label", "com.docker.compose.service=web",
          "--health-cmd", "true", "--health-interval", "1s", command='echo "ERROR cache miss storm"; sleep 3600')
    e.run("e2e-exits", command="exit 4")
    e.wait_for(lambda: e.inspect("e2e-web")["State"]["Health"]["Status"] == "healthy", "e2e-web healthy")
    e.wait_for(lambda: e.inspect("e2e-exits")["State"]["Status"] == "exited", "e2e-exits to exit")
    return e


def test_suite_judges_every_container_kind(e2e, suite):
    engine = e2e.url
    suite.write_inventory(f"""
        containers:
          - name: shop
            engine: {engine}
            compose_project: e2e
            cpu: {{warn: 80%, crit: 95%}}
            memory: {{warn: 80%, crit: 95%}}
            image_drift: true
          - name: batch
            engine: {engine}
            names: [e2e-exits]
            health: false
        logs:
          - {{name: app errors, container: e2e-web, engine: "{engine}", pattern: ERROR, window: 24h, warn: 5, crit: 50}}
    """)
    first = suite.run("checks/test_containers.py", "checks/test_logs.py")
    assert first.ret == 1  # the exited container is CRIT
    assert suite.verdicts() == {
        "test_container_running[local:shop]": "OK",
        "test_container_running[local:batch]": "CRIT",
        "test_container_health[local:shop]": "OK",
        "test_container_restarts[local:shop]": "OK",
        "test_container_restarts[local:batch]": "OK",
        "test_container_cpu[local:shop]": "OK",
        "test_container_memory[local:shop]": "OK",
        "test_container_image_drift[local:shop]": "OK",
        "test_log_pattern[local:app errors]": "OK",
    }
    assert suite.check("test_container_running[local:batch]")["summary"] == "e2e-exits 0 of 1 running: e2e-exits exited (exit code 4)"
    assert suite.check("test_log_pattern[local:app errors]")["value"] == 1
    assert "per hour of uptime" in suite.check("test_container_restarts[local:shop]")["summary"]
    # The next run of the suite compares restart counts with this one's results.json.
    suite.run("checks/test_containers.py", "-k", "container_restarts")
    restarts = suite.check("test_container_restarts[local:shop]")
    assert restarts["verdict"] == "OK"
    assert restarts["summary"].startswith("compose e2e 0 restarts since the previous run (20")
