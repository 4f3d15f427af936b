"""Certificate facts both TLS probes report: names, dates, days left, expiry problems.

Read with `cryptography`, so an expired or untrusted certificate is still read
and reported with its dates, as `openssl x509 -noout -dates` would.
"""

from __future__ import annotations

import math
import warnings
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from opscheck.measurement import Measurement

DAY = 86400.0


def load_pem(text: str) -> tuple[list[x509.Certificate], list[str]]:
    """Every certificate in PEM `text` (bundles, chains), and why any block could not be read.

    Blocks are read one by one so that one odd certificate in a CA bundle (old roots
    with a negative serial) does not hide the dates of all the others.
    ValueError when there is no certificate at all.
    """
    blocks = [b for b in text.split("-----END CERTIFICATE-----") if "-----BEGIN CERTIFICATE-----" in b]
    certs, errors = [], []
    # Deprecated-but-readable encodings are still certificates the server presents: read them quietly.
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"opscheck\.probes\.x509info")
    for i, block in enumerate(blocks):
        pem = block[block.index("-----BEGIN CERTIFICATE-----"):] + "-----END CERTIFICATE-----\n"
        try:
            certs.append(x509.load_pem_x509_certificate(pem.encode()))
        except ValueError as exc:
            errors.append(f"certificate #{i} cannot be parsed: {exc}")
    if not certs:
        raise ValueError(errors[0] if errors else "no PEM certificate found")
    return certs, errors


def name(cert: x509.Certificate) -> str:
    """`CN=api.example.com`, or the whole subject when it has no CN."""
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={cns[0].value}" if cns else (cert.subject.rfc4514_string() or "(empty subject)")


def role(index: int, count: int, cert: x509.Certificate) -> str:
    """leaf, intermediate or root: from basicConstraints, else from the position in the chain."""
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = index > 0
    if not is_ca:
        return "leaf"
    return "root" if cert.subject == cert.issuer else "intermediate"


def days_left(cert: x509.Certificate, now: datetime) -> float:
    return (cert.not_valid_after_utc - now).total_seconds() / DAY


def whole_days_left(cert: x509.Certificate, now: datetime) -> int:
    """Whole days, rounded down, as ssl-cert-check counts: 6.9 days left is "6", past crit 7."""
    return math.floor(days_left(cert, now))


def sans(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [f"DNS:{v}" for v in ext.get_values_for_type(x509.DNSName)] + [
        f"IP:{v}" for v in ext.get_values_for_type(x509.IPAddress)
    ]


def describe(cert: x509.Certificate, index: int, count: int, now: datetime) -> dict:
    out = {
        "position": index,
        "role": role(index, count, cert),
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": stamp(cert.not_valid_before_utc),
        "not_after": stamp(cert.not_valid_after_utc),
        "days_left": round(days_left(cert, now), 2),
        "serial": format(cert.serial_number, "x"),
        "sha256": cert.fingerprint(hashes.SHA256()).hex(),
    }
    if index == 0:
        out["san"] = sans(cert)
    return out


def stamp(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry_problems(certs: list[x509.Certificate], now: datetime) -> list[str]:
    problems = []
    for i, cert in enumerate(certs):
        who = f"{role(i, len(certs), cert)} {name(cert)}"
        if cert.not_valid_after_utc < now:
            # The days-left rule (whole days, rounded down) read backwards: -3 days left is 3 days ago.
            ago = -whole_days_left(cert, now)
            problems.append(f"{who} expired on {stamp(cert.not_valid_after_utc)} ({ago} day{'s' if ago != 1 else ''} ago)")
        elif cert.not_valid_before_utc > now:
            problems.append(f"{who} is not valid before {stamp(cert.not_valid_before_utc)}")
    return problems


def days_measurement(subject: str, certs: list[x509.Certificate], now: datetime, **fields) -> Measurement:
    """Whole days left on the certificate that expires first, naming it."""
    index = min(range(len(certs)), key=lambda i: certs[i].not_valid_after_utc)
    first = certs[index]
    left = whole_days_left(first, now)
    which = f"{role(index, len(certs), first)} {name(first)}" if len(certs) > 1 else name(first)
    return Measurement(
        value=left, unit="days", subject=subject,
        label=f"left on {which} (until {stamp(first.not_valid_after_utc)})", **fields,
    )
