"""Count named regexes over lines a log source returned (the journal), in the scanner's result shape."""

from __future__ import annotations

import re


def count(lines: list[tuple[float, str]], patterns: dict, window_start: float, keep: int) -> dict:
    """{counts, last} like `scan.scan`: lines are (epoch, text); patterns {name: (regex, ignore_case)}."""
    compiled = {name: re.compile(regex, re.IGNORECASE if icase else 0) for name, (regex, icase) in patterns.items()}
    counts = dict.fromkeys(compiled, 0)
    last: dict[str, list[str]] = {name: [] for name in compiled}
    for ts, text in sorted(lines, key=lambda x: -x[0]):   # newest first: `last` keeps the latest lines
        if ts < window_start:
            continue
        for name, rx in compiled.items():
            if rx.search(text):
                counts[name] += 1
                if len(last[name]) < keep:
                    last[name].append(text)
    return {"counts": counts, "last": last}
