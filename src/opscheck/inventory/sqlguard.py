"""The static guard every user-written SQL statement passes before it may run.

A READ ONLY transaction stops INSERT/UPDATE/DELETE, but not what a powerful role
can do through functions and utility statements: `COPY … TO PROGRAM` runs a shell,
`pg_terminate_backend()` kills a session, `pg_advisory_lock()` outlives ROLLBACK,
`pg_read_file()` puts a server file into every report. So the SQL an inventory
holds is parsed with PostgreSQL's own parser (libpg_query through pglast) when the
inventory loads, and refused unless it is one query that only reads:

- exactly one statement: SELECT, WITH … SELECT, VALUES, TABLE or SHOW;
- no SELECT … INTO, no FOR UPDATE/SHARE, no INSERT/UPDATE/DELETE/MERGE anywhere
  (a data-modifying WITH);
- no call, anywhere in the tree, of a function in DENIED (schema-qualified or
  quoted spellings included), and `set_config` only with `is_local => true`.

What the guard cannot see — the body of a function or view you defined yourself —
is still held by the READ ONLY transaction and by a role with no more than pg_monitor.
"""

from __future__ import annotations

import re
from functools import lru_cache

_REASONS = {
    "signal": "signals or terminates server processes",
    "config": "reloads the configuration or rotates the log",
    "stats": "resets statistics",
    "replication": "changes replication slots, origins or logical decoding state",
    "wal": "controls WAL, backups or recovery",
    "largeobject": "reads or writes large objects (lo_import/lo_export touch server files)",
    "remote": "runs SQL over another connection (dblink/postgres_fdw)",
    "advisory": "takes or releases advisory locks (a session lock outlives ROLLBACK)",
    "sequence": "advances or sets a sequence",
    "files": "reads or writes the server's files",
    "xid": "assigns a transaction id or exports a snapshot",
    "notify": "sends a notification",
    "dynamic": "runs SQL text the guard cannot check",
    "storage": "changes index, statistics or relation storage",
}

