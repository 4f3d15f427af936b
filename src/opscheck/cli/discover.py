"""`opscheck discover [HOST ...]`: print a drafted inventory of live hosts on stdout."""

from __future__ import annotations

import sys

from opscheck.cli import USAGE_ERROR


def add_parser(sub) -> None:
    p = sub.add_parser(
        "discover",
        help="draft an inventory from live hosts (mounts, listeners, units, certificates, services, logs)",
        description="Print commented inventory YAML for the given hosts: `opscheck discover > inventory.yml`.",
    )
    p.add_argument("hosts", nargs="*", metavar="HOST", help="host specs: local:// (default), ssh://user@host, docker://name")
    p.add_argument("--ansible", metavar="FILE", help="take the hosts from this Ansible inventory")
    p.add_argument("--group", metavar="NAME", help="with --ansible: only this group")
    p.add_argument("--backups", metavar="PATH", action="append", default=[], help="a backup folder to draft a backups: entry for (repeatable)")
    p.add_argument("--environment", default="discovered", help="the environment: value (default discovered)")
    p.add_argument("--schema", metavar="URL", help="the $schema of the editor line (default inventory.schema.json)")
    p.add_argument("--timeout", default="10s", metavar="DURATION", help="per command on a host (default 10s)")
    p.add_argument("--no-trial", action="store_true", help="do not measure the draft before printing it")
    p.set_defaults(handler=main)


def main(args) -> int:
    from opscheck.discover import discover
    from opscheck.errors import InventoryError, TargetDown
    from opscheck.inventory.hosts import check_groups, parse_host
    from opscheck.units import parse_seconds

    try:
        timeout = parse_seconds(args.timeout)
        if args.ansible:
            from pathlib import Path

            from opscheck.inventory.ansible import read_groups

            groups = read_groups(Path(args.ansible))
            if args.group:
                if args.group not in groups:
                    raise ValueError(f"{args.ansible}: no group {args.group!r} (groups: {', '.join(groups)})")
                groups = {args.group: groups[args.group]}
        else:
            refs = [parse_host(spec if "://" in spec else f"ssh://{spec}") for spec in args.hosts or ["local://"]]
            groups = {"local": refs} if refs == [parse_host("local://")] else {"discovered": refs}
        check_groups(groups)
    except ValueError as exc:
        print(f"opscheck discover: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        text = discover(groups, args.backups, timeout, trial=not args.no_trial, schema=args.schema, environment=args.environment)
    except TargetDown as exc:
        print(f"opscheck discover: {exc}", file=sys.stderr)
        return 2
    except InventoryError as exc:  # a draft the loader refuses is our bug; say where
        for problem in exc.problems:
            print(f"opscheck discover: draft: {problem}", file=sys.stderr)
        return USAGE_ERROR
    sys.stdout.write(text)
    return 0
