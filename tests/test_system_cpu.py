"""CPU busy % per host (`system: cpu:`), from /proc/stat deltas, on this machine.

The machine is shared (other test runs keep its cores busy), so the real-probe
tests assert what holds whatever else runs: with a burner on every core the CPUs
are busy past any sane crit; the shares always add up. The idle state is tested
on two /proc/stat readings of an idle host.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from opscheck import registry
from opscheck.errors import Unmeasurable
from opscheck.inventory import load_inventory
from opscheck.judging import evaluate
from opscheck.measurement import Measurement
from opscheck.measuring import probe_once
from opscheck.probes.system import cpu_busy
from opscheck.threshold import Threshold
from opscheck.verdict import Verdict

# Two readings 10 s apart of a 4-core host doing almost nothing (ticks of 10 ms).
IDLE_BEFORE = "cpu  4705 356 584 3699176 2310 0 97 0 0 0\ncpu0 1393 10 160 924713 586 0 25 0 0 0\n"
IDLE_AFTER = "cpu  4713 356 590 3703150 2316 0 98 0 0 0\ncpu0 1395 10 162 925706 587 0 25 0 0 0\n"


def cpu_target(tmp_path, limits: str):
    path = tmp_path / "inventory.yml"
    path.write_text(f"system:\n  - cpu: {limits}\n")
    (target,) = registry.get("cpu").targets(load_inventory(path))
    return target


def test_idle_readings_are_ok():
    busy, share = cpu_busy(IDLE_BEFORE, IDLE_AFTER)
    # 8 user + 6 system + 1 softirq of 3995 ticks: 0.4 % busy; iowait (6) counts as idle, as in top.
    assert busy == 0.4
    assert share == {"user_percent": 0.2, "nice_percent": 0.0, "system_percent": 0.2, "idle_percent": 99.5,
                     "iowait_percent": 0.2, "irq_percent": 0.0, "softirq_percent": 0.0, "steal_percent": 0.0}
    result = evaluate(Measurement(value=busy, unit="%", subject="cpu", label="busy", threshold=Threshold(80, 95, unit="%")))
    assert (result.verdict, result.summary) == (Verdict.OK, "cpu 0.4% busy (warn 80%, crit 95%)")


def test_unparsable_or_frozen_stat_is_unknown():
    with pytest.raises(Unmeasurable, match="cannot parse the cpu line"):
        cpu_busy("cpu 1 2\n", IDLE_AFTER)
    with pytest.raises(Unmeasurable, match="did not advance"):
        cpu_busy(IDLE_BEFORE, IDLE_BEFORE)


def test_real_reading_shares_add_up(tmp_path):
    target = cpu_target(tmp_path, "{interval: 0.5s, warn: 100%, crit: 100%}")
    m = probe_once(target)
    result = evaluate(m)
    assert result.verdict is Verdict.OK  # busy cannot be past 100 %
    assert 0.0 <= m.value <= 100.0 and m.unit == "%"
    shares = {k: v for k, v in m.evidence.items() if k.endswith("_percent")}
    assert set(shares) >= {"user_percent", "system_percent", "iowait_percent", "steal_percent"}
    assert sum(shares.values()) == pytest.approx(100.0, abs=0.5)
    assert m.value == pytest.approx(100.0 - shares["idle_percent"] - shares["iowait_percent"], abs=0.2)
    assert m.evidence["cores"] == os.cpu_count() and m.evidence["interval_s"] == 0.5
    assert result.summary == f"cpu ({os.cpu_count()} cores, 0.5s) {m.value:g}% busy (warn 100%, crit 100%)"


def test_a_burner_on_every_core_is_crit(tmp_path):
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.3)  # let them start before the sample
        m = probe_once(cpu_target(tmp_path, "{warn: 60%, crit: 80%}"))
        result = evaluate(m)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert result.verdict is Verdict.CRIT, result.summary
    assert m.value > 80.0 and result.summary.endswith("% busy (warn 60%, crit 80%)")
    # The burners spin in user space: user time dominates the sample.
    assert m.evidence["user_percent"] + m.evidence["nice_percent"] > m.evidence["system_percent"]
