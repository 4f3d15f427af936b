# opscheck host agent: shipped over stdin to the host's python3 by opscheck.hostagent.session.
# Self-contained (standard library, Python 3.4+), never installed, gone when the session ends.
#
# Protocol, one JSON object per line both ways:
#   runner -> agent  {"id": 7, "argv": ["sh", "-c", "df -P /"], "term": 10, "kill": 2}
#   agent -> runner  {"id": 7, "rc": 0, "out": "<base64>", "err": "<base64>"}   or {"id": 7, "error": "..."}
# The agent says {"hello": 1, "encoding": ...} first. Each command runs on its own thread, in its own
# process group, with coreutils `timeout -k KILL TERM` semantics done here (one exec less per
# command): SIGTERM to the group after `term` seconds, SIGKILL `kill` seconds later, exit status 124.
# End of stdin (the runner or the SSH session went away) kills what still runs.
import base64
import json
import locale
import os
import signal
import subprocess
import sys
import threading

_out = os.fdopen(os.dup(1), "wb")
os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing else may write into the protocol stream
_write = threading.Lock()
_running = {}
_running_lock = threading.Lock()


def _send(message):
    data = (json.dumps(message, separators=(",", ":")) + "\n").encode("ascii")
    with _write:
        _out.write(data)
        _out.flush()


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _signal(proc, sig, state=None):
    if state is not None:
        state.append(sig)
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass


def _run(request):
    rid = request.get("id")
    try:
        proc = subprocess.Popen(
            request["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        with _running_lock:
            _running[rid] = proc
        fired = []
        term = float(request.get("term", 60))
        timers = [threading.Timer(term, _signal, (proc, signal.SIGTERM, fired)),
                  threading.Timer(term + float(request.get("kill", 2)), _signal, (proc, signal.SIGKILL))]
        for timer in timers:
            timer.daemon = True
            timer.start()
        try:
            out, err = proc.communicate()
        finally:
            for timer in timers:
                timer.cancel()
            with _running_lock:
                _running.pop(rid, None)
        rc = proc.returncode
        if fired:
            rc = 124  # what coreutils timeout reports for a command it had to stop
        elif rc < 0:  # killed by a signal: report it as a shell would (128 + signal)
            rc = 128 - rc
        _send({"id": rid, "rc": rc, "out": _b64(out), "err": _b64(err)})
    except Exception as exc:  # noqa: BLE001 - every failure is an answer to this request
        _send({"id": rid, "error": "%s: %s" % (type(exc).__name__, exc)})


def main():
    _send({"hello": 1, "encoding": locale.getpreferredencoding(), "pid": os.getpid()})
    source = sys.stdin.buffer
    while True:
        line = source.readline()
        if not line:
            break
        try:
            request = json.loads(line.decode("utf-8"))
        except ValueError as exc:
            _send({"id": None, "error": "bad request: %s" % exc})
            continue
        threading.Thread(target=_run, args=(request,), daemon=True).start()
    with _running_lock:
        for proc in list(_running.values()):
            _signal(proc, signal.SIGKILL)


main()
