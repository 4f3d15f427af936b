"""The run's deadline never throws away a finished measurement: a hung endpoint checked first is cut
at the deadline, the healthy one after it (measured long before) is still judged, and the run ends
within a second of the deadline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime

import pytest
from http_tls_servers import HttpServer

from opscheck.runner import exitcodes

DEADLINE_S = 10  # from `opscheck run` starting: room for start-up on a busy 2-core machine


@pytest.fixture
def web():
    server = HttpServer()
    yield server
    server.close()


def test_finished_measurements_are_judged_after_the_deadline(suite, web):
    for module in (suite.path / "checks").glob("test_*.py"):
        if module.name != "test_http.py":
            module.unlink()
    suite.write_inventory(f"""\
        http:
          - {{name: a hung api, url: "{web.url}/hang", timeout: 60s}}
          - {{name: b healthy api, url: "{web.url}/health"}}
    """)
    cli = "import sys; from opscheck.cli import main; sys.exit(main())"
    proc = subprocess.run(
        [sys.executable, "-c", cli, "run", "daily", f"--inventory={suite.inventory}", f"--reports-dir={suite.reports}",
         "--deadline", f"{DEADLINE_S}s"],
        cwd=suite.path, capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )
    assert proc.returncode == exitcodes.UNKNOWN, proc.stdout + proc.stderr
    results = json.loads((suite.reports / "latest" / "results.json").read_text())
    checks = {c["id"].split("::", 1)[1]: c for c in results["checks"]}
    hung, healthy = checks["test_http_endpoint[a hung api]"], checks["test_http_endpoint[b healthy api]"]
    assert hung["verdict"] == "UNKNOWN" and hung["summary"] == f"cut: deadline of {DEADLINE_S}s reached while it ran"
    assert web.hits["/health"] >= 1
    assert healthy["verdict"] == "OK", healthy["summary"]
    assert healthy["value"] is not None and healthy["evidence"]["response"]["status"] == 200
    # The bound the deadline promises, from the run's own record: started .. finished.
    run = results["run"]
    took = (datetime.fromisoformat(run["finished"]) - datetime.fromisoformat(run["started"])).total_seconds()
    assert took <= DEADLINE_S + 1, f"the run ended {took - DEADLINE_S:.1f}s after its {DEADLINE_S}s deadline"
