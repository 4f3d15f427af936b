"""One DNS query with dnspython, timed, its answers compared with the expected ones.

dnspython, not getaddrinfo: the runbook's `dig` asks a nameserver directly and
shows NXDOMAIN apart from SERVFAIL; getaddrinfo hides both behind one error and
answers from /etc/hosts and its own caches. A fresh Resolver per query has no cache,
so the latency is the server's.
"""

from __future__ import annotations

import ipaddress
import time

import dns.exception
import dns.rcode
import dns.resolver

from opscheck.errors import Unmeasurable
from opscheck.inventory.sections.dns import DnsItem
from opscheck.measurement import Measurement, Target
from opscheck.units import format_duration


def resolver(item: DnsItem, timeout: float) -> tuple[dns.resolver.Resolver, str]:
    """A resolver asking `server:` or the system's nameservers, bounded by `timeout` in all."""
    if item.server:
        res = dns.resolver.Resolver(configure=False)
        address, port = item.server_address
        res.nameservers, res.port = [address], port
    else:
        try:
            res = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration as exc:
            raise Unmeasurable(f"no system resolver: {exc}") from None
    res.cache = None
    res.lifetime = timeout
    res.timeout = min(timeout, 2.0)  # per try: a lost UDP packet is retried within the lifetime
    where = item.server or "system resolver (" + ", ".join(str(ns) for ns in res.nameservers) + ")"
    return res, where


def probe(target: Target) -> Measurement:
    item: DnsItem = target.spec
    res, where = resolver(item, target.timeout)
    asked = f"{item.query} {item.type}"
    start = time.perf_counter()
    try:
        answer = res.resolve(item.query, item.type, search=False)
    except dns.resolver.NXDOMAIN:
        return _down(asked, where, f"does not exist (NXDOMAIN from {where})")
    except dns.resolver.NoAnswer:
        return _down(asked, where, f"the name exists but has no {item.type} record ({where})")
    except dns.resolver.LifetimeTimeout:
        return _down(asked, where, f"server did not answer: {where}, nothing within {format_duration(target.timeout)}")
    except dns.resolver.NoNameservers as exc:
        return _down(asked, where, f"server did not answer: {where} said {_failures(exc)}")
    except dns.exception.DNSException as exc:
        raise Unmeasurable(f"{asked} via {where}: {exc}") from None
    latency = time.perf_counter() - start

    found = [_text(item.type, rdata) for rdata in answer]
    problems = []
    if item.expect is not None:
        expected = {_normal(item.type, e) for e in item.expect}
        seen = {_normal(item.type, f) for f in found}
        if expected != seen:
            problems.append(f"expected {', '.join(sorted(item.expect))}, found {', '.join(sorted(found))}")
    chain = [rrset[0].target.to_text().rstrip(".") for rrset in answer.chaining_result.cnames]
    evidence = {
        "server": where,
        "query": asked,
        "answers": found,
        "ttl": answer.rrset.ttl if answer.rrset is not None else None,
        "canonical_name": str(answer.canonical_name).rstrip("."),
        "latency_ms": round(latency * 1000, 2),
    }
    if chain:
        evidence["cname_chain"] = chain
    return Measurement(
        value=round(latency, 4), unit="s", subject=f"{asked} -> {', '.join(found)}", label="to answer",
        evidence=evidence, problems=tuple(problems),
    )


def _down(asked: str, where: str, why: str) -> Measurement:
    """The name did not resolve: CRIT, with the query as subject (a named entry's id hides it)."""
    return Measurement(subject=asked, error=why, down=True, evidence={"server": where, "query": asked})


def _text(rtype: str, rdata) -> str:
    if rtype == "MX":
        return f"{rdata.preference} {rdata.exchange.to_text().rstrip('.')}"
    if rtype == "CNAME":
        return rdata.target.to_text().rstrip(".")
    return rdata.to_text()


def _normal(rtype: str, text: str) -> str:
    """Comparable form: compressed IPs, lower-case names, MX exchange without its preference."""
    text = text.strip()
    if rtype in ("A", "AAAA"):
        try:
            return ipaddress.ip_address(text).compressed
        except ValueError:
            return text
    if rtype == "MX":
        text = text.split()[-1]
    return text.rstrip(".").lower()


def _failures(exc: dns.resolver.NoNameservers) -> str:
    """What each server said (SERVFAIL, REFUSED, a refused port), from dnspython's error list."""
    errors = exc.kwargs.get("errors") or []
    said = []
    for error in errors:
        # (server, tcp, port, exception or message, response)
        response = error[4] if len(error) > 4 else None
        if response is not None and hasattr(response, "rcode"):
            said.append(dns.rcode.to_text(response.rcode()))
        else:
            said.append(str(error[3]))
    return "; ".join(dict.fromkeys(said)) or str(exc)
