"""A host's commands over one SSH session per run, through a small agent (see docs/hosts.md).

Per-command SSH pays a session set-up and a remote login per command: about a quarter
of a second of a check's time and most of the runner's CPU. Here each SSH host gets
one session, opened by its first command, carrying an agent for the host's python3
that runs every command it is sent concurrently, each under its own timeout. The
commands are exactly those of the per-command path (`timeout -k 2 N sh -c CMD`), so
the facts, and the verdicts, are the same.

Hosts without python3, `sshpass` hosts and non-SSH backends (local://, docker://, …)
keep testinfra's per-command path. OPSCHECK_HOST_AGENT=off turns the agent off.
"""

from __future__ import annotations

import os
import shlex
import threading

from opscheck.hostagent.session import BOOTSTRAP, NoPython, Session
from opscheck.measurement import HostRef

_sessions: dict[str, Session | None] = {}  # None: this spec runs commands the per-command way
_locks: dict[str, threading.Lock] = {}
_guard = threading.Lock()


def enabled() -> bool:
    return os.environ.get("OPSCHECK_HOST_AGENT", "on").strip().lower() not in ("off", "0", "no", "false")


def session_for(ref: HostRef, host_of) -> Session | None:
    """The agent session of `ref` (opened now if need be), or None for the per-command path.

    `host_of(ref)` gives the testinfra Host, whose SSH command line (options, ssh_config,
    identity, user, port, sudo) the session reuses. Connection failures raise as
    connect.connection_failed says, and are remembered there like any other.
    """
    if not enabled() or not ref.spec.startswith(("ssh://", "ansible://")):
        return None
    with _guard:
        lock = _locks.setdefault(ref.spec, threading.Lock())
    with lock:  # one connection attempt per host at a time: the others wait for its outcome
        if ref.spec in _sessions:
            session = _sessions[ref.spec]
            if session is None or session.error is None:
                return session
        from opscheck.connect import connection_failed, known_down

        down = known_down(ref)  # failed while this thread waited for the lock: once is enough
        if down is not None:
            raise down
        argv, timeout = _ssh_argv(host_of(ref))
        if argv is None:
            _sessions[ref.spec] = None
            return None
        session = Session(ref, argv, timeout, connection_failed)
        try:
            session.start()
        except NoPython:
            _sessions[ref.spec] = None
            return None
        _sessions[ref.spec] = session
        return session


def _ssh_argv(host) -> tuple[list[str] | None, float]:
    from testinfra.backend.ssh import SshBackend

    backend = host.backend
    if not isinstance(backend, SshBackend) or backend.host.password:
        return None, 0
    cmd, args = backend._build_ssh_command(backend.get_command(BOOTSTRAP))
    # The session is the host's only connection: no ControlMaster to share or leave behind.
    cmd = [part for part in cmd if not part.startswith(("-o ControlMaster", "-o ControlPath"))]
    return shlex.split(backend.quote(" ".join(cmd), *args)), float(backend.timeout)


def close_all() -> None:
    """End every agent session of this process (their agents exit and kill what still runs)."""
    with _guard:
        sessions = [s for s in _sessions.values() if s is not None]
        _sessions.clear()
    for session in sessions:
        session.close()
