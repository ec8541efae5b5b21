"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives, for the tests of
sign-up confirmations and password resets."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.server import free_port

LINK_RE = re.compile(r"https?://\S+")


@dataclass
class Received:
    """One message as the server received it: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    def links(self) -> list[str]:
        return LINK_RE.findall(self.body)


@dataclass
class _Keeper:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 (its own thread and loop); ``messages`` fills as mail arrives."""

    def __init__(self) -> None:
        self.port = free_port()
        self._keeper = _Keeper()
        self._controller = Controller(self._keeper, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Received]:
        return self._keeper.messages

    def config(self, sender: str = "fedigen@fedigen.test") -> dict[str, Any]:
        """The [smtp] section pointing at this server (plain SMTP on loopback)."""
        return {"host": "127.0.0.1", "port": self.port, "tls": "none", "from": sender}

    def toml(self, sender: str = "fedigen@fedigen.test") -> str:
        return f'[smtp]\nhost = "127.0.0.1"\nport = {self.port}\ntls = "none"\nfrom = "{sender}"\n'

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.rcpt_tos]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The messages to ``address`` once there are ``count`` of them (mail is sent after the response
        in no case here, but the server's thread may lag a little)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.to(address)) >= count:
                return self.to(address)
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address} (got {[m.rcpt_tos for m in self.messages]})")

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
