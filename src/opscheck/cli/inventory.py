"""`opscheck inventory check|list|schema`: validate an inventory, list what it would check, print its schema."""

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
    check.add_argument(
        "--offline", action="store_true",
        help="without secrets: unset env:NAME and missing file:PATH count as present (pre-commit, CI of the inventory repo)",
    )
    check.set_defaults(handler=check_inventories)
    listing = inner.add_parser("list", help="the check ids, schedules, severities and targets a run would have")
    listing.add_argument("path", metavar="PATH", nargs="?", help="inventory (default inventories/local.yml of the suite dir)")
    listing.add_argument("--suite", metavar="SUITE", help="only what this suite selects (daily, smoke, a marker expression)")
    listing.add_argument("--severity", choices=("critical", "high", "medium", "low"), help="only checks this urgent or more")
    listing.add_argument("--suite-dir", metavar="DIR", default=".", help="the folder with checks/ and conftest.py (default: the current one)")
    listing.add_argument("--json", action="store_true", help="one JSON object per check")
    listing.set_defaults(handler=list_checks)
    schema = inner.add_parser("schema", help="print the inventory's JSON Schema (draft 2020-12) for editors and linters")
    schema.set_defaults(handler=print_schema)
    parser.set_defaults(handler=lambda args: (parser.print_help(sys.stderr), USAGE_ERROR)[1])


def check_inventories(args) -> int:
    from opscheck.registry import load_inventory

    status = 0
    for path in args.paths:
        if args.offline:
            from opscheck.inventory.offline import check_offline

            problems = check_offline(path)
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                status = USAGE_ERROR
            elif not args.quiet:
                print(f"{path}: ok (offline: secrets and hosts not checked)")
            continue
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


def print_schema(args) -> int:
    from opscheck.inventory.schema import dumps, inventory_schema

    sys.stdout.write(dumps(inventory_schema()))
    return 0


def list_checks(args) -> int:
    from pathlib import Path


    suite_dir = Path(args.suite_dir).resolve()
    import os

    given = args.path or os.environ.get("OPSCHECK_INVENTORY")
    path = Path(given).resolve() if given else suite_dir / "inventories" / "local.yml"
    return print_listing(suite_dir, path, args.suite, args.severity, args.json)


def print_listing(suite_dir, path, suite: str | None, severity: str | None, as_json: bool = False) -> int:
    """Shared by `inventory list` and `run --dry-run`: 0 with a table, 3 when nothing or an error."""
    import json

    from opscheck.cli import listing
    from opscheck.registry import load_inventory

    try:
        load_inventory(path)
    except InventoryError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return USAGE_ERROR
    rc, rows, output = listing.collect(suite_dir, path, suite, severity)
    if rc not in (0, 5):
        for line in listing.errors_of(output):
            print(line, file=sys.stderr)
        return USAGE_ERROR
    if not rows:
        print(f"no check selected{f' by -m {suite!r}' if suite else ''} in {suite_dir} with inventory {path}", file=sys.stderr)
        return USAGE_ERROR
    if as_json:
        for row in rows:
            print(json.dumps(row))
    else:
        print("\n".join(listing.table(rows)))
        hosts = len({r["host"] for r in rows if r["host"]})
        print(f"{len(rows)} checks{f' in {suite}' if suite else ''} on {hosts} hosts; nothing was measured")
    return 0
