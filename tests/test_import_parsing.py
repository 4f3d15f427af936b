"""The importer's layers on their own: shell parsing, prose thresholds, the state filter, and the
recognisers on a runbook unlike the two examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from opscheck.importer import cron_schedule, import_runbook, prose, shell, state, validate, writer
from opscheck.importer.shell import Stage

RUNBOOKS = Path(__file__).parent / "data" / "runbooks"


def test_variables_substitutions_and_if_tests_reach_the_pipeline_they_came_from():
    block = shell.parse_block(
        'BACKUP_DIR="/opt/backups/app"\n'
        "DATE=$(date +%Y%m%d)\n"
        "USAGE=$(df /srv | tail -1 | awk '{print $5}' | cut -d'%' -f1)\n"
        "if [ $USAGE -gt 90 ]; then\n"
        '    echo "WARNING: disk at $USAGE%" | mail -s disk ops@example.com\n'
        "fi\n"
        "tar -czf $BACKUP_DIR/app_$DATE.tar.gz .env\n"
    )
    df = next(p for p in block.pipes if p.main.argv[0] == "df")
    assert df.main.argv == ["df", "/srv"] and df.assigned_to == "USAGE"
    assert df.tests == [(">", 90.0, 3)] and "WARNING" in df.alert_text
    tar = next(p for p in block.pipes if p.main.argv[0] == "tar")
    assert tar.main.argv == ["tar", "-czf", "/opt/backups/app/app_*.tar.gz", ".env"]


def test_wrappers_are_unwrapped_and_one_bad_line_hides_nothing():
    block = shell.parse_block(
        "docker compose exec -T redis redis-cli ping\n"
        "sudo docker exec -it pg psql -c 'SELECT 1'\n"
        "watch -n 5 'curl -s http://localhost:8000/health | jq .status'\n"
        "kill -USR2 <pid>\n"
        "df -h /\n"
    )
    argvs = [(p.main.container, p.main.argv) for p in block.pipes]
    assert ("redis", ["redis-cli", "ping"]) in argvs and ("pg", ["psql", "-c", "SELECT 1"]) in argvs
    assert (None, ["curl", "-s", "http://localhost:8000/health"]) in argvs and (None, ["df", "-h", "/"]) in argvs
    assert block.unparsed == [3]


def test_epoch_arithmetic_and_bc_comparisons_keep_their_source():
    block = shell.parse_block(
        "EXPIRY=$(openssl x509 -in /etc/ssl/site.pem -noout -enddate | cut -d= -f2)\n"
        'DAYS_LEFT=$(( ($(date -d "$EXPIRY" +%s) - $(date +%s)) / 86400 ))\n'
        "if [ $DAYS_LEFT -lt 14 ]; then echo CRITICAL; fi\n"
        "pnl=$(curl -s http://localhost/p | jq -r .pnl)\n"
        'if (( $(echo "$pnl < -50" | bc -l) )); then echo WARNING; fi\n'
    )
    openssl = next(p for p in block.pipes if p.main.argv[0] == "openssl")
    curl = next(p for p in block.pipes if p.main.argv[0] == "curl")
    assert openssl.tests == [("<", 14.0, 2)] and curl.tests == [("<", -50.0, 4)]


def test_crontab_lines_and_expected_response_json():
    block = shell.parse_block("# Expected response:\n{\n  \"status\": \"ok\"\n}\n*/5 * * * * /opt/check.sh\n")
    assert [(c.schedule, c.command) for c in block.crons] == [("*/5 * * * *", "/opt/check.sh")]
    assert block.unparsed == [] and block.pipes == []
    assert [cron_schedule(e) for e in ("*/5 * * * *", "0 2 * * 0", "0 4 1 * *", "@weekly")] == ["daily", "weekly", "monthly", "weekly"]


def test_thresholds_from_prose_alert_configs_and_kpi_tables():
    found = prose.hints([
        '"condition": "memory_usage > 95%",', '"severity": "high",',
        "Queue depth should stay < 100.", "The hit ratio should be > 80 %.",
        "| Metric | Green | Yellow | Red |", "|---|---|---|---|", "| Disk usage | < 70% | 70-85% | > 85% |",
        "| Cache hit ratio | > 90% | 80-90% | < 80% |",
    ])
    assert prose.limits(found, "memory") == {"crit": 95.0}
    assert prose.limits(found, "queue_depth") == {"warn": 100.0}
    assert prose.limits(found, "disk") == {"warn": 70.0, "crit": 85.0}
    assert prose.limits(found, "hit_ratio", near=4) == {"warn": 80.0, "crit": 80.0}


@pytest.mark.parametrize("argv", [
    ["rm", "-rf", "/tmp/x"], ["docker", "system", "prune", "-f"], ["docker-compose", "restart", "app"],
    ["docker", "compose", "up", "-d"], ["redis-cli", "FLUSHALL"], ["redis-cli", "CONFIG", "SET", "maxmemory", "1gb"],
    ["apt", "upgrade", "-y"], ["systemctl", "restart", "nginx"], ["curl", "-X", "POST", "http://x/stop"],
    ["curl", "-d", "{}", "http://x/start"], ["psql", "-c", "SELECT pg_terminate_backend(42)"],
    ["psql", "-c", "DELETE FROM sessions"], ["./run.sh", "restart"], ["find", "/tmp", "-mtime", "+3", "-delete"],
    ["kubectl", "rollout", "restart", "deploy/api"], ["crontab", "-e"], ["pkill", "node"], ["sysctl", "-p"],
])
def test_state_changing_commands_are_recognised(argv):
    assert state.stage_reason(Stage(argv))


@pytest.mark.parametrize("argv", [
    ["df", "-h"], ["redis-cli", "info", "memory"], ["redis-cli", "CONFIG", "GET", "maxmemory"], ["curl", "-s", "http://x"],
    ["psql", "-c", "SELECT count(*) FROM pg_stat_activity"], ["./run.sh", "status"], ["docker", "compose", "ps"],
    ["docker", "stats", "--no-stream"], ["gzip", "-t", "a.gz"], ["tar", "-tzf", "a.tar.gz"], ["systemctl", "status", "nginx"],
])
def test_read_only_commands_pass_the_state_filter(argv):
    assert state.stage_reason(Stage(argv)) is None


def test_a_runbook_unlike_the_examples():
    result = import_runbook(RUNBOOKS / "generic-platform.md")
    facts = {(d.kind, d.target): d for d in result.drafts}
    assert facts[("rabbitmq", "rabbitmq")].entry["queues"] == [{"pattern": ".*", "depth": {"warn": 100}}]
    assert facts[("memcached", "127.0.0.1:11211")].entry["hit_ratio"] == {"warn": "80%"}
    assert facts[("backups.integrity", "/var/backups/db/db_*.sql.gz")].entry["integrity"] == ["gzip"]
    assert facts[("backups.retention", "/var/backups/db")].limits == {"keep_days": 14}
    assert facts[("backups", "/var/backups/db/app_*.dump")].entry["integrity"] == ["pg_custom"]
    assert facts[("http", "https://shop.example.org/")].entry["latency"] == {"warn": "2s"}   # the script's WARNING test
    assert facts[("services.units", "nginx")] and facts[("tcp", "db.internal:5432")]
    assert facts[("logs", "journal:nginx")].entry["journal"] == {"unit": "nginx", "priority": "err"}
    assert facts[("logs", "container:backend:error")].entry["window"] == "1h"
    assert facts[("env_flags", "DEBUG")].entry["file"] == "/opt/app/.env"
    assert facts[("files.world_writable", "/var/www")].entry["no_world_writable"] is True
    assert {t for k, t in facts if k == "services.listening"} == {"443", "5432"}
    sql = "SELECT count(*) FROM orders WHERE status = 'stuck'"
    assert facts[("postgres.assertion", sql)].entry["assertions"][0]["expect"] == "== 0"   # "must be 0"
    assert facts[("dns", "shop.example.org")].entry == {"query": "shop.example.org", "type": "A"}
    assert {s.source.line for s in result.changes_state()} == {21, 58, 59, 60, 61}
    assert [s.source.line for s in result.not_recognised()] == [52, 53]   # crontab scripts the runbook does not show
    text = writer.render(result, writer.gate(writer.build(result.drafts)), "generic")
    assert validate.check_text(text) == []


def test_issue_17_kinds_are_written_live_in_the_shapes_their_models_take():
    """containers, journal/container logs, dns: live, loaded by the real section models."""
    from opscheck.inventory.model import Inventory

    result = import_runbook(RUNBOOKS / "generic-platform.md")
    entries = writer.gate(writer.build(result.drafts))
    text = writer.render(result, entries, "generic")
    assert validate.check_text(text) == []
    live = yaml.safe_load(text)
    journal, container = live["logs"]
    assert {k: journal[k] for k in ("name", "journal", "window", "crit")} == {
        "name": "nginx journal", "journal": {"unit": "nginx", "priority": "err"}, "window": "1h", "crit": 0}
    assert "# REVIEW: no count limit in the runbook; crit: 0 makes any matching entry CRIT" in text
    assert {k: container[k] for k in ("name", "container", "pattern", "window")} == {
        "name": "backend ERROR", "container": "backend", "pattern": "ERROR", "window": "1h"}
    assert live["dns"][0]["query"] == "shop.example.org"
    # postgres only: landed too: nothing waits, and the drafted allow-list is live.
    assert [e for e in entries if e.pending] == []
    assert "only" in Inventory.model_fields["postgres"].annotation.__args__[0].model_fields
    assert all(p["only"] == ["connect"] for p in live["postgres"])
    for entry in entries:  # every commented entry is one the loader refuses, every live one it takes
        assert (entry.pending is None) == (validate.entry_problem(entry.section, entry.body) is None)


def test_audits_commands_and_cpu_load_as_their_models_judge_them():
    runbook = (
        "# Weekly\n\n```bash\n"
        "cd /srv/web && npm audit --audit-level=high\n"
        "cd /srv/api && pip-audit -r requirements.txt\n"
        "sudo ufw status\n"
        "top -b -n 1 | head -5\n"
        "docker stats --no-stream\n"
        "```\n"
    )
    result = import_runbook("weekly.md", runbook)
    text = writer.render(result, writer.gate(writer.build(result.drafts)), "w")
    assert validate.check_text(text) == [] and "needs opscheck" not in text
    data = yaml.safe_load(text)
    npm, pip = data["audits"]
    # Limits are crossed when exceeded: "any high" is crit: 0.
    assert (npm["tool"], npm["high"], npm["critical"], "moderate" in npm) == ("npm", {"crit": 0}, {"crit": 0}, False)
    assert (pip["tool"], pip["total"], "high" in pip) == ("pip", {"crit": 0}, False)
    ufw = data["commands"][0]
    assert (ufw["command"], ufw["read_only"], ufw["expect"]) == (["ufw", "status"], True, {"stdout": "Status: active"})
    assert "# REVIEW: the runbook runs it with sudo" in text
    assert data["system"][0]["cpu"] == {"warn": "80%", "crit": "95%"}
    assert data["containers"] == [{"compose_project": "PLACEHOLDER-project", "cpu": {"warn": "80%", "crit": "95%"},
                                   "memory": {"warn": "80%", "crit": "95%"}, "schedule": "weekly",
                                   "runbook": "weekly.md § Weekly, line 8"}]


def test_container_selections_and_dns_questions_the_models_take():
    runbook = (
        "# Daily\n\n```bash\n"
        "docker compose -p shop ps\n"
        "docker compose -p shop stats --no-stream api\n"
        "docker inspect --format '{{.State.Health.Status}}' web\n"
        "dig @ns1.example.com shop.example.org\n"
        "dig +short example.org TXT\n"
        "dig @127.0.0.53 example.org AAAA\n"
        "```\n"
    )
    result = import_runbook("daily.md", runbook)
    text = writer.render(result, writer.gate(writer.build(result.drafts)), "d")
    assert validate.check_text(text) == []
    data = yaml.safe_load(text)
    selections = [{k: v for k, v in e.items() if k in ("compose_project", "services", "names")} for e in data["containers"]]
    assert selections == [{"compose_project": "shop"}, {"compose_project": "shop", "services": ["api"]}, {"names": ["web"]}]
    assert [(d["query"], d["type"], d.get("server")) for d in data["dns"]] == [
        ("shop.example.org", "A", None), ("example.org", "AAAA", "127.0.0.53")]   # a server name is not an address
    assert "# REVIEW: the runbook asks the resolver @ns1.example.com; dns: server: takes its IP address" in text
    assert [s.source.line for s in result.not_recognised()] == [8]                # TXT: the dns kind has no such type


def test_gate_comments_a_section_this_opscheck_does_not_have():
    """The commented path, with a section no opscheck has: the file still loads, the entry waits."""
    from opscheck.importer import Result
    from opscheck.importer.model import Draft, Source

    source = Source("made-up.md", "Daily", 4, "frobctl status")
    drafts = [Draft("frobnicators", "frobnicators", "frob", {"name": "frob", "level": 3}, source),
              Draft("dns", "dns", "example.org", {"query": "example.org"}, source)]
    entries = writer.gate(writer.build(drafts))
    assert [(e.section, e.pending) for e in entries] == [("dns", None), ("frobnicators", "the frobnicators kind")]
    text = writer.render(Result("made-up.md", drafts), entries, "m")
    assert "# needs opscheck with the frobnicators kind:\n# frobnicators:\n#   # line 4: frobctl status\n#   - name: frob\n" in text
    assert validate.check_text(text) == [] and "frobnicators" not in yaml.safe_load(text)
    everything = writer.render(Result("made-up.md", drafts), writer.gate(writer.build(drafts), live_all=True), "m")
    assert "frobnicators:\n" in everything and "needs opscheck" not in everything
    assert any("frobnicators" in p for p in validate.check_text(everything))    # --pending live: the loader says why


def test_cli_writes_the_draft_and_says_what_it_left_out(tmp_path, capsys):
    from opscheck.cli import main

    out = tmp_path / "draft.yml"
    assert main(["import", str(RUNBOOKS / "trading-24x7-operations.md"), f"--out={out}"]) == 0
    err = capsys.readouterr().err
    assert "trading-24x7-operations.md: drafted 22 checks" in err and "39 change state, 7 not recognised" in err
    assert validate.check_text(out.read_text()) == []
    assert main(["import", str(tmp_path / "missing.md")]) == 3
    assert capsys.readouterr().err.strip().endswith("missing.md: cannot read runbook: No such file or directory")


def test_console_transcripts_kubectl_wrappers_and_backup_listings():
    result = import_runbook(RUNBOOKS / "console-k8s.md")
    facts = {(d.kind, d.target): d for d in result.drafts}
    redis = facts[("redis.hit_ratio", "env:REDIS_URL")]
    assert redis.entry["hit_ratio"] == {"warn": "90%"}                   # "Target: > 90%" under "Hit rate = …"
    assert "inside `redis` (docker/kubectl exec)" in redis.notes[0]
    assert facts[("backups", "/backups/postgres/*")].entry["max_age"] == {"warn": "1d", "crit": "2d"}
    assert facts[("http", "http://localhost:8080/healthz")]              # `$ curl -s localhost:8080/healthz`
    assert facts[("http", "http://placeholder.invalid/v1/ping")]         # `curl $API/v1/ping`
    assert facts[("services.units", "nginx")]
    assert facts[("postgres.assertion", "SELECT count(*) FROM orders WHERE created_at > now() - interval '1 day'")].entry["dsn"] == "env:DATABASE_URL"
    assert [(s.source.line, s.reason) for s in result.skipped] == [(16, "changes state")]   # pg_restore
    assert not any("{" in s.source.text for s in result.skipped)         # the transcript's output is not a command
