"""`opscheck merge RUN_DIR... --out DIR`: several sealed run folders (shards, sites) as one audit record.

Every part is verified first; the merged folder holds a copy of each, and its manifest
chains to each part's manifest by sha256. `opscheck verify DIR` checks the whole.
Exit 0 when merged, 1 when a part does not verify or the parts do not fit together,
3 on usage errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opscheck.cli import USAGE_ERROR


def add_parser(sub) -> None:
    parser = sub.add_parser("merge", help="merge sealed run folders (shards of a fleet, sites) into one verified record",
                            description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", metavar="RUN_DIR", nargs="+", help="sealed run folders (each with its manifest.json)")
    parser.add_argument("--out", metavar="DIR", required=True, help="the merged run folder to create (must not exist)")
    parser.set_defaults(handler=main)


def main(args) -> int:
    from opscheck.reports.merge import MergeError, merge

    missing = [p for p in args.parts if not Path(p).is_dir()]
    if missing:
        print(f"opscheck merge: {', '.join(missing)}: no such folder", file=sys.stderr)
        return USAGE_ERROR
    out = Path(args.out)
    try:
        digest = merge([Path(p) for p in args.parts], out)
    except MergeError as exc:
        for problem in exc.problems:
            print(f"opscheck merge: {problem}", file=sys.stderr)
        return 1
    print(f"merged {len(args.parts)} run(s) into {out}")
    print(f"manifest sha256 {digest} {out.name}")
    return 0
