"""Weekly host hygiene: pending (security) updates, reboot required, uptime.

Read-only: `apt-get -s` simulates against the package lists the host already
has (its own `apt update` timer keeps them fresh); `dnf check-update` only reads.
"""

from __future__ import annotations

from opscheck.errors import Unmeasurable
from opscheck.host import read_file, run
from opscheck.inventory.model import Inventory
from opscheck.measurement import Measurement, Target
from opscheck.registry import Kind
from opscheck.targets import host_id, make_target
from opscheck.units import format_duration

SHOWN = 30
UPDATES = (
    "if command -v apt-get >/dev/null; then echo MANAGER apt; "
    "LC_ALL=C apt-get -s -o Debug::NoLocking=1 dist-upgrade; "
    "elif command -v dnf >/dev/null; then echo MANAGER dnf; dnf -q -C check-update; echo \"DNF-RC $?\"; echo SECURITY; "
    "dnf -q -C updateinfo list --security; "
    "else echo MANAGER none; fi"
)
REBOOT = (
    "if [ -e /var/run/reboot-required ]; then echo REQUIRED; cat /var/run/reboot-required.pkgs 2>/dev/null; "
    "elif command -v needs-restarting >/dev/null; then needs-restarting -r >/dev/null 2>&1 && echo NOT-REQUIRED || echo REQUIRED; "
    "elif command -v dpkg >/dev/null; then echo NOT-REQUIRED; else echo NO-TOOL; fi"
)


def _targets(kind: str, check: str, key: str):
    def targets(inventory: Inventory) -> list[Target]:
        out = []
        for item in inventory.hygiene:
            setting = getattr(item, key)
            if setting is None:
                continue
            threshold = setting.threshold() if hasattr(setting, "threshold") else None
            for host in inventory.hosts_for(item):
                out.append(make_target(inventory, item, kind=kind, id=host_id(host, item), check=check, host=host, spec=setting, threshold=threshold))
        return out

    return targets


def parse_apt(text: str) -> list[dict]:
    """`apt-get -s dist-upgrade` Inst lines -> {package, from, to, security}."""
    out = []
    for line in text.splitlines():
        if not line.startswith("Inst "):
            continue
        fields = line.split()
        old = fields[2].strip("[]") if len(fields) > 2 and fields[2].startswith("[") else None
        rest = line.split("(", 1)[1] if "(" in line else ""
        out.append({"package": fields[1], "from": old, "to": rest.split()[0] if rest else None,
                    "security": "security" in rest.lower()})
    return out


def parse_dnf(text: str) -> list[dict]:
    """`dnf check-update`, then SECURITY and `dnf updateinfo list --security` lines."""
    updates, secure, section = {}, set(), "updates"
    for line in text.splitlines():
        fields = line.split()
        if line.strip() == "SECURITY":
            section = "security"
        elif section == "updates" and len(fields) == 3 and "." in fields[0] and not line.startswith(" "):
            updates[fields[0]] = {"package": fields[0], "from": None, "to": fields[1], "security": False}
        elif section == "security" and len(fields) >= 3:
            name = fields[-1].rsplit("-", 2)[0]
            secure.add(name)
    for key, entry in updates.items():
        entry["security"] = key.rsplit(".", 1)[0] in secure
    return list(updates.values())


def pending(target: Target) -> tuple[str, list[dict]]:
    result = run(target.host, UPDATES, target.timeout)
    first, _, rest = result.stdout.partition("\n")
    manager = first.removeprefix("MANAGER ").strip()
    if manager == "none":
        raise Unmeasurable("no apt-get or dnf on this host: cannot count pending updates")
    if manager == "apt":
        if result.rc != 0:
            raise Unmeasurable(f"apt-get -s dist-upgrade: {result.stderr.strip()[:300] or f'exit {result.rc}'}")
        return manager, parse_apt(rest)
    # check-update exits 100 when updates are pending, 0 when none, 1 on errors.
    if not any(line in ("DNF-RC 0", "DNF-RC 100") for line in rest.splitlines()):
        raise Unmeasurable(f"dnf check-update failed: {result.stderr.strip()[:300] or 'no answer'}")
    return manager, parse_dnf(rest)


def _updates(target: Target, security: bool) -> Measurement:
    manager, packages = pending(target)
    chosen = [p for p in packages if p["security"]] if security else packages
    label = "with security updates pending" if security else "with updates pending"
    return Measurement(
        value=len(chosen), unit="packages" if len(chosen) != 1 else "package", subject=manager, label=label,
        evidence={"manager": manager, "pending": len(packages), "security": sum(p["security"] for p in packages),
                  "packages": [f"{p['package']} {p['from'] or '?'} -> {p['to'] or '?'}" for p in chosen[:SHOWN]]},
    )


def probe_updates(target: Target) -> Measurement:
    return _updates(target, security=False)


def probe_security_updates(target: Target) -> Measurement:
    return _updates(target, security=True)


def probe_reboot(target: Target) -> Measurement:
    result = run(target.host, REBOOT, target.timeout)
    first, _, rest = result.stdout.partition("\n")
    first = first.strip()
    if first == "NO-TOOL":
        raise Unmeasurable("cannot tell whether a reboot is required (no /var/run/reboot-required, needs-restarting or dpkg)")
    if first != "REQUIRED":
        return Measurement(value=False, subject="no reboot required")
    packages = [p for p in rest.split() if p]
    issue = "reboot required" + (f" by {', '.join(packages[:10])}" if packages else "")
    level = target.spec
    return Measurement(
        value=True, subject=target.host.name, evidence={"packages": packages},
        problems=(issue,) if level == "crit" else (), warnings=(issue,) if level == "warn" else (),
    )


def probe_uptime(target: Target) -> Measurement:
    text = read_file(target.host, "/proc/uptime", target.timeout)
    try:
        seconds = float(text.split()[0])
    except (IndexError, ValueError):
        raise Unmeasurable(f"cannot parse /proc/uptime: {text.strip()!r}") from None
    return Measurement(value=round(seconds), unit="s", subject="up", label="", evidence={"uptime": format_duration(seconds)})


KINDS = {
    kind.name: kind
    for kind in (
        Kind("updates", "pending updates", _targets("updates", "pending updates", "updates"), probe_updates),
        Kind("security_updates", "pending security updates", _targets("security_updates", "pending security updates", "security_updates"), probe_security_updates),
        Kind("reboot_required", "reboot required", _targets("reboot_required", "reboot required", "reboot_required"), probe_reboot),
        Kind("uptime", "uptime", _targets("uptime", "uptime", "uptime"), probe_uptime),
    )
}
