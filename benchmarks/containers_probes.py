"""Median probe time of each container kind on a private dockerd (tests/docker_engine.py).

`python -m benchmarks.containers_probes [runs]` (from the project root, tests/ on sys.path):
starts an engine, a 3-container Compose-style stack (one with a health check) and a logger,
runs each kind's probe `runs` times (default 15) and prints the median and range.
CPU and memory wait for the engine's stats collector (it ticks once a second); the rest are
API round trips.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from docker_engine import DockerEngine  # noqa: E402

from opscheck import registry  # noqa: E402
from opscheck.inventory import load_inventory  # noqa: E402
from opscheck.judging import evaluate  # noqa: E402
from opscheck.measuring import probe_once  # noqa: E402


def main(runs: int) -> None:
    engine = DockerEngine()
    try:
        shop = ["--label", "com.docker.compose.project=bench"]
        engine.run("bench-web", *shop, "--label", "com.docker.compose.service=web", "--health-cmd", "true", "--health-interval", "1s")
        engine.run("bench-db", *shop, "--label", "com.docker.compose.service=db", "--memory", "64m")
        engine.run("bench-worker", *shop, "--label", "com.docker.compose.service=worker", "--cpus", "0.2")
        engine.run("bench-log", command="for i in $(seq 1 2000); do echo \"ERROR line $i\"; done; sleep 3600")
        engine.wait_for(lambda: engine.inspect("bench-web")["State"]["Health"]["Status"] == "healthy", "healthy")
        folder = Path(tempfile.mkdtemp(prefix="opscheck-bench-"))
        inventory = folder / "inventory.yml"
        inventory.write_text(f"""containers:
  - {{compose_project: bench, engine: {engine.url}, cpu: {{}}, memory: {{}}, image_drift: true}}
logs:
  - {{container: bench-log, engine: "{engine.url}", pattern: ERROR, window: 1h}}
""")
        loaded = load_inventory(inventory)
        from opscheck.probes.logs import _cache
        print(f"{'kind':<24} {'verdict':<8} {'median':>8} {'min':>8} {'max':>8}  ({runs} runs, 3 containers)")
        for kind in ("container_running", "container_health", "container_restarts", "container_cpu",
                     "container_memory", "container_image_drift", "log_pattern"):
            (target,) = registry.get(kind).targets(loaded)
            times, verdict = [], None
            for _ in range(runs):
                _cache.clear()  # a log entry's patterns share one read for a minute: time the read
                start = time.perf_counter()
                result = evaluate(probe_once(target))
                times.append(time.perf_counter() - start)
                verdict = result.verdict.value
            print(f"{kind:<24} {verdict:<8} {statistics.median(times) * 1000:7.0f}ms {min(times) * 1000:7.0f}ms {max(times) * 1000:7.0f}ms")
    finally:
        engine.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
