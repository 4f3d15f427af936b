"""Integrity of the newest backup, on real files broken on purpose: each the right verdict and reason."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import subprocess
import tarfile
import textwrap
import uuid
import zipfile
from pathlib import Path

import pytest

from opscheck import registry
from opscheck.inventory.loader import load_inventory
from opscheck.judging import evaluate
from opscheck.measuring import probe_once

TRAILER = b"\n--\n-- PostgreSQL database dump complete\n--\n\n"
PG = ("127.0.0.1", 5432)


def integrity(tmp_path: Path, directory: Path, pattern: str, methods: str, **keys):
    extra = "".join(f", {k}: {v}" for k, v in keys.items())
    path = tmp_path / "inventory.yml"
    path.write_text(textwrap.dedent(f"""
        backups:
          - {{name: set, path: {directory}, pattern: "{pattern}", integrity: {methods}{extra}}}
    """))
    (target,) = registry.get("backup_integrity").targets(load_inventory(path))
    m = probe_once(target)
    return evaluate(m), m


@pytest.fixture
def bk(tmp_path: Path) -> Path:
    directory = tmp_path / "bk"
    directory.mkdir()
    return directory


def sql_text(rows: int = 20000) -> bytes:
    rnd = random.Random(7)
    body = "".join(f"{i}\tuser{i}\t{rnd.random()}\n" for i in range(rows)).encode()
    return b"--\n-- PostgreSQL database dump\n--\nCOPY public.users (id, name, score) FROM stdin;\n" + body + b"\\.\n" + TRAILER


def make_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


CONFIG = {"etc/app/.env": b"DATABASE_URL=postgres://app@db/app\n", "etc/nginx/nginx.conf": b"events {}\n",
          "var/www/blob.bin": random.Random(1).randbytes(300_000)}


def test_good_sql_gz_is_ok_in_one_pass(tmp_path, bk):
    (bk / "db_1.sql.gz").write_bytes(gzip.compress(sql_text()))
    result, m = integrity(tmp_path, bk, "db_*.sql.gz", "auto")
    assert result.verdict.value == "OK"
    assert result.summary == "db_1.sql.gz (sql)"
    assert m.evidence["methods"] == ["sql"] and "dump complete" in m.evidence["sql"]["tail"]
    # gzip named as well is covered by the sql pass, which decompresses the whole stream.
    result, m = integrity(tmp_path, bk, "db_*.sql.gz", "[gzip, sql]")
    assert (result.verdict.value, m.evidence["methods"]) == ("OK", ["sql"])


def test_gzip_truncated_by_a_few_bytes_is_crit(tmp_path, bk):
    data = gzip.compress(sql_text())
    (bk / "db_1.gz").write_bytes(data[:-5])
    result, m = integrity(tmp_path, bk, "db_*.gz", "gzip")
    assert result.verdict.value == "CRIT"
    assert result.summary == "db_1.gz (gzip): gzip: unexpected end of file"
    assert m.evidence["gzip"]["rc"] == 1


def test_gzip_with_a_flipped_byte_mid_stream_is_crit(tmp_path, bk):
    data = bytearray(gzip.compress(random.Random(3).randbytes(400_000)))
    data[len(data) // 2] ^= 0x55
    (bk / "db_1.gz").write_bytes(bytes(data))
    result, _ = integrity(tmp_path, bk, "db_*.gz", "gzip")
    assert result.verdict.value == "CRIT"
    assert result.summary.startswith("db_1.gz (gzip): gzip: ") and str(bk) not in result.summary
    assert any(word in result.summary for word in ("crc error", "invalid compressed data", "format violated"))


def test_good_gzip_is_ok(tmp_path, bk):
    (bk / "db_1.gz").write_bytes(gzip.compress(b"x" * 100_000))
    result, m = integrity(tmp_path, bk, "db_*.gz", "gzip")
    assert (result.verdict.value, result.summary, m.evidence["gzip"]) == ("OK", "db_1.gz (gzip)", {"rc": 0})


def test_tar_gz_with_required_members_is_ok_and_missing_one_is_crit(tmp_path, bk):
    make_tar(bk / "cfg_1.tar.gz", CONFIG)
    result, m = integrity(tmp_path, bk, "cfg_*", "auto", required_members="[.env, nginx.conf]")
    assert result.verdict.value == "OK" and result.summary == "cfg_1.tar.gz (tar)"
    assert m.evidence["tar"]["members"] == 3
    assert m.evidence["tar"]["required_members"] == {".env": True, "nginx.conf": True}
    make_tar(bk / "cfg_2.tar.gz", {k: v for k, v in CONFIG.items() if "nginx" not in k})
    result, m = integrity(tmp_path, bk, "cfg_*", "tar", required_members="[.env, nginx.conf]")
    assert result.verdict.value == "CRIT"
    assert result.summary == "cfg_2.tar.gz (tar): tar: required members missing: nginx.conf (2 members read)"


def test_truncated_tar_gz_and_truncated_plain_tar_are_crit(tmp_path, bk):
    data = make_tar(tmp_path / "x.tar.gz", CONFIG).read_bytes()
    (bk / "cfg_1.tar.gz").write_bytes(data[:-10])
    result, _ = integrity(tmp_path, bk, "cfg_*", "tar")
    assert result.verdict.value == "CRIT"
    assert result.summary.startswith("cfg_1.tar.gz (tar): tar: gzip: stdin: unexpected end of file")
    (bk / "cfg_1.tar.gz").unlink()
    # GNU tar lists this file without an error: the block arithmetic catches it.
    data = make_tar(tmp_path / "x.tar", CONFIG, mode="w").read_bytes()
    (bk / "cfg_1.tar").write_bytes(data[:-3000])
    result, _ = integrity(tmp_path, bk, "cfg_*", "tar", required_members="[.env]")
    assert result.verdict.value == "CRIT"
    assert result.summary.startswith("cfg_1.tar (tar): tar: ")
    assert "not a whole number of 512-byte tar blocks" in result.summary or "Unexpected EOF" in result.summary


def test_zip_with_a_bad_crc_is_crit(tmp_path, bk):
    payload = b"hello world " * 5000
    with zipfile.ZipFile(bk / "site_1.zip", "w", zipfile.ZIP_STORED) as z:
        z.writestr("index.html", payload)
        z.writestr("app.js", b"console.log(1)")
    result, _ = integrity(tmp_path, bk, "site_*.zip", "auto")
    assert (result.verdict.value, result.summary) == ("OK", "site_1.zip (zip)")
    data = bytearray((bk / "site_1.zip").read_bytes())
    data[data.find(payload) + 30_000] ^= 0xFF
    (bk / "site_1.zip").write_bytes(bytes(data))
    result, m = integrity(tmp_path, bk, "site_*.zip", "zip")
    assert result.verdict.value == "CRIT"
    assert result.summary.startswith("site_1.zip (zip): zip: index.html") and "bad CRC" in result.summary
    assert m.evidence["zip"]["rc"] == 2


def test_sha256_sidecar_match_mismatch_and_missing(tmp_path, bk):
    data = gzip.compress(b"payload" * 1000)
    (bk / "db_1.gz").write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    (bk / "db_1.gz.sha256").write_text(f"{digest}  db_1.gz\n")
    result, m = integrity(tmp_path, bk, "db_*", "[gzip, sha256]")
    assert (result.verdict.value, result.summary) == ("OK", "db_1.gz (gzip, sha256)")
    assert m.evidence["sha256"] == {"sidecar": "db_1.gz.sha256", "expected": digest, "actual": digest}

    (bk / "db_1.gz.sha256").write_text(f"{'0' * 64}  db_1.gz\n")
    result, m = integrity(tmp_path, bk, "db_*", "sha256")
    assert result.verdict.value == "CRIT"
    assert result.summary == f"db_1.gz (sha256): sha256: checksum mismatch: db_1.gz.sha256 says 0000000000000000…, file is {digest[:16]}…"

    (bk / "db_1.gz.sha256").unlink()
    (bk / "SHA256SUMS").write_text(f"{'1' * 64}  other.gz\n{digest} *./db_1.gz\n")
    result, m = integrity(tmp_path, bk, "db_*", "sha256")
    assert result.verdict.value == "OK" and m.evidence["sha256"]["sidecar"] == "SHA256SUMS"

    (bk / "SHA256SUMS").unlink()
    result, _ = integrity(tmp_path, bk, "db_*", "sha256")
    assert result.verdict.value == "CRIT"
    assert result.summary == "db_1.gz (sha256): sha256: no checksum file (db_1.gz.sha256 or SHA256SUMS) next to db_1.gz"


def test_sql_dump_without_its_trailer_is_crit(tmp_path, bk):
    (bk / "db_1.sql").write_bytes(sql_text()[: -len(TRAILER)])
    result, m = integrity(tmp_path, bk, "db_*", "auto")
    assert result.verdict.value == "CRIT"
    assert result.summary == "db_1.sql (sql): sql: incomplete dump: no '-- PostgreSQL database dump complete' trailer at the end"
    assert m.evidence["sql"]["tail"].endswith("\\.\n\n")
    (bk / "db_1.sql").unlink()
    (bk / "db_1.sql.gz").write_bytes(gzip.compress(sql_text()[:-500]))
    result, _ = integrity(tmp_path, bk, "db_*", "auto")
    assert result.verdict.value == "CRIT" and "incomplete dump" in result.summary
    (bk / "db_1.sql.gz").write_bytes(gzip.compress(sql_text())[:-8])
    result, _ = integrity(tmp_path, bk, "db_*", "auto")
    assert result.verdict.value == "CRIT" and result.summary.startswith("db_1.sql.gz (sql): sql: gzip: ")
    assert "unexpected end of file" in result.summary


def test_zstd_truncated_is_crit(tmp_path, bk):
    raw = tmp_path / "raw"
    raw.write_bytes(random.Random(5).randbytes(200_000))
    subprocess.run(["zstd", "-q", "-o", str(bk / "db_1.zst"), str(raw)], check=True)
    result, _ = integrity(tmp_path, bk, "db_*", "auto")
    assert (result.verdict.value, result.summary) == ("OK", "db_1.zst (zstd)")
    data = (bk / "db_1.zst").read_bytes()
    (bk / "db_1.zst").write_bytes(data[:-20])
    result, _ = integrity(tmp_path, bk, "db_*", "zstd")
    assert result.verdict.value == "CRIT" and result.summary.startswith("db_1.zst (zstd): zstd: ")


@pytest.fixture
def pg_dump_file(tmp_path):
    """A real pg_dump -Fc of a small database made for this test (dropped afterwards)."""
    from conftest import require_tcp

    require_tcp(*PG, "PostgreSQL")
    name = f"opscheck_t6_int_{uuid.uuid4().hex[:8]}"
    psql = ["psql", "-h", PG[0], "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1"]
    subprocess.run([*psql, "-d", "test", "-c", f"CREATE DATABASE {name}"], check=True)
    try:
        subprocess.run([*psql, "-d", name, "-c", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g"], check=True)
        path = tmp_path / "dump.dump"
        subprocess.run(["pg_dump", "-h", PG[0], "-U", "postgres", "-Fc", "-f", str(path), name], check=True)
        yield path
    finally:
        subprocess.run([*psql, "-d", "test", "-c", f"DROP DATABASE IF EXISTS {name}"], check=True)


def test_pg_custom_dump_read_whole_and_truncated(tmp_path, bk, pg_dump_file):
    data = pg_dump_file.read_bytes()
    (bk / "db_1.dump").write_bytes(data)
    result, m = integrity(tmp_path, bk, "db_*", "auto")
    assert (result.verdict.value, result.summary, m.evidence["pg_custom"]) == ("OK", "db_1.dump (pg_custom)", {"rc": 0})
    # `pg_restore --list` still passes this one: only reading the data blocks finds the cut.
    (bk / "db_1.dump").write_bytes(data[:-200])
    assert subprocess.run(["pg_restore", "--list", str(bk / "db_1.dump")], capture_output=True).returncode == 0
    result, _ = integrity(tmp_path, bk, "db_*", "pg_custom")
    assert result.verdict.value == "CRIT"
    assert result.summary.startswith("db_1.dump (pg_custom): pg_custom: pg_restore: error: ")


def test_redis_rdb_good_and_truncated(tmp_path, bk):
    from conftest import require_tcp

    require_tcp("127.0.0.1", 6379, "Redis")
    rdb = bk / "dump_1.rdb"
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "--rdb", str(rdb)], check=True, capture_output=True)
    result, _ = integrity(tmp_path, bk, "dump_*", "auto")
    assert (result.verdict.value, result.summary) == ("OK", "dump_1.rdb (rdb)")
    rdb.write_bytes(rdb.read_bytes()[:-12])
    result, m = integrity(tmp_path, bk, "dump_*", "rdb")
    assert result.verdict.value == "CRIT" and result.summary.startswith("dump_1.rdb (rdb): rdb: ")
    assert m.evidence["rdb"]["rc"] != 0


def test_auto_refuses_to_guess_an_unknown_type(tmp_path, bk):
    (bk / "db_1.bin").write_bytes(b"x")
    result, _ = integrity(tmp_path, bk, "db_*", "auto")
    assert result.verdict.value == "UNKNOWN"
    assert result.summary == "local:set: integrity: auto cannot tell the type of db_1.bin; name the method (gzip, tar, zip, ...)"


def test_tar_zst_good_and_truncated(tmp_path, bk):
    src = tmp_path / "src"
    (src / "conf").mkdir(parents=True)
    (src / "conf" / ".env").write_text("A=1\n")
    (src / "blob").write_bytes(random.Random(9).randbytes(300_000))
    subprocess.run(["tar", "--zstd", "-cf", str(bk / "cfg_1.tar.zst"), "-C", str(src), "."], check=True)
    result, m = integrity(tmp_path, bk, "cfg_*", "auto", required_members="[.env]")
    assert (result.verdict.value, result.summary) == ("OK", "cfg_1.tar.zst (tar)")
    assert m.evidence["tar"]["required_members"] == {".env": True}
    data = (bk / "cfg_1.tar.zst").read_bytes()
    (bk / "cfg_1.tar.zst").write_bytes(data[:-30])
    result, _ = integrity(tmp_path, bk, "cfg_*", "tar")
    assert result.verdict.value == "CRIT"
    assert result.summary.startswith("cfg_1.tar.zst (tar): tar: ")
