"""opscheck: operations runbooks as executable, auditable pytest checks.

A check wires a probe to a threshold in one line: `judge(measure(target))`.
"""

from opscheck.errors import CheckFailed, TargetDown, Unmeasurable
from opscheck.judging import judge
from opscheck.measurement import Measurement, Target
from opscheck.measuring import measure
from opscheck.threshold import Direction, Threshold
from opscheck.verdict import Severity, Verdict

__version__ = "0.1.0"

__all__ = [
    "CheckFailed",
    "Direction",
    "Measurement",
    "Severity",
    "Target",
    "TargetDown",
    "Threshold",
    "Unmeasurable",
    "Verdict",
    "judge",
    "measure",
    "__version__",
]
