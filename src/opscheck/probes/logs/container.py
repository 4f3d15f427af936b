"""A container's log as a log source: `docker logs --since <window start>`, stdout and stderr."""

from __future__ import annotations

from docker.errors import NotFound

from opscheck.errors import TargetDown
from opscheck.probes.containers.engine import engine


def lines(target, start: float) -> list[str]:
    """The container's log lines written since `start` (epoch seconds), oldest first."""
    name = target.spec.container
    with engine(target) as client:
        try:
            raw = client.api.logs(name, stdout=True, stderr=True, since=start, timestamps=False, stream=False)
        except NotFound:
            raise TargetDown(f"container {name} does not exist on {target.host}'s engine") from None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]
