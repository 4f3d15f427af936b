"""SQL assertions: the runbooks' "must be empty" queries, judged against `expect`.

The SQL passed the static guard (`opscheck.inventory.sqlguard`) when the inventory loaded,
and runs like every probe in a READ ONLY transaction as one prepared statement,
then is rolled back and the session reset: a query that still tries to write is
refused by the server and becomes UNKNOWN, and the data stays as it was.
"""

from __future__ import annotations

import operator
from decimal import Decimal

from opscheck.errors import Unmeasurable
from opscheck.inventory import sqlguard
from opscheck.measurement import Measurement, Target
from opscheck.probes.postgres.session import read_only
from opscheck.probes.postgres.text import plain

SHOWN_ROWS = 10

_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def probe_assertion(target: Target) -> Measurement:
    assertion = target.spec
    expect = assertion.expect
    why = sqlguard.problem(assertion.sql)  # checked at load already; kept for entries built in code
    if why:
        raise Unmeasurable(f"refused, not a read-only query: {why}")
    with read_only(target) as session, session.cursor() as cur:
        cur.execute(assertion.sql, prepare=True)
        if cur.description is None:
            raise Unmeasurable("the assertion's SQL returned no result set (it must be a query)")
        columns = [c.name for c in cur.description]
        shown = cur.fetchmany(SHOWN_ROWS)
        count = len(shown) + len(cur.fetchall()) if len(shown) == SHOWN_ROWS else len(shown)
    evidence = {
        "sql": assertion.sql,
        "expect": expect.describe(),
        "row_count": count,
        "columns": columns,
        "rows": [dict(zip(columns, plain(list(row)), strict=True)) for row in shown],
    }
    if expect.of == "rows":
        actual = count
        subject = f"{count} row{'s' if count != 1 else ''}"
    else:
        if count != 1 or len(columns) != 1:
            raise Unmeasurable(
                f"expect compares a single value, but the query returned {count} row(s) of {len(columns)} column(s);"
                " use expect: {rows: N} to count rows"
            )
        actual = shown[0][0]
        subject = f"value {plain(actual)!r}"
    ok = _compare(actual, expect.op, expect.operand)
    problems = () if ok else (f"{subject}, expected {expect.describe()}",)
    return Measurement(
        value=plain(actual) if not isinstance(actual, Decimal) else float(actual),
        subject=assertion.name, evidence=evidence, problems=problems,
        notes=() if not ok else (f"{subject}; expected {expect.describe()}",),
    )


def _compare(actual, op: str, operand) -> bool:
    if isinstance(actual, Decimal):
        actual = float(actual)
    if isinstance(operand, (int, float)) and not isinstance(operand, bool) and isinstance(actual, str):
        try:
            actual = float(actual)
        except ValueError:
            return False
    if op in ("==", "!=") and isinstance(operand, str) and not isinstance(actual, str):
        actual = str(plain(actual))
    try:
        return _OPS[op](actual, operand)
    except TypeError:
        return False
