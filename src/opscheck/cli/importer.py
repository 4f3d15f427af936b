"""`opscheck import RUNBOOK.md`: draft an inventory from a Markdown runbook for review."""

from __future__ import annotations

import sys
from pathlib import Path

from opscheck.cli import USAGE_ERROR


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="draft an inventory from a Markdown runbook (review before use)")
    p.add_argument("runbook", metavar="RUNBOOK.md")
    p.add_argument("--out", metavar="PATH", help="write the inventory here (default: standard output)")
    p.add_argument("--environment", metavar="NAME", help="environment: of the draft (default: the runbook's file name)")
    p.add_argument("--pending", choices=("comment", "live"), default="comment",
                   help="entries of kinds this opscheck lacks: in a commented block (default, the file loads) or live")
    p.set_defaults(handler=main)


def main(args) -> int:
    from opscheck.importer import import_runbook, validate, writer

    path = Path(args.runbook)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read runbook: {exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}", file=sys.stderr)
        return USAGE_ERROR
    result = import_runbook(path, text)
    entries = writer.gate(writer.build(result.drafts), live_all=args.pending == "live")
    output = writer.render(result, entries, args.environment or path.stem)
    if args.out:
        Path(args.out).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    pending = sum(1 for e in entries if e.pending)
    print(f"{path}: drafted {len(result.drafts)} checks in {len(entries)} entries ({pending} waiting for kinds this "
          f"opscheck lacks); not imported: {len(result.changes_state())} change state, "
          f"{len(result.not_recognised())} not recognised", file=sys.stderr)
    problems = validate.check_text(output)
    for problem in problems:
        print(f"draft does not load: {problem}", file=sys.stderr)
    return USAGE_ERROR if problems and args.pending == "comment" else 0
