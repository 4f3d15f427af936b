"""Datastores: pg_isready, psql -c SELECT (only what opscheck's SQL guard lets run), redis-cli,
rabbitmqctl list_queues, `echo stats | nc HOST 11211`."""

from __future__ import annotations

import re

from opscheck.importer.recognise import Ctx, flag_value, levels, positionals
from opscheck.importer.shell import Pipe
from opscheck.inventory import sqlguard

_CONTAINER_NOTE = "PLACEHOLDER: the runbook reaches it inside `{0}` (docker/kubectl exec); give the address the runner can reach"


def _pg_dsn(argv: list[str], container: str | None) -> tuple[str, dict, list[str]]:
    url = next((a for a in positionals(argv, ("-c", "-h", "-p", "-U", "-d", "-f", "--command")) if a.startswith(("postgres://", "postgresql://"))), None)
    host, port = flag_value(argv, "-h", "--host"), flag_value(argv, "-p", "--port")
    user, db = flag_value(argv, "-U", "--username"), flag_value(argv, "-d", "--dbname")
    notes: list[str] = []
    named = next((a for a in positionals(argv, ("-c", "-h", "-p", "-U", "-d", "-f", "--command")) if re.fullmatch(r"\$\{?\w+\}?", a)), None)
    if named and not host:
        env = named.strip("${}")
        return f"env:{env}", {env: "the database URL the runbook keeps in $" + env}, notes
    if url and not re.search(r":[^@/]*@", url.split("//", 1)[1]) and "$" not in url:
        return url, {}, notes
    if host and db and "$" not in host + (db or "") and not container:
        parts = [f"host={host}", f"dbname={db}"] + ([f"port={port}"] if port else []) + ([f"user={user}"] if user else [])
        return " ".join(parts), {}, notes
    if container:
        notes.append(_CONTAINER_NOTE.format(container))
    notes.append("PLACEHOLDER: the runbook does not say which database (host, port, name); set DATABASE_URL")
    return "env:DATABASE_URL", {"DATABASE_URL": "postgresql://USER@HOST:5432/DBNAME (a read-only role)"}, notes


def pg_isready(pipe: Pipe, ctx: Ctx):
    dsn, placeholders, notes = _pg_dsn(pipe.main.argv, pipe.main.container)
    return [ctx.draft("postgres", "postgres", dsn, {"dsn": dsn, "only": ["connect"]}, notes=notes, placeholders=placeholders)]


