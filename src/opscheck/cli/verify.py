"""`opscheck verify PATH`: recompute a run folder's manifest or a reports dir's chain.

Names every altered, missing or extra file and every break in the chain of
manifests; exit 0 only when nothing differs, 1 otherwise, 3 when there is
nothing to verify.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opscheck.cli import USAGE_ERROR

TAMPERED = 1


def add_parser(sub) -> None:
    parser = sub.add_parser("verify", help="check that report folders were not altered since their run")
    parser.add_argument("path", metavar="PATH", nargs="?", default="reports", help="a run folder or a reports dir (default: reports)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    parser.set_defaults(handler=main)


def main(args) -> int:
    from opscheck.reports.verify import verify

    result = verify(Path(args.path))
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if not result.runs:
        return USAGE_ERROR
    if not args.quiet:
        for note in result.notes:
            print(note)
        state = "ok" if result.ok else f"{len(result.problems)} problem(s)"
        print(f"{args.path}: {len(result.runs)} run(s), {result.files} file(s) verified: {state}")
    return 0 if result.ok else TAMPERED
