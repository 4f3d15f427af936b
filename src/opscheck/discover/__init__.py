"""`opscheck discover`: draft an inventory from what runs on live hosts (goss autoadd, for opscheck).

facts.py reads each host through the host layer (local or SSH alike), draft.py turns
facts into entries with comments, trial.py measures the draft once so that what is
left active is OK now, render.py writes commented YAML.
"""

from __future__ import annotations

from opscheck.measurement import HostRef


def discover(hosts: dict[str, list[HostRef]], backups: list[str] = (), timeout: float = 10.0,
             trial: bool = True, schema: str | None = None, environment: str = "discovered") -> str:
    """The drafted inventory for every host of `hosts` (group -> hosts), as YAML text."""
    from opscheck.discover import draft, facts, render
    from opscheck.discover.trial import run_trial

    seen: dict[str, HostRef] = {}
    for group in hosts.values():
        for host in group:
            seen.setdefault(host.name, host)
    gathered = [facts.gather(host, list(backups), timeout) for host in seen.values()]
    drafted = draft.build(gathered, hosts)
    if trial:
        run_trial(drafted)
    text = render.render(drafted, schema or render.SCHEMA_DEFAULT, environment)
    _loads(text)
    return text


def _loads(text: str) -> None:
    """The promise that the draft passes `opscheck inventory check`, kept before printing it."""
    import tempfile
    from pathlib import Path

    from opscheck.registry import load_inventory

    with tempfile.TemporaryDirectory(prefix="opscheck-discover-") as folder:
        path = Path(folder) / "draft.yml"
        path.write_text(text, encoding="utf-8")
        load_inventory(path)  # InventoryError names the line of the draft
