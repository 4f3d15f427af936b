"""`opscheck serve`: /healthz, /metrics and /reports/ over the reports dir, for probes and people.

Binds 127.0.0.1 unless told otherwise: put a TLS proxy in front to publish it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from opscheck.cli import USAGE_ERROR


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve /healthz, /metrics and the reports read-only over HTTP", description=__doc__.split("\n\n")[0])
    p.add_argument("--reports-dir", metavar="DIR", help="the reports dir (env OPSCHECK_REPORTS_DIR; default reports)")
    p.add_argument("--bind", default="127.0.0.1", metavar="ADDR", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port, printed at start)")
    p.add_argument("--suite", help="suite whose latest run /healthz and /metrics judge (default: every suite's latest run)")
    p.add_argument("--max-age", default="26h", metavar="DURATION", help="/healthz is 503 when the latest run is older (default 26h)")
    p.add_argument("--auth-user", metavar="NAME", help="require basic auth with this user name")
    p.add_argument("--auth-password", metavar="env:NAME|file:PATH", help="the basic-auth password, from the environment or a file")
    p.add_argument("--read-timeout", default="10s", metavar="DURATION", help="drop a connection that sends nothing for this long (default 10s)")
    p.add_argument("--max-connections", type=int, default=256, metavar="N", help="connections served at once; more get 503 at once (default 256)")
    p.add_argument("--quiet", action="store_true", help="do not log requests")
    p.set_defaults(handler=main)


def main(args) -> int:
    from opscheck.inventory.types import resolve_secret
    from opscheck.serve.server import ServeSettings, make_server
    from opscheck.units import parse_duration

    try:
        max_age = parse_duration(args.max_age)
    except ValueError as exc:
        print(f"opscheck serve: --max-age {args.max_age}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        read_timeout = parse_duration(args.read_timeout)
        if not 0 < read_timeout < 86400:
            raise ValueError("expected a positive duration under a day")
    except ValueError as exc:
        print(f"opscheck serve: --read-timeout {args.read_timeout}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if not 1 <= args.max_connections <= 10000:
        print(f"opscheck serve: --max-connections {args.max_connections}: expected 1 to 10000", file=sys.stderr)
        return USAGE_ERROR
    auth = None
    if args.auth_user or args.auth_password:
        if not (args.auth_user and args.auth_password):
            print("opscheck serve: --auth-user and --auth-password go together", file=sys.stderr)
            return USAGE_ERROR
        try:
            auth = (args.auth_user, resolve_secret(args.auth_password).reveal())
        except ValueError as exc:
            print(f"opscheck serve: --auth-password: {exc}", file=sys.stderr)
            return USAGE_ERROR
    reports_dir = Path(args.reports_dir or os.environ.get("OPSCHECK_REPORTS_DIR") or "reports").resolve()
    settings = ServeSettings(
        reports_dir=reports_dir, suite=args.suite, max_age_s=max_age, auth=auth, quiet=args.quiet,
        read_timeout_s=read_timeout, max_connections=args.max_connections,
    )
    try:
        server = make_server(settings, args.bind, args.port)
    except OSError as exc:
        print(f"opscheck serve: cannot listen on {args.bind}:{args.port}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    print(f"opscheck serve: http://{shown}:{port}/ over {reports_dir}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
