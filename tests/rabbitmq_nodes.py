"""A private RabbitMQ node for tests that need a broker configured unlike the shared one.

Imported by tests/test_rabbitmq*.py (not a test module itself). The node has its own
name, ports, data and log folders and Erlang cookie (HOME), so the shared broker on
5672/15672 is never touched; `stop()` kills the node's process group and removes its folder.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pika
import requests

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")  # the scripts themselves: /usr/sbin's wrappers switch to the rabbitmq user


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RabbitNode:
    def __init__(self, *config_lines: str, boot_timeout: float = 90):
        self.dir = Path(tempfile.mkdtemp(prefix="opscheck-rabbit-"))
        self.name = f"opscheck-{uuid.uuid4().hex[:8]}@localhost"
        self.amqp_port, self.api_port, self.dist_port = _free_port(), _free_port(), _free_port()
        (self.dir / "home").mkdir()
        (self.dir / "rabbitmq.conf").write_text("\n".join([
            f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}",
            "management.tcp.ip = 127.0.0.1",
            f"management.tcp.port = {self.api_port}",
            *config_lines, "",
        ]))
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.dir / "env.conf").write_text("")  # not /etc/rabbitmq/rabbitmq-env.conf: that names the shared node
        self.env = {
            **os.environ, "HOME": str(self.dir / "home"), "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"), "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(self.dir / "plugins-expand"), "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.process = subprocess.Popen(
            [str(RABBITMQ_BIN / "rabbitmq-server")], env=self.env, start_new_session=True,
            stdout=(self.dir / "out.txt").open("w"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + boot_timeout
        while True:
            try:
                requests.get(f"{self.api_url}/api/overview", auth=("guest", "guest"), timeout=2).raise_for_status()
                break
            except requests.RequestException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.dir / "out.txt").read_text()[-2000:]
                    self.stop()
                    raise RuntimeError(f"private RabbitMQ node did not start:\n{log}") from None
                time.sleep(0.25)

    @property
    def amqp_url(self) -> str:
        return f"amqp://127.0.0.1:{self.amqp_port}/%2F"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def connect(self) -> pika.BlockingConnection:
        return pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/%2F?heartbeat=0"))

    def ctl(self, *args: str) -> None:
        subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.name, "-q", *args], env=self.env,
                       check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # the node's own session: beam and its helpers
            self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)
