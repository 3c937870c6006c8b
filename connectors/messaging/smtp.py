"""E-mail notifications over SMTP (stdlib smtplib; STARTTLS and login when configured)."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from mom.connectors.messaging.robots import DeliveryError


def send_mail(*, host: str, port: int, sender: str, to: list[str], subject: str, body: str, user: str = "",
              password: str = "", starttls: bool = False, message_id: str | None = None, timeout: float = 15.0,
              attachments: list[tuple[str, bytes, str]] | None = None) -> None:
    if not host:
        raise DeliveryError("no SMTP server configured (MOM_SMTP_HOST)")
    if not to:
        return
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), subject
    msg["Message-ID"] = message_id or make_msgid(domain="mom.local")
    msg.set_content(body or subject)
    for filename, data, content_type in attachments or []:
        main, _, sub = (content_type.split(";")[0].strip() or "application/octet-stream").partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub or "octet-stream", filename=filename)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls()
            if user:
                smtp.login(user, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {host}:{port}: {exc}") from None
