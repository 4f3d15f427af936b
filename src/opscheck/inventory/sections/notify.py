"""`notify:` — where `opscheck run` sends verdict changes (webhooks: Slack or JSON; email) and
the state of every non-OK check (Alertmanager)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from opscheck.inventory.types import (
    Duration,
    MaybeSecret,
    SecretValue,
    Strict,
    Timeout,
    as_list,
    str_or_list,
)


class Webhook(Strict):
    """POST to a URL: `slack` sends `{"text": ...}`, `json` every changed check as data."""

    name: str | None = None
    url: MaybeSecret  # Slack webhook URLs are credentials: prefer env:
    format: Literal["slack", "json"] = "slack"
    headers: dict[str, MaybeSecret] = Field(default_factory=dict)


class Email(Strict):
    """One SMTP relay and its recipients; STARTTLS by default."""

    name: str | None = None
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: MaybeSecret | None = None
    password: SecretValue | None = None
    ca_file: str | None = None  # a private CA that signs the relay's certificate
    sender: str = Field(alias="from")
    to: Annotated[list[str], BeforeValidator(str_or_list)]  # one address or a list
    subject_prefix: str = "[opscheck]"

    @model_validator(mode="after")
    def _credentials_paired(self):
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        if not self.to:
            raise ValueError("to: expected at least one address")
        return self


class Alertmanager(Strict):
    """An Alertmanager (v2 API): every run posts its non-OK checks as alerts, and resolves recovered ones."""

    name: str | None = None
    url: MaybeSecret  # http://alertmanager:9093 (the /api/v2/alerts path is added)
    headers: dict[str, MaybeSecret] = Field(default_factory=dict)
    valid_for: Duration = 26 * 3600.0  # firing alerts expire unless the next run renews them


class NotifySection(Strict):
    webhooks: Annotated[list[Webhook], BeforeValidator(as_list)] = Field(default_factory=list)
    email: Annotated[list[Email], BeforeValidator(as_list)] = Field(default_factory=list)
    alertmanager: Annotated[list[Alertmanager], BeforeValidator(as_list)] = Field(default_factory=list)
    remind_every: int = Field(default=0, ge=0)  # runs; 0: no reminders
    report_url: str | None = None  # base URL the run folders are served under (opscheck serve)
    timeout: Timeout = 5.0  # per attempt
    attempts: int = Field(default=3, ge=1, le=10)
