"""Where judged results go: the plugin installs a sink, `judge` calls it.

Kept apart from the plugin so the library never imports pytest machinery and
data flows one way: probe -> judge -> sink -> reports.
"""

from __future__ import annotations

from collections.abc import Callable

from opscheck.result import Result

_sink: Callable[[Result], Result] | None = None


def set_sink(sink: Callable[[Result], Result] | None) -> None:
    global _sink
    _sink = sink


def record(result: Result) -> Result:
    """Hand `result` to the sink; the sink may return it adjusted (effective severity)."""
    return _sink(result) if _sink is not None else result