# name -> category. Sources: PostgreSQL's "System Administration Functions" (server
# signalling, backup and recovery control, replication management, index maintenance,
# generic file access, advisory locks), the statistics reset functions, sequence
# manipulation, large objects, and contrib modules that act on the server (dblink,
# postgres_fdw, adminpack, pg_prewarm, pg_visibility, pg_surgery, tablefunc).
DENIED: dict[str, str] = {
    **dict.fromkeys((
        "pg_cancel_backend", "pg_terminate_backend", "pg_signal_backend", "pg_log_backend_memory_contexts",
        "pg_wait_for_backend_termination",
    ), "signal"),
    **dict.fromkeys(("pg_reload_conf", "pg_rotate_logfile", "pg_rotate_logfile_old"), "config"),
    **dict.fromkeys((
        "pg_stat_reset", "pg_stat_reset_shared", "pg_stat_reset_single_table_counters",
        "pg_stat_reset_single_function_counters", "pg_stat_reset_slru", "pg_stat_reset_replication_slot",
        "pg_stat_reset_subscription_stats", "pg_stat_reset_backend_stats", "pg_stat_statements_reset",
        "pg_stat_force_next_flush",
    ), "stats"),
    **dict.fromkeys((
        "pg_create_physical_replication_slot", "pg_create_logical_replication_slot", "pg_drop_replication_slot",
        "pg_copy_physical_replication_slot", "pg_copy_logical_replication_slot", "pg_replication_slot_advance",
        "pg_logical_slot_get_changes", "pg_logical_slot_get_binary_changes", "pg_logical_slot_peek_changes",
        "pg_logical_slot_peek_binary_changes", "pg_logical_emit_message", "pg_sync_replication_slots",
        "pg_replication_origin_create", "pg_replication_origin_drop", "pg_replication_origin_advance",
        "pg_replication_origin_session_setup", "pg_replication_origin_session_reset",
        "pg_replication_origin_xact_setup", "pg_replication_origin_xact_reset",
    ), "replication"),
    **dict.fromkeys((
        "pg_switch_wal", "pg_switch_xlog", "pg_create_restore_point", "pg_start_backup", "pg_stop_backup",
        "pg_backup_start", "pg_backup_stop", "pg_promote", "pg_wal_replay_pause", "pg_wal_replay_resume",
        "pg_xlog_replay_pause", "pg_xlog_replay_resume", "pg_log_standby_snapshot", "pg_wal_replay_wait",
    ), "wal"),
    **dict.fromkeys((
        "lo_import", "lo_export", "lo_create", "lo_creat", "lo_unlink", "lo_open", "lo_close", "lo_put", "lo_get",
        "lo_from_bytea", "lo_truncate", "lo_truncate64", "lo_lseek", "lo_lseek64", "lo_tell", "lo_tell64",
        "lowrite", "loread",
    ), "largeobject"),
    **dict.fromkeys(("postgres_fdw_disconnect", "postgres_fdw_disconnect_all"), "remote"),
    **dict.fromkeys((
        "pg_advisory_lock", "pg_advisory_lock_shared", "pg_advisory_unlock", "pg_advisory_unlock_shared",
        "pg_advisory_unlock_all", "pg_advisory_xact_lock", "pg_advisory_xact_lock_shared", "pg_try_advisory_lock",
        "pg_try_advisory_lock_shared", "pg_try_advisory_xact_lock", "pg_try_advisory_xact_lock_shared",
    ), "advisory"),
    **dict.fromkeys(("nextval", "setval"), "sequence"),
    **dict.fromkeys((
        "pg_read_file", "pg_read_binary_file", "pg_stat_file", "pg_ls_dir", "pg_ls_logdir", "pg_ls_waldir",
        "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalmapdir", "pg_ls_logicalsnapdir",
        "pg_ls_replslotdir", "pg_ls_summariesdir", "pg_file_write", "pg_file_rename", "pg_file_unlink",
        "pg_file_sync", "pg_file_read", "pg_file_length", "pg_logdir_ls",
    ), "files"),
    **dict.fromkeys(("txid_current", "pg_current_xact_id", "pg_export_snapshot", "pg_nextoid"), "xid"),
    **dict.fromkeys(("pg_notify",), "notify"),
    **dict.fromkeys((
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema", "cursor_to_xml", "cursor_to_xmlschema",
        "ts_stat", "ts_rewrite", "crosstab", "crosstab2", "crosstab3", "crosstab4", "connectby",
    ), "dynamic"),
    **dict.fromkeys((
        "brin_summarize_new_values", "brin_summarize_range", "brin_desummarize_range", "gin_clean_pending_list",
        "pg_import_system_collations", "pg_prewarm", "autoprewarm_start_worker", "autoprewarm_dump_now",
        "pg_truncate_visibility_map", "heap_force_kill", "heap_force_freeze", "pg_restore_relation_stats",
        "pg_restore_attribute_stats", "pg_clear_relation_stats", "pg_clear_attribute_stats",
        "pg_set_relation_stats", "pg_set_attribute_stats", "pg_stop_making_pinned_objects",
    ), "storage"),
}

# Whole families, so a new member (dblink_send_query, binary_upgrade_…) is refused too.
DENIED_PREFIXES: dict[str, str] = {
    "dblink": "remote",
    "lo_": "largeobject",
    "pg_advisory_": "advisory",
    "pg_try_advisory_": "advisory",
    "pg_stat_reset": "stats",
    "pg_replication_origin_": "replication",
    "pg_logical_slot_": "replication",
    "binary_upgrade_": "storage",
}

# Settings no local set_config may touch: they change who the session is.
_IDENTITY_SETTINGS = {"role", "session_authorization"}

_ALLOWED = "a SELECT, WITH … SELECT, VALUES, TABLE or SHOW"

_STATEMENT_NAMES = {
    "CopyStmt": "COPY", "DoStmt": "DO", "CallStmt": "CALL", "InsertStmt": "INSERT", "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE", "MergeStmt": "MERGE", "ExplainStmt": "EXPLAIN", "VariableSetStmt": "SET",
    "TransactionStmt": "a transaction command", "PrepareStmt": "PREPARE", "ExecuteStmt": "EXECUTE",
    "DeclareCursorStmt": "DECLARE", "ListenStmt": "LISTEN", "NotifyStmt": "NOTIFY", "UnlistenStmt": "UNLISTEN",
    "LockStmt": "LOCK", "CreateTableAsStmt": "CREATE TABLE AS", "VacuumStmt": "VACUUM/ANALYZE",
    "TruncateStmt": "TRUNCATE", "CheckPointStmt": "CHECKPOINT", "DiscardStmt": "DISCARD",
    "LoadStmt": "LOAD", "CreateStmt": "CREATE TABLE", "DropStmt": "DROP", "GrantStmt": "GRANT/REVOKE", "ReindexStmt": "REINDEX", "ClusterStmt": "CLUSTER",
}


