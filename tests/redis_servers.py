"""Real redis-server processes for the redis tests, each on a free loopback port in its own temp dir.

Imported by tests/test_redis*.py (not a test module itself). `stop()` kills the
process and removes the directory.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis

# Imported at collection, not inside a test: pytester's in-process runs drop modules first
# imported during a run, and a re-imported cryptography no longer matches its Rust bindings.
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opscheck.probes.redis import server as redis_probes  # noqa: F401 - loaded before pytester's in-process runs


class RedisServer:
    def __init__(self, port: int, *args: str, as_nobody: bool = False, dir_mode: int = 0o700, tls: tuple | None = None):
        """`tls=(cert, key, ca)` serves only TLS on `port` (and plain TCP nowhere)."""
        self.port = port
        self.tls = tls
        self.dir = Path(tempfile.mkdtemp(prefix="opscheck-redis-"))
        self.dir.chmod(dir_mode)
        argv = [
            "redis-server", *self._ports(), "--bind", "127.0.0.1", "--dir", str(self.dir),
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "", *args,
        ]
        if as_nobody:
            # setpriv execs (no forking wrapper), so killing the Popen kills redis-server itself.
            argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tls_options = {"ssl": True, "ssl_ca_certs": str(tls[2])} if tls else {}
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5, **tls_options)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.client.ping()
                break
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server on port {port} did not start (exit {self.process.poll()})") from None
                time.sleep(0.05)

    def _ports(self) -> list[str]:
        if not self.tls:
            return ["--port", str(self.port)]
        cert, key, ca = self.tls
        return ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
                "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"]

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}"

    def wait_for(self, section: str, predicate, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            info = self.client.info(section)
            if predicate(info):
                return info
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on INFO {section}: {info}")
            time.sleep(0.05)

    def fill_memory(self, percent: float, value_size: int = 4096) -> float:
        """Write keys until used_memory reaches `percent` of maxmemory (or the server refuses: OOM)."""
        maxmemory = self.client.info("memory")["maxmemory"]
        payload = b"x" * value_size
        n = 0
        while True:
            used = self.client.info("memory")["used_memory"]
            if 100.0 * used / maxmemory >= percent:
                return 100.0 * used / maxmemory
            pipe = self.client.pipeline(transaction=False)
            for _ in range(16):
                pipe.set(f"fill:{n}", payload)
                n += 1
            try:
                pipe.execute()
            except redis.exceptions.OutOfMemoryError:
                return 100.0 * self.client.info("memory")["used_memory"] / maxmemory

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def write_tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate for 127.0.0.1 signed by it: (cert, key, ca) PEM paths."""
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def build(subject: str, issuer: str, key, signer, ca: bool):
        builder = (
            x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = build("opscheck redis test CA", "opscheck redis test CA", ca_key, ca_key, ca=True)
    leaf = build("127.0.0.1", "opscheck redis test CA", leaf_key, ca_key, ca=False)
    paths = folder / "server.pem", folder / "server.key", folder / "ca.pem"
    paths[0].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    paths[2].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return paths
