"""env:/file: secret references: resolved at load, masked everywhere, clear errors when missing."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from opscheck.inventory.types import MaybeSecret, SecretValue, Strict
from opscheck.redact import redact


class Holder(Strict):
    token: SecretValue | None = None
    url: MaybeSecret | None = None


def test_env_secret_is_read_and_masked(monkeypatch):
    monkeypatch.setenv("OPSCHECK_TEST_TOKEN", "s3cr3t-t0ken-value")
    holder = Holder.model_validate({"token": "env:OPSCHECK_TEST_TOKEN"})
    assert holder.token.reveal() == "s3cr3t-t0ken-value"
    assert "s3cr3t" not in repr(holder) and "s3cr3t" not in str(holder.token)
    assert "s3cr3t" not in holder.model_dump_json()
    assert redact("header was s3cr3t-t0ken-value here") == "header was *** here"


def test_file_secret_relative_to_inventory(tmp_path):
    (tmp_path / "pw").write_text("filepass-123\n")
    holder = Holder.model_validate({"token": "file:pw"}, context={"base_dir": str(tmp_path)})
    assert holder.token.reveal() == "filepass-123"
    assert redact("x filepass-123 y") == "x *** y"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("env:OPSCHECK_SURELY_UNSET", "environment variable OPSCHECK_SURELY_UNSET is not set"),
        ("file:/nonexistent/secret", "secret file /nonexistent/secret does not exist"),
        ("hunter2-literal", "secrets do not belong in the inventory: use env:NAME or file:/path"),
    ],
)
def test_secret_errors(value, message):
    with pytest.raises(ValidationError) as caught:
        Holder.model_validate({"token": value})
    assert message in str(caught.value)


def test_maybe_secret_accepts_a_literal_without_registering_it():
    holder = Holder.model_validate({"url": "http://localhost:8081/health"})
    assert holder.url.reveal() == "http://localhost:8081/health"
    assert redact("http://localhost:8081/health") == "http://localhost:8081/health"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://app:pa55word@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("Authorization: Bearer abc.def.ghi", "Authorization: ***"),
        ("GET /login?user=a&password=xyz&x=1", "GET /login?user=a&password=***&x=1"),
        ('{"api_key": "k-123", "ok": true}', '{"api_key": "***", "ok": true}'),
        ("host=db dbname=x password=pw1 user=u", "host=db dbname=x password=*** user=u"),
        ("plain text stays", "plain text stays"),
    ],
)
def test_patterns(text, masked):
    assert redact(text) == masked
