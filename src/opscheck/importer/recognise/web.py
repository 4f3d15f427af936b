"""curl (HTTP, JSON, latency, WebSocket), openssl (certificate files and endpoints), nc -z (TCP)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from opscheck.importer.recognise import Ctx, flag_value, levels, name, positionals
from opscheck.importer.shell import Pipe

_SECRET_QUERY = re.compile(r"(token|key|secret|password|passwd|apikey|api_key|access_token|sig|signature)", re.I)
_VAR = re.compile(r"^\$\{?(\w+)\}?$")
_CURL_VALUE = ("-H", "--header", "-X", "--request", "-d", "--data", "-o", "--output", "-w", "--write-out", "-u",
               "--user", "-m", "--max-time", "--connect-timeout", "-A", "--user-agent", "-e", "--cacert", "-b", "-c",
               "--retry", "-F", "--resolve")
_VOLATILE = re.compile(r"\d{4}-\d\d-\d\d|\d+\.\d+\.\d+|^\d+[dhms]\b|\d+[dhm] \d+", re.I)


def env_name(text: str, fallback: str) -> str:
    match = _VAR.match(text.strip())
    return match.group(1) if match else fallback


def curl(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    notes, placeholders = [], {}
    args = positionals(argv, _CURL_VALUE)
    urls = [a for a in args if re.match(r"^(https?|wss?)://", a)]
    for arg in args if not urls else ():
        if re.match(r"^(localhost|127\.0\.0\.1|[\w-]+(\.[\w-]+)+)(:\d+)?(/|$)", arg):
            urls = [f"http://{arg}"]  # curl's default scheme
        elif re.match(r"^\$\{?\w+\}?(/|$)", arg):
            urls = ["http://placeholder.invalid" + re.sub(r"^\$\{?\w+\}?", "", arg)]
            notes.append(f"PLACEHOLDER: the URL starts with {arg.split('/')[0]}; put the service's base URL")
        if urls:
            break
    if not urls:
        return None
    url = urls[0]
    entry: dict = {}
    parts = urlsplit(url)
    if parts.password or parts.username:
        notes.append("PLACEHOLDER: the URL carried credentials; they were removed (send them in a header from env:)")
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(_SECRET_QUERY.search(k) for k, _ in query):
        kept = [(k, v) for k, v in query if not _SECRET_QUERY.search(k)]
        dropped = [k for k, _ in query if _SECRET_QUERY.search(k)]
        notes.append(f"PLACEHOLDER: secret query parameter(s) {', '.join(dropped)} removed; pass the secret in a header from env:")
        parts = parts._replace(query=urlencode(kept))
    if "$" in parts.netloc:
        notes.append("PLACEHOLDER: the host came from a shell variable")
        parts = parts._replace(netloc=re.sub(r"\$\{?\w+\}?", "placeholder.invalid", parts.netloc))
    url = urlunsplit(parts)
    headers = {}
    for i, arg in enumerate(argv):
        if arg in ("-H", "--header") and i + 1 < len(argv):
            key, _, value = argv[i + 1].partition(":")
            value = value.strip()
            if key.lower() in ("authorization", "x-api-key", "api-key", "x-auth-token", "cookie", "proxy-authorization"):
                scheme = value.split()[0] + " " if " " in value else ""
                env = env_name(value.split()[-1] if value else "", re.sub(r"\W", "_", key).upper())
                headers[key] = f"env:{env}"
                placeholders[env] = f"the whole {key} header value{', ' + repr(scheme + '<token>') if scheme else ''} (the runbook's value was not copied)"
                notes.append(f"SECRET: {key} comes from env:{env}; the runbook's value was not copied")
                if scheme:
                    notes.append(f"REVIEW: set {env} to the whole header value, '{scheme.strip()} <token>'")
            elif key.lower() in ("upgrade",) and value.lower() == "websocket":
                parts = urlsplit(url)
                url = urlunsplit(parts._replace(scheme="wss" if parts.scheme == "https" else "ws"))
            elif key.lower() not in ("connection", "sec-websocket-key", "sec-websocket-version", "accept", "content-type"):
                headers[key] = value
    if "-u" in argv or "--user" in argv:
        headers["Authorization"] = "env:HTTP_BASIC_AUTH"
        placeholders["HTTP_BASIC_AUTH"] = "'Basic <base64 user:password>' (the runbook's -u value was not copied)"
        notes.append("SECRET: -u credentials come from env:HTTP_BASIC_AUTH; the runbook's value was not copied")
    entry["url"] = url
    if "-I" in argv or "--head" in argv:
        entry["method"] = "HEAD"
    if headers:
        entry["headers"] = headers
    if "-k" in argv or "--insecure" in argv:
        entry["insecure"] = True
    if "-L" in argv or "--location" in argv:
        entry["follow_redirects"] = True
    cacert = flag_value(argv, "--cacert")
    if cacert:
        entry["ca_file"] = cacert
    rules = _json_rules(pipe, ctx)
    if rules:
        entry["expect"] = {"json": rules}
    limits = {}
    write_out = flag_value(argv, "-w", "--write-out") or ""
    if "time_total" in write_out or "time_starttransfer" in write_out:
        limits = levels(pipe, ctx, "latency", "s")
        entry["latency"] = limits or {"warn": "1s", "crit": "5s"}
        if not limits:
            notes.append("REVIEW: the runbook times the request but names no limit; 1s/5s are opscheck's suggestion")
    draft = ctx.draft("http", "http", url, entry, limits=limits or (rules or {}), notes=notes, placeholders=placeholders)
    return [draft]


def _json_rules(pipe: Pipe, ctx: Ctx) -> dict:
    """jq .field compared in the script, and the stable fields of an "Expected response" block."""
    rules: dict = {}
    fields = []
    for argv in pipe.filters:
        if name(argv) == "jq":
            expr = next((a for a in argv[1:] if not a.startswith("-")), ".")
            fields = re.findall(r"^\s*\.([A-Za-z_][\w]*)\s*$", expr)
    if fields and pipe.tests:
        ops = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}
        op, number, _ = pipe.tests[0]
        # The test says when to alert; the rule says what healthy is: the opposite.
        healthy = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt", "eq": "ne", "ne": "eq"}[ops[op]]
        value = int(number) if number.is_integer() else number
        if getattr(pipe, "epoch", False):  # $(date -d "$field" +%s) compared in seconds: how old it may be
            if op in (">", ">="):
                rules[fields[0]] = {"newer_than": _duration(number)}
        else:
            rules[fields[0]] = {healthy: value}
    expected = pipe.expected_json if pipe.expected_json is not None else ctx.expected_json
    if isinstance(expected, dict):
        for key, value in expected.items():
            if isinstance(value, bool) or isinstance(value, str) and value and not _VOLATILE.search(value) and len(value) <= 40:
                rules.setdefault(key, value)
    return rules


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def openssl(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    if len(argv) < 2:
        return None
    if argv[1] == "x509":
        path = flag_value(argv, "-in")
        if not path or not ("-dates" in argv or "-enddate" in argv or "-checkend" in argv or "-noout" in argv):
            return None
        limits = levels(pipe, ctx, "tls_days")
        checkend = flag_value(argv, "-checkend")
        if checkend and checkend.isdigit():
            limits.setdefault("crit", int(checkend) // 86400)
        entry = {"file": path}
        if limits:
            entry["days"] = limits
        return [ctx.draft("tls", "tls", path, entry, limits=limits, notes=_tls_notes(path, limits))]
    if argv[1] == "s_client":
        endpoint = flag_value(argv, "-connect")
        if not endpoint or ":" not in endpoint:
            return None
        entry = {"endpoint": endpoint}
        servername = flag_value(argv, "-servername")
        if servername:
            entry["servername"] = servername
        starttls = flag_value(argv, "-starttls")
        if starttls:
            entry["starttls"] = starttls
        limits = levels(pipe, ctx, "tls_days")
        if limits:
            entry["days"] = limits
        return [ctx.draft("tls", "tls", endpoint, entry, limits=limits, notes=_tls_notes(endpoint, limits))]
    return None


def _tls_notes(target: str, limits: dict) -> list[str]:
    notes = []
    if re.search(r"your-domain|example\.(com|org)|yourdomain|<", target):
        notes.append("PLACEHOLDER: the runbook's example domain; put the real name here")
    if not limits:
        notes.append("REVIEW: no days-left limit in the runbook; opscheck's defaults (warn 30, crit 7) apply")
    return notes


def nc(pipe: Pipe, ctx: Ctx):
    argv = pipe.main.argv
    args = positionals(argv, ("-w", "-W", "-i", "-p", "-s"))
    if len(args) < 2 or not args[1].isdigit():
        return None
    host, port = args[0], int(args[1])
    if port == 11211 and any(s.argv[0] == "echo" for s in pipe.stages[:0]):
        return None
    if not any(flag in argv for flag in ("-z", "-zv", "-vz", "-zw1")) and not any(a.startswith("-") and "z" in a for a in argv[1:]):
        return None
    endpoint = f"{host}:{port}"
    return [ctx.draft("tcp", "tcp", endpoint, {"endpoint": endpoint})]


COMMANDS = {"curl": curl, "openssl": openssl, "nc": nc, "ncat": nc, "netcat": nc}
