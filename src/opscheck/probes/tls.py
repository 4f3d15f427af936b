"""TLS endpoints: the chain a server presents, its expiry, trust, hostname and protocol.

Python 3.11's ssl cannot hand over the chain of a connection it failed to verify,
yet an expired certificate must be reported with its dates, not as a bare
handshake error. So this runs the runbooks' own tool, `openssl s_client
-showcerts`, which completes the handshake, prints every presented certificate
and the verification result (trust store, `ca_file`, hostname) in one go.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import retry_spawn
from opscheck.inventory.model import Inventory
from opscheck.inventory.sections.tls import TlsItem
from opscheck.measurement import Measurement, Target
from opscheck.probes import x509info
from opscheck.redact import redact
from opscheck.registry import Kind
from opscheck.targets import make_target
from opscheck.units import format_duration

PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# Verify codes that the expiry problems already say in better words (with dates).
_SAID_BY_DATES = {9, 10}  # X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED
_HOSTNAME_MISMATCH = {62, 64}  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
INSECURE_NOTE = "verification off (insecure: true): chain trust and hostname not checked"


def targets(inventory: Inventory) -> list[Target]:
    out = []
    for item in inventory.tls:
        if item.endpoint is None:
            continue
        shown = f"{item.servername}@{item.endpoint}" if item.servername else item.endpoint
        out.append(make_target(inventory, item, kind="tls_endpoint", id=item.name or shown, check="tls certificate", threshold=item.days.threshold()))
    return out


def command(item: TlsItem) -> list[str]:
    host, port = item.host_port
    ip = _is_ip(host)
    sni = item.servername or (None if ip else host)
    cmd = ["openssl", "s_client", "-connect", f"[{host}]:{port}" if ":" in host else f"{host}:{port}", "-showcerts"]
    if sni:
        cmd += ["-servername", sni]
    if item.starttls:
        cmd += ["-starttls", item.starttls]
    if not item.insecure:
        cmd += ["-verify_hostname", sni] if sni else ["-verify_ip", host]
        if item.ca_file:
            cmd += ["-CAfile", item.ca_file]
    return cmd


def probe(target: Target) -> Measurement:
    item: TlsItem = target.spec
    if shutil.which("openssl") is None:
        raise Unmeasurable("openssl is not installed on the runner (Debian package openssl)")
    if item.ca_file and not Path(item.ca_file).is_file():
        raise Unmeasurable(f"ca_file {item.ca_file} does not exist on the runner")
    cmd = command(item)
    try:
        done = retry_spawn(
            lambda: subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=target.timeout)
        )
    except subprocess.TimeoutExpired:
        raise TargetDown(f"no TLS handshake within {format_duration(target.timeout)}") from None
    now = datetime.now(timezone.utc)
    try:
        certs, unparsed = x509info.load_pem(done.stdout)
    except ValueError:
        raise TargetDown(f"TLS handshake failed: {failure_reason(done.stdout + done.stderr)}") from None

    protocol, cipher = _session(done.stdout)
    verify_code, verify_message = _verification(done.stdout)
    problems = x509info.expiry_problems(certs, now)
    if not item.insecure and verify_code not in (0, None) and verify_code not in _SAID_BY_DATES:
        if verify_code in _HOSTNAME_MISMATCH:
            wanted = item.servername or item.host_port[0]
            problems.append(f"hostname {wanted} does not match the certificate ({', '.join(x509info.sans(certs[0])) or 'no SAN'})")
        else:
            problems.append(f"chain not trusted: {verify_message}")
    if verify_code is None and not item.insecure:
        problems.append("openssl printed no verification result")
    if protocol in PROTOCOLS and PROTOCOLS.index(protocol) < PROTOCOLS.index(item.min_protocol):
        problems.append(f"protocol {protocol}, expected at least {item.min_protocol}")

    evidence = {
        "endpoint": item.endpoint,
        "servername": item.servername or (None if _is_ip(item.host_port[0]) else item.host_port[0]),
        "protocol": protocol,
        "cipher": cipher,
        "verification": "off (insecure: true)" if item.insecure else (verify_message or "no result"),
        "trust": f"default trust store + ca_file {item.ca_file}" if item.ca_file else "default trust store",
        "chain": [x509info.describe(c, i, len(certs), now) for i, c in enumerate(certs)],
        "command": " ".join(cmd),
    }
    if unparsed:
        evidence["unparsed"] = unparsed
    return x509info.days_measurement(
        item.endpoint, certs, now, evidence=evidence,
        problems=tuple(redact(p) for p in problems), notes=(INSECURE_NOTE,) if item.insecure else (),
    )


def _session(out: str) -> tuple[str | None, str | None]:
    match = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.M)
    if match and match.group(1) != "(NONE)":
        return match.group(1), match.group(2)
    protocol = re.search(r"^\s*Protocol\s*:\s*(\S+)", out, re.M)
    cipher = re.search(r"^\s*Cipher\s*:\s*(\S+)", out, re.M)
    return (protocol.group(1) if protocol else None), (cipher.group(1) if cipher else None)


def _verification(out: str) -> tuple[int | None, str | None]:
    match = re.search(r"^\s*Verify return code: (\d+) \((.*)\)\s*$", out, re.M)
    return (int(match.group(1)), match.group(2)) if match else (None, None)


def failure_reason(output: str) -> str:
    """The line of s_client's chatter that says why: refused, unknown host, not TLS."""
    if re.search(r"errno=111|Connection refused", output):
        return "connection refused"
    if re.search(r"errno=110|timed out", output, re.I):
        return "connection timed out"
    lookup = re.search(r"(Name or service not known|Temporary failure in name resolution|nodename nor servname)", output)
    if lookup:
        return f"cannot resolve host ({lookup.group(1)})"
    errors = re.findall(r":error:[0-9A-F]+:[^:]*:[^:]*:([^:\n]+)", output)
    if errors:
        return errors[-1].strip()
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith(("CONNECTED", "---"))]
    return lines[-1][:200] if lines else "no certificate presented"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


KINDS = {"tls_endpoint": Kind("tls_endpoint", "tls certificate", targets, probe)}
