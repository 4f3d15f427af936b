"""The `opscheck` command: one module per subcommand, each with `add_parser` and `main`.

Exit codes follow DESIGN.md: 0 OK/WARN, 1 CRIT, 2 UNKNOWN, 3 usage or inventory error,
75 another run holds the lock.
"""

from __future__ import annotations

import argparse
import importlib
import sys

USAGE_ERROR = 3

# subcommand -> module; each module has add_parser(subparsers) and main(args) -> int.
SUBCOMMANDS = {
    "inventory": "opscheck.cli.inventory",
    "discover": "opscheck.cli.discover",
    "run": "opscheck.cli.run",
    "verify": "opscheck.cli.verify",
    "merge": "opscheck.cli.merge",
    "report": "opscheck.cli.report",
    "serve": "opscheck.cli.serve",
    "status": "opscheck.cli.status",
    "import": "opscheck.cli.importer",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse exits 2, which we reserve for UNKNOWN
        self.print_usage(sys.stderr)
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from opscheck import __version__

    parser = _Parser(prog="opscheck", description="Operations runbooks as executable, auditable checks.")
    parser.add_argument("--version", action="version", version=f"opscheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in SUBCOMMANDS.values():
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(sys.stderr)
        return USAGE_ERROR
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print("opscheck: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
