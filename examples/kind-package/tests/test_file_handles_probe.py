"""The example kind's own test: its probe on this machine, judged with real limits."""

import os

from opscheck_file_handles import probe

from opscheck.judging import evaluate
from opscheck.measurement import HostRef, Target
from opscheck.threshold import Threshold
from opscheck.verdict import Verdict

LOCAL = HostRef("local", "local://")


def test_open_handles_are_counted_and_judged():
    with open("/proc/sys/fs/file-nr") as f:
        allocated, unused, maximum = (int(x) for x in f.read().split())
    m = probe(Target(kind="file_handles", id="local", check="open file handles", host=LOCAL, timeout=5.0))
    assert m.evidence["max"] == maximum
    # Other processes open and close files between the two reads: an error bound, not equality.
    assert abs(m.value - (allocated - unused)) < 5000
    assert os.getpid() and m.value > 0
    crit = evaluate(m, Threshold(warn=0, crit=1))
    assert crit.verdict is Verdict.CRIT and crit.summary.startswith("file handles ")
    assert crit.summary.endswith(" open (warn 0, crit 1)")
    assert evaluate(m, Threshold(warn=10**12, crit=10**13)).verdict is Verdict.OK
