"""The backups: and logs: sections refuse mistakes at load time, one line per problem with its key."""

from __future__ import annotations

import textwrap

import pytest

from opscheck.errors import InventoryError
from opscheck.inventory.loader import load_inventory


def problems(tmp_path, text: str) -> str:
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    return str(info.value)


def test_backup_mistakes_name_their_keys(tmp_path):
    text = problems(tmp_path, """
        backups:
          - {path: var/backups, pattern: "db/*.gz", integrity: gunzip, max_age: 4}
          - path: /var/backups
            min_count: {warn: 3, crit: 5}
            restore: {dsn: "host=db", database: scratch, verify: [{table: users, sql: "select 1"}]}
    """)
    assert "backups[0].path: expected an absolute directory, found 'var/backups'" in text
    assert "backups[0].pattern: expected a file name glob like db_*.sql.gz (no /), found 'db/*.gz'" in text
    assert "backups[0].integrity[0]" in text and "'gzip'" in text
    assert "backups[0].max_age" in text and "expected a duration like 30s, 5m, 4h, 7d, found 4" in text
    assert "backups[1].min_count: warn 3 is below crit 5" in text
    assert "backups[1].restore.verify[0]: give exactly one of table: or sql:" in text


def test_log_mistakes_name_their_keys(tmp_path):
    text = problems(tmp_path, """
        logs:
          - {path: /var/log/app.log, patterns: {bad: "ERROR(", fine: {regex: x, warn: 9, crit: 2}}}
          - {path: /var/log/app.log}
          - {path: /var/log/app.log, warn: 5}
          - {path: /var/log/app.log, preset: nginx}
    """)
    assert "logs[0].patterns.bad.regex: not a valid regular expression: missing ), unterminated subpattern" in text
    assert "logs[0].patterns.fine: warn 9 is above crit 2" in text
    assert "logs[1]: nothing to count: give pattern:, patterns: or preset:" in text
    assert "logs[2]: warn/crit at the entry's level belong to `pattern:`" in text
    assert "logs[3].preset" in text and "'http_status', 'scanners' or 'ssh_failed'" in text
