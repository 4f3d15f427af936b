"""Log sources that are not files: each gives the lines of the window for an entry, counted here.

A source is `lines(target, window_start) -> Iterable[str]`, named by the entry's key and
imported on first use (a container's log needs the docker SDK). The lines it returns
all fall in the window (the source bounds it, as `docker logs --since` does), so
counting needs no timestamps; the result has the shape of a file scan's, so the
probe reports both the same way.
"""

from __future__ import annotations

import importlib
import re
import time
from collections import deque
from collections.abc import Iterable

# entry key -> "module:function" in this package
SOURCES = {"container": ".container:lines"}


def source_of(item) -> str | None:
    """The entry's non-file source key, or None for a file."""
    return next((key for key in SOURCES if getattr(item, key, None) is not None), None)


def count(lines: Iterable[str], patterns: dict, keep: int) -> dict:
    """Counts per pattern name, the last `keep` matching lines of each (newest first), lines and bytes read.

    One pass in constant memory: a day of a chatty container's log is never held whole.
    """
    compiled = {name: re.compile(regex, re.IGNORECASE if icase else 0) for name, (regex, icase) in patterns.items()}
    counts = dict.fromkeys(compiled, 0)
    last: dict[str, deque] = {name: deque(maxlen=keep) for name in compiled}
    read = size = 0
    for line in lines:
        read += 1
        size += len(line) + 1
        for name, rx in compiled.items():
            if rx.search(line):
                counts[name] += 1
                last[name].append(line)
    return {"counts": counts, "last": {name: list(reversed(kept)) for name, kept in last.items()},
            "lines_read": read, "bytes_read": size}


def read(target, patterns: dict, keep: int) -> dict:
    """The entry's source read over its window and counted, in a file scan's result shape."""
    item = target.spec
    key = source_of(item)
    module, _, function = SOURCES[key].partition(":")
    now = time.time()
    start = now - item.window_s()
    lines = getattr(importlib.import_module(module, package=__package__), function)(target, start)
    counted = count(lines, patterns, keep)
    return {
        **counted, "window_start": start, "now": now, "format": key, "timestamped": counted["lines_read"],
        "files": [{"file": item.source(), "bytes_read": counted["bytes_read"], "reached_start": True}],
    }
