"""Measure concurrently, judge in order (DESIGN.md).

When collection ends, every selected check's probes start on a bounded pool;
each test then only waits for its own measurement during setup and is judged,
reported and ordered exactly as if measured one at a time.

Under pytest-xdist each worker collects every item but runs only those the
controller sends it, so a worker prefetches just its pending queue, topping it
up before each test as more items arrive.
"""

from __future__ import annotations

import pytest

from opscheck.measuring import prefetch
from opscheck.plugin.collection import targets_of


class Prefetcher:
    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self.items: list[pytest.Item] = []
        self.started = 0

    def start(self, items: list[pytest.Item]) -> None:
        self.items = items
        self.started += prefetch((t for item in items for t in targets_of(item)), self.concurrency)

    def top_up(self, config: pytest.Config) -> None:
        """On an xdist worker: start the probes of the items queued for this worker."""
        pending = _worker_queue(config)
        if pending:
            self.started += prefetch(
                (t for i in pending if i < len(self.items) for t in targets_of(self.items[i])), self.concurrency
            )


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _worker_queue(config: pytest.Config) -> list[int]:
    # xdist keeps the indices this worker still has to run in its interactor's `torun`;
    # without it (another xdist version) probes simply start one at a time.
    interactor = config.pluginmanager.get_plugin("workerinteractor")
    queue = getattr(interactor, "torun", None)
    try:
        return list(queue) if queue is not None else []
    except TypeError:
        return []
