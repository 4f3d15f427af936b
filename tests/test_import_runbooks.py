"""`opscheck import` on the example runbooks: recall, precision, nothing that changes state.

For each runbook the list below is what a person would write from it (kind, target,
thresholds); a draft counts as right when its kind and target match an expected check
and it carries that check's thresholds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from opscheck.importer import import_runbook, state, validate, writer
from opscheck.importer.shell import Stage
from opscheck.inventory import sqlguard

RUNBOOKS = Path(__file__).parent / "data" / "runbooks"
API = "http://localhost:8000/api/v1"

EXPECTED = {
    "trading-24x7-operations.md": [
        ("http", "http://localhost:8000/health", {"status": "healthy"}),                 # Expected response
        ("http", f"{API}/trading/status", {"trading_active": True, "redis_connected": True}),
        ("http", f"{API}/trading/status", {"last_trade": {"newer_than": "4h"}}),       # no trades in 4 hours
        ("http", f"{API}/trading/portfolio", {"daily_pnl": {"ge": -50}}),              # daily loss alert
        ("http", f"{API}/trading/performance", {}),
        ("http", f"{API}/trading/strategies", {}),
        ("http", f"{API}/market/providers", {}),
        ("http", "https://finnhub.io/api/v1/quote?symbol=AAPL", {}),                    # token from env
        ("logs", "container:app:error|exception|failed", {}),
        ("logs", "container:app:slow|timeout|performance", {}),
        ("containers.running", "containers", {}),
        ("containers.stats", "containers", {}),
        ("containers.stats", "operation-app-1", {}),
        ("system.disk", "/", {}),
        ("system.memory", "memory", {}),
        ("redis", "env:REDIS_URL", {}),
        ("redis.memory", "env:REDIS_URL", {}),
        ("backups.retention", "/var/log", {"keep_days": 30}),
        ("backups", "/PLACEHOLDER/backups/trading-backup-*.tar.gz", {"max_age": "7d"}),
        ("backups", "/PLACEHOLDER/backups/backup-*.rdb", {"max_age": "7d"}),
        ("backups", "/backups/trading-*", {}),
        ("dns", "finnhub.io", {}),                                                      # ping -c 4: reachability
        ("dns", "api.twelvedata.com", {}),
    ],
    "neurosense-fx-operations.md": [
        ("commands", "./run.sh status", {}),
        ("commands", "./run.sh env-status", {}),
        ("commands", "ufw status", {}),
        ("system.memory", "memory", {"crit": "95%"}),                  # MEMORY_USAGE -gt 95, memory_usage > 95%
        ("system.cpu", "cpu", {"crit": "90%"}),                        # cpu_usage > 90%
        ("system.disk", "/", {}),
        ("system.disk", "/opt/neurosensefx", {"crit": "90%"}),         # DISK_USAGE -gt 90
        ("tls", "/etc/letsencrypt/live/your-domain.com/cert.pem", {"warn": 30}),   # DAYS_LEFT -lt 30
        ("tls", "your-domain.com:443", {"warn": 30}),                  # ssl_days_left < 30
        ("http", "http://localhost:8081/health", {}),
        ("http", "http://localhost:4173", {}),
        ("http", "ws://localhost:8081/ws", {}),
        *[("services.listening", str(p), {}) for p in (80, 443, 4173, 8081)],
        ("services.processes", "node.*server.js", {}),
        ("services.processes", "(nc|ncat|wget|curl)", {"max": 0}),     # "Suspicious processes"
        ("backups", "/opt/backups/neurosensefx/*", {"max_age": "1d"}),  # crontab 0 2 * * * daily-backup.sh
        ("backups.retention", "/opt/backups/neurosensefx", {"keep_days": 30}),
        ("backups.extract", "/opt/backups/neurosensefx/config_latest.tar.gz", {}),  # quarterly restore test
        ("hygiene.updates", "updates", {}),
        ("logs", "/var/log/auth.log:ssh_failed", {}),
        ("logs", "/PLACEHOLDER/app/backend.log:error|critical|fatal|exception|failed", {}),
        ("files", "/PLACEHOLDER/app/.env", {"max_mode": "0600"}),
        ("files", "/etc/ssl/private", {"not_world_readable": True}),
        ("files", "/PLACEHOLDER/app/run.sh", {}),
        ("audits", "/PLACEHOLDER/app", {"high": 0, "critical": 0}),                # --audit-level=high: any
        ("audits", "/PLACEHOLDER/app/services/tick-backend", {"high": 0, "critical": 0}),
        ("audits", "/PLACEHOLDER/app/libs/cTrader-Layer", {"moderate": 0, "high": 0}),  # --audit-level=moderate
        ("dns", "live.ctraderapi.com", {}),                              # ping -c 10: the broker API resolves
    ],
}

# Lines that act on the system; none may become a check that runs them.
_ACTS = re.compile(r"\b(rm|mv|cp|mkdir|restart|prune|FLUSHALL|FLUSHDB|BGSAVE|upgrade|update|pkill|kill|sysctl|ulimit|"
                   r"certbot|POST|mail|drop_caches|gzip|up -d|down|build|tar -xzf)\b")


def _matches(draft, expected) -> bool:
    kind, target, limits = expected
    return draft.kind == kind and draft.target == target and all(draft.limits.get(k) == v for k, v in limits.items())


def score(name: str):
    result = import_runbook(RUNBOOKS / name)
    expected = EXPECTED[name]
    found = [e for e in expected if any(_matches(d, e) for d in result.drafts)]
    right = [d for d in result.drafts if any(_matches(d, e) for e in expected)]
    return result, len(found) / len(expected), len(right) / len(result.drafts), found


def wrongly_imported(result) -> list[str]:
    """Drafts that would run something that changes state when the suite runs."""
    bad = []
    for draft in result.drafts:
        entry = draft.entry
        if draft.section == "commands":
            argv = entry.get("command") or entry.get("shell", "").split()
            if state.stage_reason(Stage(list(argv))):
                bad.append(draft.source.text)
        if draft.section == "http" and entry.get("method", "GET") not in ("GET", "HEAD"):
            bad.append(draft.source.text)
        for assertion in entry.get("assertions", []):
            if sqlguard.problem(assertion["sql"]):
                bad.append(draft.source.text)
        if draft.section not in ("backups",):  # a backups entry watches what the script writes; it runs nothing
            for source in (draft.source, *draft.also):
                if _ACTS.search(source.text.split("#")[0]) and draft.section != "backups":
                    bad.append(source.text)
    return bad


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recall_precision_and_nothing_that_changes_state(name):
    result, recall, precision, found = score(name)
    missed = [e for e in EXPECTED[name] if e not in found]
    wrong = [(d.kind, d.target, d.limits) for d in result.drafts if not any(_matches(d, e) for e in EXPECTED[name])]
    print(f"{name}: recall {recall:.0%} ({len(found)}/{len(EXPECTED[name])}), precision {precision:.0%}; missed {missed}; wrong {wrong}")
    assert recall >= 0.80, missed
    assert precision >= 0.90, wrong
    assert wrongly_imported(result) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_state_changing_lines_are_listed_with_their_lines(name):
    result = import_runbook(RUNBOOKS / name)
    listed = {s.source.line: s.source.text for s in result.changes_state()}
    lines = (RUNBOOKS / name).read_text().splitlines()
    for must in ("prune", "FLUSHALL", "apt upgrade", "restart", "-X POST", "rm -rf", "FLUSHDB", "pkill"):
        hits = [i + 1 for i, line in enumerate(lines) if must in line and not line.lstrip().startswith(("#", "-", "1", "2", "3"))]
        for number in hits:
            in_fence = any(b.first_line <= number < b.first_line + len(b.text.splitlines()) for b in _blocks(name))
            if in_fence and not lines[number - 1].lstrip().startswith("#"):
                assert number in listed, f"{name}:{number} {lines[number - 1].strip()} not listed as changing state"


def _blocks(name):
    from opscheck.importer import markdown

    return markdown.parse(name, (RUNBOOKS / name).read_text()).blocks


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_output_loads_quotes_its_lines_and_names_the_source(name, tmp_path):
    result = import_runbook(RUNBOOKS / name)
    entries = writer.gate(writer.build(result.drafts))
    text = writer.render(result, entries, "draft")
    assert validate.check_text(text) == []
    data = yaml.safe_load(text)
    lines = (RUNBOOKS / name).read_text().splitlines()
    for _section, items in data.items():
        if not isinstance(items, list):
            continue
        for item in items:
            match = re.search(r", line (\d+)$", item["runbook"])
            assert item["runbook"].startswith(name) and match, item
            quoted = f"# line {match.group(1)}: {lines[int(match.group(1)) - 1].strip()}"
            assert quoted in text, quoted
    assert "# not imported: changes state" in text and "# not imported: not recognised" in text


def test_the_trading_runbook_in_detail():
    result = import_runbook(RUNBOOKS / "trading-24x7-operations.md")
    text = writer.render(result, writer.gate(writer.build(result.drafts)), "trading")
    data = yaml.safe_load(text)
    health = next(e for e in data["http"] if e["url"] == "http://localhost:8000/health")
    assert health["expect"] == {"json": {"status": "healthy"}}       # timestamp and version vary: not expected
    finnhub = next(e for e in data["http"] if "finnhub" in e["url"])
    assert finnhub["headers"] == {"Authorization": "env:FINNHUB_API_KEY"} and "token=" not in finnhub["url"]
    weekly = next(e for e in data["backups"] if e["pattern"] == "trading-backup-*.tar.gz")
    assert weekly["required_members"] == [".env", "docker-compose.yml", "keys/"] and weekly["schedule"] == "weekly"
    assert weekly["max_age"] == {"warn": "7d", "crit": "14d"}
    assert "needs opscheck" not in text          # every kind it drafts exists now: all live
    project, named = data["containers"]        # docker stats + docker-compose ps: one selection, no shared id
    assert project == {"compose_project": "PLACEHOLDER-project", "cpu": {"warn": "80%", "crit": "95%"},
                       "memory": {"warn": "80%", "crit": "95%"}, "health": True, "runbook": project["runbook"]}
    assert named["names"] == ["operation-app-1"] and "name" not in named
    assert [(e["name"], e["container"]) for e in data["logs"]] == [
        ("app error|exception|failed", "app"), ("app slow|timeout|performance", "app")]
    assert "docker system prune -f  (docker system changes state)" in text
    assert "line 512: docker-compose exec redis redis-cli FLUSHALL" in text


def test_inline_secrets_never_reach_the_output():
    runbook = (
        "# Checks\n\n```bash\n"
        'curl -H "Authorization: Bearer sk_live_abcdef123456" https://api.example.com/health\n'
        "curl https://ops:hunter2-very-secret@status.example.com/ping?api_key=zz9-plural-z-alpha\n"
        "redis-cli -h cache.internal -a s3cr3t-passw0rd ping\n"
        "```\n"
    )
    result = import_runbook("secrets.md", runbook)
    text = writer.render(result, writer.gate(writer.build(result.drafts)), "s")
    for secret in ("sk_live_abcdef123456", "hunter2-very-secret", "zz9-plural-z-alpha", "s3cr3t-passw0rd"):
        assert secret not in text
    data = yaml.safe_load(text)
    assert data["http"][0]["headers"] == {"Authorization": "env:AUTHORIZATION"}
    assert data["http"][1]["url"] == "https://status.example.com/ping"
    assert data["redis"][0] == {"url": "redis://cache.internal:6379", "password": "env:REDIS_PASSWORD",
                                "runbook": "secrets.md § Checks, line 6"}
    assert "# SECRET: Authorization comes from env:AUTHORIZATION" in text
    assert validate.check_text(text) == []
