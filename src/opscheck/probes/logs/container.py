"""A container's log as a log source: `docker logs --since <window start>`, stdout and stderr."""

from __future__ import annotations

from collections.abc import Iterator

from docker.errors import NotFound

from opscheck.errors import TargetDown
from opscheck.probes.containers.engine import engine


def lines(target, start: float) -> Iterator[str]:
    """The container's log lines written since `start` (epoch seconds), oldest first, streamed."""
    name = target.spec.container
    with engine(target) as client:
        try:
            chunks = client.api.logs(name, stdout=True, stderr=True, since=start, timestamps=False, stream=True, follow=False)
        except NotFound:
            raise TargetDown(f"container {name} does not exist on {target.host}'s engine") from None
        rest = b""
        for chunk in chunks:
            *complete, rest = (rest + chunk).split(b"\n")
            for raw in complete:
                if raw.strip():
                    yield raw.decode("utf-8", "replace").rstrip("\r")
        if rest.strip():
            yield rest.decode("utf-8", "replace").rstrip("\r")
