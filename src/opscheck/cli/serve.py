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
    p.add_argument("--suite", help="suite whose latest run /healthz and /metrics judge (default: the newest run of any suite)")
    p.add_argument("--max-age", default="26h", metavar="DURATION", help="/healthz is 503 when the latest run is older (default 26h)")
    p.add_argument("--auth-user", metavar="NAME", help="require basic auth with this user name")
    p.add_argument("--auth-password", metavar="env:NAME|file:PATH", help="the basic-auth password, from the environment or a file")
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
    settings = ServeSettings(reports_dir=reports_dir, suite=args.suite, max_age_s=max_age, auth=auth, quiet=args.quiet)
    try:
        server = make_server(settings, args.bind, args.port)
    except OSError as exc:
        print(f"opscheck serve: cannot listen on {args.bind}:{args.port}: {exc}", file=sys.stderr)
        return USAGE_ERROR
    host, port = server.server_address[:2]
    print(f"opscheck serve: http://{host}:{port}/ over {reports_dir}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
