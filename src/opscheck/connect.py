"""testinfra hosts made safe for a fleet: verified SSH host keys, fast failure, Ansible hosts.

testinfra's `ssh://` backend shells out to OpenSSH without host-key or batch
options, so an unknown key or a password prompt would ask a TTY that cron does
not have. Every SSH host here gets StrictHostKeyChecking=yes and BatchMode=yes
before any other option (OpenSSH keeps the first value it sees, so an Ansible
`-o StrictHostKeyChecking=no` cannot undo it), and a short ConnectTimeout.

Connections to a host are multiplexed over one SSH master per process (a
private ControlPath directory, closed at exit): a check costs a session, not a
handshake. At most MAX_SESSIONS commands run on a host at once, below sshd's
default MaxSessions of 10 per connection.

A host that failed to connect is remembered for a while, so its other checks
fail at once instead of each waiting out its own connect timeout.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import shutil
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from opscheck.errors import OpscheckError, TargetDown, Unmeasurable
from opscheck.measurement import HostRef


class _NoCommandLines(logging.Filter):
    """testinfra logs every command it runs at DEBUG (`sshpass -p … ssh …`, with -vv even
    into pytest's captured log and so into report.html and Allure): those records never leave."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


logging.getLogger("testinfra").addFilter(_NoCommandLines())

SSH_OPTIONS = "-o StrictHostKeyChecking=yes -o BatchMode=yes -o ServerAliveInterval=5 -o ServerAliveCountMax=2"
CONNECT_TIMEOUT_S = 5
DOWN_MEMORY_S = 60.0
MAX_SESSIONS = 8
CONTROL_PERSIST_S = 30

# stderr of ssh that means "we do not trust or may not log in", not "the host is down".
_TRUST = (
    "host key verification failed",
    "remote host identification has changed",
    "no matching host key",
    "permission denied",
    "too many authentication failures",
    "bad configuration option",
    "no such file or directory",
)

_PARAMIKO = "testinfra's paramiko backend accepts unknown host keys: use ssh:// (ansible_connection=ssh)"

_down: dict[str, tuple[float, OpscheckError]] = {}
_down_lock = threading.Lock()
_slots: dict[str, threading.BoundedSemaphore] = {}
_control_dir: Path | None = None
_control_lock = threading.Lock()


def _control_path(spec: str) -> str:
    """One master per spec (not per host: two specs may differ in keys or known_hosts)."""
    global _control_dir
    with _control_lock:
        if _control_dir is None:
            _control_dir = Path(tempfile.mkdtemp(prefix="opscheck-ssh-"))
            atexit.register(_at_exit)
        return f"{_control_dir}/{hashlib.sha256(spec.encode()).hexdigest()[:20]}"


def close_masters() -> None:
    """Stop this process's SSH masters and agent sessions; the next command to a host starts a new one."""
    from opscheck import hostagent

    hostagent.close_all()
    with _control_lock:
        folder = _control_dir
    if folder is None or not folder.is_dir():
        return
    for socket_path in folder.iterdir():
        subprocess.run(["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "opscheck"],
                       capture_output=True, timeout=10, check=False)


def _at_exit() -> None:
    close_masters()
    if _control_dir is not None:
        shutil.rmtree(_control_dir, ignore_errors=True)


@contextmanager
def slot(ref: HostRef):
    """Hold one of the host's MAX_SESSIONS command slots."""
    with _down_lock:
        semaphore = _slots.setdefault(ref.spec, threading.BoundedSemaphore(MAX_SESSIONS))
    with semaphore:
        yield


def get_host(spec: str):
    """The testinfra Host for `spec`, with SSH hardened (ansible:// resolved to its native backend)."""
    import testinfra

    if spec.startswith("paramiko://"):
        raise Unmeasurable(_PARAMIKO)
    if spec.startswith("ssh://"):
        query = parse_qs(urlsplit(spec).query)
        defaults = {} if "timeout" in query else {"timeout": CONNECT_TIMEOUT_S}
        if "controlpersist" not in query:
            defaults["controlpersist"] = CONTROL_PERSIST_S
        return testinfra.get_host(spec, ssh_extra_args=SSH_OPTIONS, controlpath=_control_path(spec), **defaults)
    if spec.startswith("ansible://"):
        return _ansible_host(spec)
    return testinfra.get_host(spec)


def _ansible_host(spec: str):
    import testinfra
    from testinfra.backend.ssh import SshBackend
    from testinfra.utils.ansible_runner import AnsibleRunner

    parts = urlsplit(spec)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    runner = AnsibleRunner.get_runner(unquote(query.get("ansible_inventory", "")) or None)
    host = runner.get_host(
        unquote(parts.netloc), ssh_config=query.get("ssh_config"), ssh_identity_file=query.get("ssh_identity_file")
    )
    if host is None:
        # A connection testinfra cannot map natively (winrm, …): let ansible run the commands.
        return testinfra.get_host(spec)
    backend = host.backend
    if backend.NAME == "paramiko":
        raise Unmeasurable(_PARAMIKO)
    if isinstance(backend, SshBackend) and not getattr(backend, "_opscheck_hardened", False):
        extra = backend.ssh_extra_args or ""
        backend.ssh_extra_args = f"{SSH_OPTIONS} {extra}".strip()
        if "connecttimeout" not in extra.lower():
            backend.timeout = min(backend.timeout, CONNECT_TIMEOUT_S)
        if "controlpath" not in extra.lower():
            backend.controlpath = _control_path(spec)
            backend.controlpersist = min(backend.controlpersist, CONTROL_PERSIST_S)
        backend._opscheck_hardened = True
    return host


def known_down(ref: HostRef) -> OpscheckError | None:
    """The error of a recent failed connection to `ref`, if any."""
    with _down_lock:
        entry = _down.get(ref.spec)
        if entry is None:
            return None
        when, error = entry
        if time.monotonic() - when > DOWN_MEMORY_S:
            del _down[ref.spec]
            return None
    return type(error)(f"{error} (not retried: failed {time.monotonic() - when:.0f}s ago)")


def connection_failed(ref: HostRef, stderr: str) -> OpscheckError:
    """What a failed connection means: untrusted or no login is UNKNOWN, unreachable is CRIT."""
    text = " ".join(line.strip() for line in stderr.strip().splitlines() if line.strip() and not line.startswith("@@@"))
    text = text[:300] or "no error message"
    lowered = text.lower()
    if "host key verification failed" in lowered or "identification has changed" in lowered:
        error: OpscheckError = Unmeasurable(
            f"{ref.name}: SSH host key not trusted (not in known_hosts, or changed): refused to connect ({text})"
        )
    elif any(marker in lowered for marker in _TRUST):
        error = Unmeasurable(f"{ref.name}: cannot log in over SSH: {text}")
    else:
        error = TargetDown(f"{ref.name}: unreachable: {text}")
    with _down_lock:
        _down[ref.spec] = (time.monotonic(), error)
    return error


def forget_down() -> None:
    with _down_lock:
        _down.clear()