class Refused(ValueError):
    """A statement the guard will not let run; the message says why, in one line."""


def check(sql: str) -> str:
    """`sql` if it is one read-only query; raises Refused saying why not."""
    problem = _problem(sql)
    if problem:
        raise Refused(problem)
    return sql


def problem(sql: str) -> str | None:
    """Why `sql` is refused, or None."""
    return _problem(sql)


@lru_cache(maxsize=1024)
def _problem(sql: str) -> str | None:
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        return f"not valid SQL: {_one_line(str(exc.args[0]) if exc.args else str(exc))}{_at(exc)}"
    if len(statements) != 1:
        return f"expected exactly one statement, found {len(statements)}"
    statement = statements[0].stmt
    if isinstance(statement, ast.VariableShowStmt):
        return None
    if not isinstance(statement, ast.SelectStmt):
        return f"expected {_ALLOWED}, found {_statement_name(statement)}"
    return _walk(statement)


def _walk(root) -> str | None:
    from pglast import ast

    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, (tuple, list)):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, ast.Node):
            continue
        found = _node_problem(node, ast)
        if found:
            return found
        for name in node.__slots__:
            value = getattr(node, name, None)
            if isinstance(value, (ast.Node, tuple, list)):
                stack.append(value)
    return None


def _node_problem(node, ast) -> str | None:
    if isinstance(node, ast.SelectStmt):
        if node.intoClause is not None:
            return "SELECT … INTO creates a table: write a plain SELECT"
        if node.lockingClause:
            return "FOR UPDATE/FOR SHARE locks rows: write a plain SELECT"
    elif isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)):
        return f"a WITH clause that runs {_statement_name(node)} modifies data"
    elif isinstance(node, ast.FuncCall):
        return _call_problem(_name(node.funcname), node.args or ())
    elif isinstance(node, ast.ColumnRef):
        # `x.nextval` is attribute notation for nextval(x) where x is a row.
        fields = [f.sval for f in node.fields or () if isinstance(f, ast.String)]
        if len(fields) > 1 and _denied(fields[-1].lower()):
            return _call_problem(fields[-1].lower(), ())
    return None


def _call_problem(name: str, args) -> str | None:
    category = _denied(name)
    if category:
        return f"calls {name}(), which {_REASONS[category]}"
    if name == "set_config":
        return _set_config_problem(args)
    return None


def _denied(name: str) -> str | None:
    if name in DENIED:
        return DENIED[name]
    for prefix, category in DENIED_PREFIXES.items():
        if name.startswith(prefix):
            return category
    return None


def _set_config_problem(args) -> str | None:
    from pglast import ast

    positional = [a for a in args if not isinstance(a, ast.NamedArgExpr)]
    named = {a.name: a.arg for a in args if isinstance(a, ast.NamedArgExpr)}
    setting = positional[0] if positional else named.get("setting_name")
    is_local = positional[2] if len(positional) > 2 else named.get("is_local")
    if _truth(_constant(is_local)) is not True:
        return "calls set_config() without is_local => true, which changes a setting for the whole session"
    name = _constant(setting)
    if not isinstance(name, str):
        return "calls set_config() with a setting name that is not a literal"
    if name.strip().lower() in _IDENTITY_SETTINGS:
        return f"calls set_config('{name}', …), which changes the session's role"
    return None


def _constant(node):
    """The Python value of a literal (true, 'text', 'on'::boolean), else None."""
    from pglast import ast

    while isinstance(node, ast.TypeCast):
        node = node.arg
    if not isinstance(node, ast.A_Const) or node.isnull:
        return None
    value = node.val
    if isinstance(value, ast.Boolean):
        return bool(value.boolval)
    if isinstance(value, ast.String):
        return value.sval
    return None


def _truth(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "t", "on", "yes", "y", "1"):
        return True
    return None


def _name(parts) -> str:
    from pglast import ast

    names = [p.sval for p in parts or () if isinstance(p, ast.String)]
    return names[-1].lower() if names else ""


def _statement_name(node) -> str:
    name = type(node).__name__
    if name in _STATEMENT_NAMES:
        return _STATEMENT_NAMES[name]
    words = re.findall(r"[A-Z][a-z]*", name.removesuffix("Stmt"))
    return " ".join(words).upper() or name


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _at(exc) -> str:
    location = exc.args[1] if len(exc.args) > 1 else None
    if not isinstance(location, int) or location <= 0:
        return ""
    return f" (character {location})"
