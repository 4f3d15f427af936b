"""Sequences close to exhaustion: how much of each sequence's range is handed out.

The range ends at the sequence's MAXVALUE (MINVALUE when it counts down) or, when
narrower, at the limit of the integer column it feeds: a bigint sequence behind an
`integer` column (serial columns upgraded from before PostgreSQL 10) fails at
2,147,483,647, long before its own maximum. Cycling sequences never run out.
"""

from __future__ import annotations

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.probes.postgres.session import read_only

MAX_ROWS = 10
_TYPE_MAX = {"int2": 32767, "int4": 2147483647, "int8": 9223372036854775807}

# pg_sequence and pg_depend are readable by every role; the position needs SELECT or USAGE
# on the sequence (pg_monitor alone does not give it), hence `readable`.
_SEQUENCES = """
    SELECT n.nspname || '.' || c.relname AS sequence, s.seqincrement AS increment, s.seqmin AS min, s.seqmax AS max,
           s.seqstart AS start, s.seqcycle AS cycle,
           has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable,
           CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(c.oid) END AS last_value,
           t.typname AS column_type, tn.nspname || '.' || tc.relname || '.' || a.attname AS column
    FROM pg_sequence s
    JOIN pg_class c ON c.oid = s.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
         AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
    LEFT JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_class tc ON tc.oid = d.refobjid
    LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND c.relpersistence <> 't'
    ORDER BY 1
"""


def usage(row: dict) -> dict:
    """The share of `row`'s range used, and the limit that ends it (sequence's or column's)."""
    up = row["increment"] > 0
    low, high = row["min"], row["max"]
    limit_by = "sequence"
    column_max = _TYPE_MAX.get(row.get("column_type") or "")
    if column_max is not None:
        if up and column_max < high:
            high, limit_by = column_max, f"{row['column_type']} column {row['column']}"
        elif not up and -column_max - 1 > low:
            low, limit_by = -column_max - 1, f"{row['column_type']} column {row['column']}"
    # Never called: the next value is the start, nothing handed out yet beyond it.
    position = row["last_value"] if row["last_value"] is not None else row["start"] - row["increment"]
    span = max(high - low, 1)
    used = (position - low) if up else (high - position)
    return {
        "sequence": row["sequence"], "percent": max(0.0, 100.0 * used / span),
        "last_value": row["last_value"], "limit": high if up else low, "limit_by": limit_by,
        "left": (high - position) // abs(row["increment"]) if up else (position - low) // abs(row["increment"]),
    }


def probe_sequences(target: Target) -> Measurement:
    """The most used non-cycling sequence of the database, as % of its range; every one past warn in evidence."""
    with read_only(target) as session:
        rows = session.rows(_SEQUENCES)
        who = session.rows("SELECT current_user AS u, current_database() AS d")[0]
    # One sequence can feed two columns: keep the narrowest limit.
    by_name: dict[str, dict] = {}
    for row in rows:
        seen = by_name.get(row["sequence"])
        if seen is None or _TYPE_MAX.get(row["column_type"] or "", 1 << 64) < _TYPE_MAX.get(seen["column_type"] or "", 1 << 64):
            by_name[row["sequence"]] = row
    counted = [r for r in by_name.values() if not r["cycle"]]
    unreadable = sorted(r["sequence"] for r in counted if not r["readable"])
    used = sorted((usage(r) for r in counted if r["readable"]), key=lambda u: -u["percent"])
    if unreadable and not used:
        raise Unmeasurable(
            f"role {who['u']} may not read the position of any of the {len(unreadable)} sequences"
            f" ({_names(unreadable)}): GRANT SELECT ON ALL SEQUENCES IN SCHEMA … TO {who['u']}"
        )
    warnings = ()
    if unreadable:
        warnings = (f"{len(unreadable)} sequence{'s' if len(unreadable) != 1 else ''} not readable by role {who['u']}"
                    f" ({_names(unreadable)}): grant SELECT on them",)
    evidence = {
        "database": who["d"],
        "most_used": [dict(u, percent=round(u["percent"], 2)) for u in used[:MAX_ROWS]],
        "sequences": len(by_name), "cycling": len(by_name) - len(counted), "not_readable": unreadable,
    }
    if not used:
        return Measurement(value=None, subject=f"no sequences in database {who['d']}", evidence=evidence)
    worst = used[0]
    limit = f"{worst['limit']:,}" + ("" if worst["limit_by"] == "sequence" else f", the {worst['limit_by']}")
    position = "never used" if worst["last_value"] is None else f"{worst['last_value']:,}"
    return Measurement(
        value=worst["percent"], unit="%", subject=f"sequence {worst['sequence']}",
        label=f"used ({position} of {limit}; {worst['left']:,} left)", evidence=evidence, warnings=warnings,
    )


def _names(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
