"""Certificate files on hosts: days left on every certificate of a PEM file or bundle.

The runbook's `openssl x509 -noout -dates -in cert.pem`, through testinfra so it
works on remote hosts. With `key:`, the key must belong to the first certificate
(what nginx checks at reload); only its public half is derived on the host with
`openssl pkey -pubout`, so private key material never leaves the host.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timezone

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import denied, run
from opscheck.inventory.sections.tls import TlsItem
from opscheck.measurement import Measurement, Target
from opscheck.probes.tls import x509info

MAX_LISTED = 50  # certificates listed in the evidence (a CA bundle holds ~150)


def probe(target: Target) -> Measurement:
    item: TlsItem = target.spec
    path = item.file or ""
    text = _read(target, path)
    try:
        certs, unparsed = x509info.load_pem(text)
    except ValueError as exc:
        raise TargetDown(f"not a PEM certificate file ({exc})") from None
    now = datetime.now(timezone.utc)
    problems = x509info.expiry_problems(certs, now)
    evidence: dict = {
        "host": target.host.name if target.host else None,
        "file": path,
        "certificates": len(certs),
        "chain": [x509info.describe(c, i, len(certs), now) for i, c in enumerate(certs[:MAX_LISTED])],
    }
    if len(certs) > MAX_LISTED:
        evidence["not_listed"] = len(certs) - MAX_LISTED
    if unparsed:
        evidence["unparsed"] = unparsed
    if item.key:
        matches = _key_matches(target, item.key, certs[0])
        evidence["key"] = {"file": item.key, "matches_first_certificate": matches}
        if not matches:
            problems.append(f"key {item.key} does not belong to {x509info.name(certs[0])}")
    return x509info.days_measurement(path, certs, now, evidence=evidence, problems=tuple(problems))


def _read(target: Target, path: str) -> str:
    result = run(target.host, f"cat -- {shlex.quote(path)}", target.timeout)
    if result.rc != 0:
        reason = result.stderr.strip() or f"cat exited {result.rc}"
        if "No such file" in reason:
            raise TargetDown("the certificate file does not exist")
        if "Permission denied" in reason:
            raise Unmeasurable(denied(path))
        raise Unmeasurable(f"cannot read {path}: {reason}")
    return result.stdout


def _key_matches(target: Target, key: str, cert) -> bool:
    result = run(target.host, f"openssl pkey -pubout -in {shlex.quote(key)}", target.timeout)
    if result.rc == 127:
        raise Unmeasurable("openssl is not installed on the host: cannot compare the key")
    if result.rc != 0:
        first = (result.stderr.strip().splitlines() or [f"openssl exited {result.rc}"])[0]
        if "No such file" in result.stderr:
            raise TargetDown(f"key {key} does not exist")
        if "Permission denied" in result.stderr:
            raise Unmeasurable(denied(key))
        raise Unmeasurable(f"cannot read key {key}: {first}")
    try:
        public = load_pem_public_key(result.stdout.encode())
    except ValueError as exc:
        raise Unmeasurable(f"cannot parse the public half of {key}: {exc}") from None
    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return public.public_bytes(*spki) == cert.public_key().public_bytes(*spki)


