"""`opscheck inventory check PATH`: validate an inventory and say what it would check."""

from __future__ import annotations

import sys

from opscheck import registry
from opscheck.cli import USAGE_ERROR
from opscheck.errors import InventoryError


def add_parser(sub) -> None:
    parser = sub.add_parser("inventory", help="work with inventory files")
    inner = parser.add_subparsers(dest="action", metavar="ACTION")
    check = inner.add_parser("check", help="validate inventories; exit 3 and one line per problem if bad")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    check.set_defaults(handler=check_inventories)
    parser.set_defaults(handler=lambda args: (parser.print_help(sys.stderr), USAGE_ERROR)[1])


def check_inventories(args) -> int:
    from opscheck.inventory import load_inventory

    status = 0
    for path in args.paths:
        try:
            inventory = load_inventory(path)
        except InventoryError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            status = USAGE_ERROR
            continue
        if not args.quiet:
            counts = {}
            for name in sorted(registry.names()):
                try:
                    targets = registry.get(name).targets(inventory)
                except Exception as exc:  # noqa: BLE001 - report, do not crash the listing
                    print(f"{path}: {name}: cannot list targets: {exc}", file=sys.stderr)
                    status = USAGE_ERROR
                    continue
                if targets:
                    counts[name] = len(targets)
            listing = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no checks"
            print(f"{path}: ok ({inventory.environment}; {len(inventory.all_hosts())} hosts; {listing})")
    return status
