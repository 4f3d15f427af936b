"""Send a notice through an SMTP relay: STARTTLS (or SMTPS) with verified certificates."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from opscheck.notify.message import Notice
from opscheck.notify.webhook import DeliveryFailed


def send(email, notice: Notice, timeout: float) -> str:
    message = EmailMessage()
    message["Subject"] = f"{email.subject_prefix} {notice.title()}".strip()
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    message.set_content(notice.text() + "\n")
    context = ssl.create_default_context(cafile=email.ca_file) if email.security != "none" else None
    try:
        if email.security == "ssl":
            client = smtplib.SMTP_SSL(email.host, email.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(email.host, email.port, timeout=timeout)
        with client:
            if email.security == "starttls":
                client.starttls(context=context)
            if email.username is not None:
                client.login(email.username.reveal(), email.password.reveal())
            refused = client.send_message(message)
    except smtplib.SMTPNotSupportedError as exc:
        raise DeliveryFailed(f"{email.host}:{email.port} does not offer it: {exc}") from None
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    except (OSError, ssl.SSLError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    if refused:
        raise DeliveryFailed(f"refused recipients: {', '.join(sorted(refused))}")
    return f"sent to {len(email.to)} recipient(s)"
