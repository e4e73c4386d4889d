"""Email over SMTP (aiosmtplib); the Message-ID is derived from the alert keys so mail clients can fold a resend."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from services.notify.channels.base import AlertItem, ChannelError, title
from services.notify.config import Target


@dataclass
class Email:
    target: Target
    timeout: float = 10.0

    def message(self, items: list[AlertItem]) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[规划台账] {title(items)}"
        msg["From"] = self.target.sender or "ledger@localhost"
        msg["To"] = ", ".join(self.target.to)
        digest = hashlib.sha256("\n".join(sorted(i.alert_key for i in items)).encode()).hexdigest()[:32]
        msg["Message-ID"] = f"<{digest}@ledger.alerts>"
        msg.set_content("\n".join(item.line() for item in items) + "\n")
        return msg

    async def send(self, items: list[AlertItem]) -> None:
        try:
            await aiosmtplib.send(self.message(items), hostname=self.target.host, port=self.target.port,
                                  username=self.target.username or None,
                                  password=self.target.secret or None if self.target.username else None,
                                  start_tls=self.target.starttls, timeout=self.timeout)
        except aiosmtplib.SMTPResponseException as err:
            raise ChannelError(f"SMTP {err.code}: {err.message}", retryable=400 <= err.code < 500) from None
        except (aiosmtplib.SMTPException, OSError) as err:
            raise ChannelError(f"SMTP: {type(err).__name__}: {err}") from None
