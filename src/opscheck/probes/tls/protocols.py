"""Old protocols a TLS endpoint still accepts: the runbook's `openssl s_client -tls1_1` per version.

The certificate probe judges the protocol the server picks, which is its best;
a server that also accepts TLS 1.0 lets an attacker force it down (and PCI DSS
forbids it). So each protocol older than `min_protocol` gets its own handshake
offering only that version. OpenSSL 3 offers TLS 1.0/1.1 only at security level
0 (their ciphers use SHA-1), hence `-cipher DEFAULT:@SECLEVEL=0`: we must be able
to offer what we test for. The handshakes run at once, each bounded by the timeout.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from opscheck.errors import TargetDown, Unmeasurable
from opscheck.host import retry_spawn
from opscheck.inventory.sections.tls import TlsItem
from opscheck.measurement import Measurement, Target
from opscheck.probes.tls.endpoint import command, failure_reason
from opscheck.units import format_duration

# Oldest first; SSLv3 is absent: OpenSSL 3 (Debian 12) is built without it and cannot offer it.
OLD = (("TLSv1.0", "-tls1"), ("TLSv1.1", "-tls1_1"), ("TLSv1.2", "-tls1_2"))
_ORDER = {"TLSv1.2": 2, "TLSv1.3": 3}
_CANNOT_OFFER = re.compile(r"no protocols available|unknown option|Option unknown|no ciphers available", re.I)


def older_than(minimum: str) -> list[tuple[str, str]]:
    return list(OLD[: _ORDER[minimum]])


def attempt_command(item: TlsItem, flag: str) -> list[str]:
    # Verification is beside the point here: an untrusted chain still completes the handshake.
    base = [arg for arg in command(item) if arg != "-showcerts"]
    cut = next((i for i, arg in enumerate(base) if arg in ("-verify_hostname", "-verify_ip", "-CAfile")), len(base))
    return [*base[:cut], flag, "-cipher", "DEFAULT:@SECLEVEL=0"]


def probe(target: Target) -> Measurement:
    item: TlsItem = target.spec
    if shutil.which("openssl") is None:
        raise Unmeasurable("openssl is not installed on the runner (Debian package openssl)")
    tried = older_than(item.min_protocol)
    running = [
        (name, retry_spawn(lambda flag=flag: subprocess.Popen(
            attempt_command(item, flag), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
        for name, flag in tried
    ]
    outcomes: dict[str, str] = {}
    accepted, unknown, unreachable = [], [], []
    for name, proc in running:
        try:
            out, _ = proc.communicate(timeout=target.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            outcomes[name] = f"no answer within {format_duration(target.timeout)}"
            unreachable.append(outcomes[name])
            continue
        session = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.M)
        if session and session.group(1) != "(NONE)":
            outcomes[name] = f"accepted ({session.group(1)}, cipher {session.group(2)})"
            accepted.append(name)
        elif _CANNOT_OFFER.search(out):
            outcomes[name] = f"not tried: the runner's openssl cannot offer it ({failure_reason(out)})"
            unknown.append(name)
        else:
            reason = failure_reason(out)
            outcomes[name] = f"refused ({reason})"
            if reason in ("connection refused", "connection timed out") or reason.startswith("cannot resolve"):
                unreachable.append(reason)

    evidence = {"endpoint": item.endpoint, "min_protocol": item.min_protocol, "attempts": outcomes,
                "command": " ".join(attempt_command(item, tried[-1][1]))}
    if len(unreachable) == len(tried):
        raise TargetDown(f"TLS handshake failed: {unreachable[0]}")
    if unknown and not accepted:
        raise Unmeasurable(f"cannot offer {', '.join(unknown)} from the runner: {outcomes[unknown[0]]}")
    names = ", ".join(name for name, _ in tried)
    return Measurement(
        value=len(accepted), subject=f"{item.endpoint} refuses {names}" if not accepted else item.endpoint,
        evidence=evidence, notes=(f"min_protocol {item.min_protocol}",),
        problems=tuple(f"accepts {name} (older than min_protocol {item.min_protocol})" for name in accepted),
    )
