"""Sending email (sign-up confirmations, password resets) through the SMTP server of ``[smtp]``.

Python's smtplib, run in a thread so the event loop never waits on the mail server. Callers send after
their transaction has committed: a slow or failing mail server never holds a database lock, and a
message is never sent for something that was rolled back.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from fedigen.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    """One message to one address."""

    to: str
    subject: str
    body: str


def configured(settings: Settings) -> bool:
    """Whether the instance can send mail."""
    return bool(settings.smtp.host)


def sender(settings: Settings) -> str:
    """The From address: ``[smtp] from``, else fedigen@ the instance's host name."""
    return settings.smtp.from_address or f"fedigen@{urlsplit(settings.base_url).hostname}"


def _message(settings: Settings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender(settings)
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname)
    message.set_content(mail.body)
    return message


def _send_blocking(settings: Settings, message: EmailMessage) -> None:
    smtp = settings.smtp
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.tls == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    with client:
        if smtp.tls == "starttls":
            client.starttls(context=context)
        if smtp.username:
            client.login(smtp.username, smtp.password)
        client.send_message(message)


async def send(settings: Settings, mail: Mail) -> bool:
    """Send one message; False (logged) when SMTP is not configured or the server refused it."""
    if not configured(settings):
        return False
    try:
        await asyncio.to_thread(_send_blocking, settings, _message(settings, mail))
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail to %s not sent: %s", mail.to, exc)
        return False
    return True
