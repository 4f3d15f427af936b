"""Helpers for the runner, notify, nagios and serve tests: a scratch suite and `opscheck run`.

The scratch suite is the real one (the `suite` fixture copies checks/, fixtures/,
conftest.py) plus `checks/test_mix.py`, whose verdicts come from `values.json`:
a number is judged against warn 50%, crit 90%; "unknown" cannot measure;
"hang" never returns; "slow:N" sleeps N seconds, then is OK.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

MIX = '''
import json, pathlib, time
import pytest
from opscheck import Measurement, Threshold, judge

pytestmark = pytest.mark.daily
VALUES = json.loads(pathlib.Path(__file__).with_name("values.json").read_text())


@pytest.mark.parametrize("name", sorted(VALUES))
def test_value(name):
    value = VALUES[name]
    if value == "unknown":
        raise RuntimeError(f"cannot read {name}")
    if value == "hang":
        time.sleep(3600)
    if isinstance(value, str) and value.startswith("slow:"):
        time.sleep(float(value[5:]))
        value = 1
    judge(Measurement(subject=name, value=value, unit="%", threshold=Threshold(50, 90)))
'''

CLI = "import sys; from opscheck.cli import main; sys.exit(main())"


class RunnerSuite:
    def __init__(self, suite):
        self.path = Path(suite.path)
        self.reports = self.path / "reports"
        self.inventory = self.path / "inventory.yml"
        # Only the checks these tests reason about: other areas' checks would add verdicts and time.
        for module in (self.path / "checks").glob("test_*.py"):
            if module.name != "test_system.py":
                module.unlink()
        (self.path / "checks" / "test_mix.py").write_text(MIX)
        self.set_values(a=10)
        self.write_inventory("environment: test\n")

    def set_values(self, **values) -> None:
        (self.path / "checks" / "values.json").write_text(json.dumps(values))

    def write_inventory(self, text: str) -> Path:
        self.inventory.write_text(textwrap.dedent(text))
        return self.inventory

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-c", CLI, "run", f"--inventory={self.inventory}", f"--reports-dir={self.reports}", *args]

    def run(self, *args: str, env: dict | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(*args), cwd=self.path, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args), cwd=self.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def results(self) -> dict:
        return json.loads((self.reports / "latest" / "results.json").read_text())

    def verdicts(self) -> dict[str, str]:
        return {c["id"].split("::", 1)[1]: c["verdict"] for c in self.results()["checks"]}

    def check(self, test_id: str) -> dict:
        return next(c for c in self.results()["checks"] if c["id"].endswith("::" + test_id))

    def state(self, suite: str = "daily") -> dict:
        return json.loads((self.reports / ".state" / f"{suite}.json").read_text())
