"""POST a notice to a webhook: Slack's `{"text": ...}` or the generic JSON document."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from opscheck import __version__
from opscheck.notify.message import Notice


class DeliveryFailed(Exception):
    """The channel did not take the notice; the message says why, without secrets."""


def send(webhook, notice: Notice, timeout: float) -> str:
    body = {"text": notice.text()} if webhook.format == "slack" else notice.document()
    headers = {"Content-Type": "application/json", "User-Agent": f"opscheck/{__version__}"}
    headers.update({name: value.reveal() for name, value in webhook.headers.items()})
    request = urllib.request.Request(
        webhook.url.reveal(), data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        raise DeliveryFailed(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryFailed(f"{type(reason).__name__}: {reason}") from None
