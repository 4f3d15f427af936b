"""A private Docker Engine for the container tests: dockerd on its own socket, folders and image.

Imported by tests/conftest.py's session fixture `docker_engine` (not a test module). The daemon
runs without iptables or a bridge on the vfs storage driver, so it needs nothing from the
machine but docker.io; the image is made from Debian's busybox-static on disk (no registry
is reachable). `stop()` removes every container, stops the daemon and deletes its folders.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker
from redis_servers import write_tls_files  # a private CA and a 127.0.0.1 certificate

# Loaded before pytester's in-process runs: a module first imported during one is dropped after it.
from opscheck.probes.containers import drift, state, stats  # noqa: F401
from opscheck.probes.logs import container as _container_logs  # noqa: F401

IMAGE = "opscheck-busybox:test"
APPLETS = ("sh", "sleep", "httpd", "true", "false", "cat", "yes", "echo", "ls", "wget", "head", "dd", "seq")


class DockerEngine:
    def __init__(self, tcp_port: int | None = None) -> None:
        """`tcp_port`: also listen on 127.0.0.1:PORT with mutual TLS (`self.tls`: cert, key, ca)."""
        self.dir = Path(tempfile.mkdtemp(prefix="opscheck-dockerd-"))
        self.socket = self.dir / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.log = self.dir / "dockerd.log"
        argv = [
            "dockerd", "--host", self.url, "--data-root", str(self.dir / "data"), "--exec-root", str(self.dir / "exec"),
            "--pidfile", str(self.dir / "pid"), "--iptables=false", "--ip6tables=false", "--bridge=none",
            "--storage-driver=vfs",
        ]
        self.tcp_url, self.tls = None, None
        if tcp_port is not None:
            (self.dir / "tls").mkdir()
            # The server's certificate (no key usage limits) also serves as the client's: one CA signs both.
            self.tls = write_tls_files(self.dir / "tls")
            self.tcp_url = f"tcp://127.0.0.1:{tcp_port}"
            cert, key, ca = (str(p) for p in self.tls)
            argv += ["--host", self.tcp_url, "--tlsverify", "--tlscacert", ca, "--tlscert", cert, "--tlskey", key]
        try:
            self.process = subprocess.Popen(argv, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError("dockerd is not installed (apt-get install docker.io: .ci/apt/containers.txt)") from None
        try:
            self.client = self._wait()
            self._build_image()
        except BaseException:
            self.stop()
            raise

    def _wait(self) -> docker.DockerClient:
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"dockerd exited {self.process.returncode}: {self._log_tail()}")
            try:
                return docker.DockerClient(base_url=self.url, timeout=30)  # asks the daemon's API version
            except Exception:  # noqa: BLE001 - not listening yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"dockerd did not answer on {self.url} within 60 s: {self._log_tail()}") from None
                time.sleep(0.2)

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return "(no log)"

    def _build_image(self) -> None:
        root = self.dir / "image"
        (root / "bin").mkdir(parents=True)
        busybox = shutil.which("busybox") or "/bin/busybox"
        shutil.copy(busybox, root / "bin" / "busybox")
        for applet in APPLETS:
            (root / "bin" / applet).symlink_to("busybox")
        (root / "tmp").mkdir()
        tar = self.dir / "image.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
        self.docker("import", "--change", "ENV PATH=/bin", str(tar), IMAGE)

    def docker(self, *args: str, check: bool = True) -> str:
        """The docker CLI against this engine (tests set state up with it; the probes only read)."""
        out = subprocess.run(["docker", "--host", self.url, *args], capture_output=True, text=True, timeout=60)
        if check and out.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}: {out.stderr.strip()}")
        return out.stdout.strip()

    def run(self, name: str, *args: str, command: str = "sleep 3600") -> str:
        """Start a detached container from the busybox image, no network."""
        return self.docker("run", "-d", "--name", name, "--network", "none", *args, IMAGE, "sh", "-c", command)

    def wait_for(self, predicate, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.2)

    def inspect(self, name: str) -> dict:
        return self.client.api.inspect_container(name)

    def stop(self) -> None:
        try:
            ids = self.docker("ps", "-aq", check=False).split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
        except Exception:  # noqa: BLE001 - the daemon may already be gone
            pass
        if getattr(self, "client", None) is not None:
            self.client.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # A daemon killed hard may leave its netns and overlay mounts behind: unmount before deleting.
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines() if str(self.dir) in line]
        for mount in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
