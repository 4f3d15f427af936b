"""Send a notice to every channel, retrying, and never hold up or fail the run.

Each channel runs on its own daemon thread with `attempts` tries of `timeout`
seconds each; the runner waits at most for the slowest channel's budget and then
moves on, recording a channel still stuck (a DNS lookup that ignores the socket
timeout, say) as failed. The outcome of every channel is returned as data for
the run's output and the state file.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass

from opscheck.notify import smtp, webhook
from opscheck.notify.message import Notice
from opscheck.notify.webhook import DeliveryFailed
from opscheck.redact import redact

BACKOFF_S = (0.5, 1.0, 2.0)


@dataclass
class Delivery:
    channel: str  # webhook:<name> or email:<name>
    ok: bool = False
    attempts: int = 0
    detail: str = "not attempted"
    duration_s: float = 0.0

    def line(self) -> str:
        tries = f" after {self.attempts} attempt{'s' if self.attempts != 1 else ''}" if not self.ok else ""
        return f"{self.channel}: {'sent' if self.ok else 'FAILED'}{tries} ({self.detail})"

    def to_dict(self) -> dict:
        return asdict(self)


def channels(config) -> list[tuple[str, object, object]]:
    """(label, sender module, channel config) for each configured channel."""
    out = []
    for i, hook in enumerate(config.webhooks):
        out.append((f"webhook:{hook.name or i + 1}", webhook, hook))
    for i, mail in enumerate(config.email):
        out.append((f"email:{mail.name or i + 1}", smtp, mail))
    return out


def send_all(config, notice: Notice) -> list[Delivery]:
    return deliver_all(config, [(label, sender, channel, notice) for label, sender, channel in channels(config)])


def deliver_all(config, work: list[tuple[str, object, object, object]]) -> list[Delivery]:
    """(label, sender module, channel config, payload) each on its own thread, within one budget."""
    jobs = []
    for label, sender, channel, notice in work:
        delivery = Delivery(label)
        thread = threading.Thread(
            target=_deliver, args=(sender, channel, notice, config, delivery), name=f"opscheck-{label}", daemon=True
        )
        thread.start()
        jobs.append((thread, delivery))
    budget = config.attempts * config.timeout + sum(BACKOFF_S[: config.attempts - 1]) + 2.0
    give_up = time.monotonic() + budget
    for thread, delivery in jobs:
        thread.join(max(0.0, give_up - time.monotonic()))
        if thread.is_alive():
            delivery.ok = False
            delivery.detail = f"gave up: still not answered after {budget:.0f}s"
    return [delivery for _, delivery in jobs]


def _deliver(sender, channel, notice, config, delivery: Delivery) -> None:
    started = time.monotonic()
    for attempt in range(1, config.attempts + 1):
        delivery.attempts = attempt
        try:
            delivery.detail = redact(sender.send(channel, notice, config.timeout))
            delivery.ok = True
            break
        except DeliveryFailed as exc:
            delivery.detail = redact(str(exc))
        except Exception as exc:  # noqa: BLE001 - a notification must never fail the run
            delivery.detail = redact(f"{type(exc).__name__}: {exc}")
        if attempt < config.attempts:
            time.sleep(BACKOFF_S[min(attempt - 1, len(BACKOFF_S) - 1)])
    delivery.duration_s = round(time.monotonic() - started, 3)