def psql(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    sql = flag_value(argv, "-c", "--command")
    dsn, placeholders, notes = _pg_dsn(argv, pipe.main.container)
    if not sql:
        return None
    sql = sql.strip().rstrip(";").strip()
    why = sqlguard.problem(sql)
    if why:
        ctx.extra["skip_reason"] = ("changes state", f"SQL refused by opscheck's guard: {why}")
        return None
    expect, limits = _expectation(pipe, ctx, sql)
    label = re.sub(r"\s+", " ", sql)[:60].strip()
    assertion = {"name": label, "sql": sql, "expect": expect}
    if expect == {"rows": "> 0"}:
        notes = notes + ["REVIEW: the runbook only looks at the result; this assertion asks for at least one row"]
    return [ctx.draft("postgres", "postgres.assertion", sql, {"dsn": dsn, "only": ["connect"], "assertions": [assertion]}, limits=limits,
                      notes=notes, placeholders=placeholders)]


def _expectation(pipe: Pipe, ctx: Ctx, sql: str):
    ops = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
    if pipe.tests:
        op, number, _ = pipe.tests[0]
        value = int(number) if number.is_integer() else number
        return f"{ops[op]} {value}", {"value": f"{ops[op]} {value}"}
    prose = ctx.source.text + " " + pipe.comment + " " + ctx.block.before[-300:] + " " + ctx.block.after
    if re.search(r"should (be|return) (empty|no rows|nothing)|must be empty|expect(ed)? (no rows|empty|0 rows)", prose, re.I):
        return {"rows": 0}, {"rows": 0}
    match = re.search(r"(?:should be|must be|expect(?:ed)?|below|under|less than|<)\s*(<|>|<=|>=)?\s*(\d+)", prose, re.I)
    if match and re.search(r"count\(", sql, re.I):
        op = match.group(1) or ("<" if re.search(r"below|under|less", match.group(0), re.I) else "==")
        return f"{op} {match.group(2)}", {"value": f"{op} {match.group(2)}"}
    return {"rows": "> 0"}, {}


def redis_cli(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    words = [w.lower() for w in positionals(argv, ("-h", "-p", "-a", "-n", "-u", "--user", "--pass"))]
    reads = ("ping", "info", "dbsize", "memory", "slowlog", "latency", "client", "config")
    if (not words or words[0] not in reads) and not ("--latency" in argv or "--stat" in argv):
        return None
    if words and words[0] in ("client", "config") and words[1:2] != ["list"] and words[1:2] != ["get"]:
        return None
    host, port = flag_value(argv, "-h"), flag_value(argv, "-p")
    uri = flag_value(argv, "-u")
    notes, placeholders = [], {}
    if "-a" in argv or "--pass" in argv or (uri and re.search(r":[^@/]*@", uri)):
        notes.append("SECRET: the runbook passes a password on the command line; it was not copied (password: env:REDIS_PASSWORD)")
    if uri and not re.search(r":[^@/]*@", uri):
        url = uri
    elif host and "$" not in host and not pipe.main.container:
        url = f"redis://{host}:{port or 6379}"
    else:
        url = "env:REDIS_URL"
        placeholders["REDIS_URL"] = "redis://HOST:6379/0"
        if pipe.main.container:
            notes.append(_CONTAINER_NOTE.format(pipe.main.container))
        notes.append("PLACEHOLDER: set REDIS_URL to the server's redis:// address")
    entry = {"url": url}
    section = (words[1] if len(words) > 1 else "") if words and words[0] == "info" else ""
    kind, limits = "redis", {}
    if section == "memory":
        limits = levels(pipe, ctx, "memory", "%")
        kind = "redis.memory"
        if limits:
            entry["memory"] = limits
    elif section == "stats" or "hit" in (ctx.source.text + pipe.comment).lower():
        limits = {k: v for k, v in levels(pipe, ctx, "hit_ratio", "%").items()}
        if limits:
            entry["hit_ratio"] = limits
            kind = "redis.hit_ratio"
    if "-a" in argv or "--pass" in argv:
        entry["password"] = "env:REDIS_PASSWORD"
        placeholders["REDIS_PASSWORD"] = "the Redis password (the runbook's value was not copied)"
    return [ctx.draft("redis", kind, url, entry, limits=limits, notes=notes, placeholders=placeholders)]


def rabbitmqctl(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    words = positionals(argv, ("-p", "-n", "--vhost", "--node"))
    if not words or words[0] not in ("list_queues", "status", "list_connections", "node_health_check", "cluster_status"):
        return None
    entry = {"url": "env:RABBITMQ_URL"}
    placeholders = {"RABBITMQ_URL": "amqp://USER@HOST:5672/VHOST (password in the URL is masked; or password: env:)"}
    limits = {}
    notes = ["PLACEHOLDER: rabbitmqctl talks to the local node; set RABBITMQ_URL to an AMQP URL the runner can reach"]
    if words[0] == "list_queues":
        limits = levels(pipe, ctx, "queue_depth")
        entry["management_url"] = "http://PLACEHOLDER-rabbitmq-host:15672"
        entry["user"] = "PLACEHOLDER-user"
        entry["password"] = "env:RABBITMQ_PASSWORD"
        placeholders["RABBITMQ_PASSWORD"] = "the management API user's password"
        entry["queues"] = [{"pattern": ".*", **({"depth": limits} if limits else {})}]
        notes.append("PLACEHOLDER: listing every queue needs the management API: its URL, user: and RABBITMQ_PASSWORD")
    return [ctx.draft("rabbitmq", "rabbitmq", "rabbitmq", entry, limits=limits, notes=notes, placeholders=placeholders)]


def memcached(pipe: Pipe, ctx: Ctx):
    """`echo stats | nc HOST 11211` (the echo is the pipeline's input)."""
    argv = pipe.main.argv
    args = positionals(argv, ("-w", "-q", "-i"))
    if len(args) < 2 or not args[1].isdigit() or pipe.input.split()[:1] != ["stats"]:
        return None
    address = f"{args[0]}:{args[1]}"
    entry = {"address": address}
    limits = levels(pipe, ctx, "hit_ratio", "%")
    if limits:
        entry["hit_ratio"] = limits
    return [ctx.draft("memcached", "memcached", address, entry, limits=limits)]


COMMANDS = {"pg_isready": pg_isready, "psql": psql, "redis-cli": redis_cli, "rabbitmqctl": rabbitmqctl}
