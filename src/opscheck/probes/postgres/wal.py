"""WAL archiving and checkpoints: pg_stat_archiver, pg_stat_bgwriter / pg_stat_checkpointer.

The archiver is failing when its last failure is newer than its last success
(`failed_count` alone counts failures long since recovered). Checkpoints are judged by
the share that were requested (WAL reached max_wal_size, or CHECKPOINT) rather than
timed: many requested checkpoints mean max_wal_size is too small for the write load.
"""

from __future__ import annotations

from datetime import timezone

from opscheck.errors import Unmeasurable
from opscheck.measurement import Measurement, Target
from opscheck.probes.postgres.session import read_only
from opscheck.probes.postgres.text import plain

_ARCHIVER = """
    SELECT archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal,
           last_failed_time, stats_reset, pg_is_in_recovery() AS standby,
           (SELECT setting FROM pg_settings WHERE name = 'archive_mode') AS archive_mode,
           (SELECT setting FROM pg_settings WHERE name = 'archive_command') AS archive_command,
           (SELECT setting FROM pg_settings WHERE name = 'archive_library') AS archive_library
    FROM pg_stat_archiver
"""


def when(moment) -> str:
    """A server timestamp as the summary shows it: UTC to the second (evidence keeps the exact one)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else "cluster start"


def probe_archiver(target: Target) -> Measurement:
    """Whether WAL archiving works: CRIT while the last attempt failed; off is OK, saying so (CRIT if `required`)."""
    rules = target.spec
    with read_only(target) as session:
        row = session.rows(_ARCHIVER)[0]
        # pg_ls_archive_statusdir() is granted to pg_monitor; without it the backlog stays unmeasured.
        ready, why_not = session.optional_rows(
            "SELECT count(*)::int AS n FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'"
        )
    evidence = {k: plain(v) for k, v in row.items()}
    evidence["waiting_to_archive"] = ready[0]["n"] if ready else f"not measured: {why_not}"
    mode = row["archive_mode"]
    if mode is None:
        raise Unmeasurable("archive_mode is not visible to this role (grant pg_monitor)")
    if mode == "off" or (row["standby"] and mode == "on"):
        why = "archive_mode=off" if mode == "off" else "a standby with archive_mode=on: the primary archives"
        problems = ((f"required (archiver: {{required: true}}) but {why}",) if rules.required and mode == "off" else ())
        return Measurement(subject=f"WAL archiving off ({why})", evidence=evidence, problems=problems)
    failed, archived = row["last_failed_time"], row["last_archived_time"]
    last_ok = f"last success {when(archived)} ({row['last_archived_wal']})" if archived else "never succeeded"
    if failed is not None and (archived is None or failed > archived):
        return Measurement(
            subject=f"WAL archiving failing since {when(failed)} on {row['last_failed_wal']}", evidence=evidence,
            problems=(f"{_attempts(row['failed_count'])}, {last_ok}",),
        )
    if archived is None:
        return Measurement(subject=f"WAL archiving on (archive_mode={mode}), no segment archived yet", evidence=evidence)
    notes = (f"{row['failed_count']:,} earlier failure{'s' if row['failed_count'] != 1 else ''}, last {when(failed)}",) if failed is not None else ()
    return Measurement(
        subject=f"WAL archiving working: {row['archived_count']:,} archived, last {row['last_archived_wal']} at {when(archived)}",
        evidence=evidence, notes=notes,
    )


def _attempts(n: int) -> str:
    return f"{n:,} failed attempt{'s' if n != 1 else ''}"


def probe_checkpoints(target: Target) -> Measurement:
    """Requested checkpoints as % of all since statistics reset; too few checkpoints to judge is UNKNOWN."""
    limits = target.spec
    with read_only(target) as session:
        if session.server_version_num() >= 170000:
            row = session.rows(
                "SELECT num_timed::bigint AS timed, num_requested::bigint AS requested, stats_reset FROM pg_stat_checkpointer"
            )[0]
        else:
            row = session.rows(
                "SELECT checkpoints_timed::bigint AS timed, checkpoints_req::bigint AS requested, stats_reset FROM pg_stat_bgwriter"
            )[0]
        settings = {r["name"]: f"{r['setting']}{r['unit'] or ''}" for r in session.rows(
            "SELECT name, setting, unit FROM pg_settings WHERE name IN ('max_wal_size', 'checkpoint_timeout', 'min_wal_size')"
        )}
    total = row["timed"] + row["requested"]
    since = when(row["stats_reset"])
    evidence = {"timed": row["timed"], "requested": row["requested"], "since": since, "stats_reset": plain(row["stats_reset"]), **settings,
                "min_checkpoints": limits.min_checkpoints}
    if total < limits.min_checkpoints:
        raise Unmeasurable(
            f"only {total} checkpoint{'s' if total != 1 else ''} since {since}, too few to judge (min_checkpoints {limits.min_checkpoints})"
        )
    return Measurement(
        value=100.0 * row["requested"] / total, unit="%", subject="requested checkpoints",
        label=f"({row['requested']:,} of {total:,} since {since}; max_wal_size {settings.get('max_wal_size', '?')})",
        evidence=evidence,
    )
