"""Outgoing email over SMTP (standard library ``smtplib`` and ``email``), set by ``[mail]``.

::

    [mail]
    host = "smtp.example.com"
    port = 587
    security = "starttls"          # or "ssl" (port 465) or "none" (a local relay)
    username = "billing@example.com"
    password = { env = "HUB_SMTP_PASSWORD" }
    from_address = "billing@example.com"

Every failure to hand a message to the server (connection refused, timeout, TLS, login, a 4xx
or 5xx answer) is a :class:`hub.errors.TransientError`: the send job retries it with backoff
and, after its last attempt, records it as failed (``hub send list --failed``). Mistakes no
retry can fix (no recipient, an unreadable password reference) are
:class:`hub.errors.PermanentError` or :class:`hub.errors.ConfigError`.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Callable, Iterable, Sequence

from hub.config import MailSettings
from hub.contract.connections import resolve_secrets
from hub.errors import PermanentError, TransientError
from hub.host.secrets import SecretBox

__all__ = ["Attachment", "Mailer", "SentMail", "parse_recipients"]


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class SentMail:
    """What the server accepted: the Message-ID and any recipients it refused."""

    message_id: str
    refused: dict[str, str]


def _text(value: bytes | str) -> str:
    """An SMTP server's reply text (bytes from smtplib) as a string."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


#: A comma or semicolon between two addresses (one inside a quoted display name is not).
_BETWEEN_ADDRESSES = re.compile(r'[,;](?=(?:[^"]*"[^"]*")*[^"]*$)')


def parse_recipients(value: str | Iterable[str] | None) -> list[str]:
    """Addresses from ``"a@x, Ann <b@y>"`` or a list; refuses anything that is not an address
    (by the rules of :func:`hub.validation.fields.check_email`, the organisation e-mail's too).
    Not ``email.utils.getaddresses``: a header parser, it drops what it cannot read (``ap@``
    became no recipient, and the send went to the organisation's address instead) and joins
    what it can (``ap@acme co.uk`` became ``ap@acmeco.uk``)."""
    from hub.validation.fields import check_email

    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    addresses, bad = [], []
    for piece in (p.strip() for item in items for p in _BETWEEN_ADDRESSES.split(item)):
        if not piece:
            continue
        try:
            addresses.append(check_email(piece, display_name=True))
        except ValueError:
            bad.append(piece[:80] + ("…" if len(piece) > 80 else ""))
    if bad:
        raise PermanentError(f"not an email address: {', '.join(bad)}",
                             hint="give addresses like name@example.com")
    return addresses


class Mailer:
    """Builds and sends messages with the ``[mail]`` settings.

    ``password`` is the resolved plaintext (see :meth:`from_settings`). ``smtp_factory`` is a
    seam for embedders; by default ``smtplib.SMTP``/``SMTP_SSL`` are used.
    """

    def __init__(self, settings: MailSettings, *, password: str | None = None,
                 sender_name: str | None = None,
                 smtp_factory: Callable[..., smtplib.SMTP] | None = None) -> None:
        self.settings = settings
        self._password = password
        self.sender_name = settings.from_name or sender_name
        self._smtp_factory = smtp_factory

    @classmethod
    def from_settings(cls, settings: MailSettings, box: SecretBox | None = None, *,
                      sender_name: str | None = None) -> "Mailer":
        """A mailer whose password reference (``{ env = ... }``/``{ encrypted = ... }``) is
        resolved now, so a missing variable is a clear error before anything is sent."""
        password = None
        if settings.password is not None:
            password = resolve_secrets(settings.password, box, "mail.password")
        return cls(settings, password=password, sender_name=sender_name)

    def build_message(self, to: Sequence[str], subject: str, body: str,
                      attachments: Iterable[Attachment] = ()) -> EmailMessage:
        """A plain-text message with attachments, ready for :meth:`send`."""
        if not to:
            raise PermanentError("the message has no recipient",
                                 hint="set the organisation's email or pass --to")
        message = EmailMessage()
        message["From"] = formataddr((self.sender_name or "", self.settings.from_address))
        message["To"] = ", ".join(to)
        if self.settings.reply_to:
            message["Reply-To"] = self.settings.reply_to
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        domain = self.settings.from_address.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body)
        for item in attachments:
            maintype, _, subtype = item.mime_type.partition("/")
            message.add_attachment(item.content, maintype=maintype, subtype=subtype,
                                   filename=item.filename)
        return message

    def _connect(self) -> smtplib.SMTP:
        cfg = self.settings
        if self._smtp_factory is not None:
            return self._smtp_factory(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        if cfg.security == "ssl":
            return smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout_seconds,
                                    context=ssl.create_default_context())
        return smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)

    def send(self, message: EmailMessage) -> SentMail:
        """Hand ``message`` to the SMTP server (plus the configured Bcc recipients).

        Raises :class:`~hub.errors.TransientError` when the server cannot be reached or does
        not accept the message; the message is then not sent to anyone.
        """
        cfg = self.settings
        where = f"SMTP server {cfg.host}:{cfg.port}"
        recipients = parse_recipients(message.get_all("To", [])) + list(cfg.bcc)
        try:
            with self._connect() as smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.username:
                    smtp.login(cfg.username, self._password or "")
                refused = smtp.send_message(message, from_addr=cfg.from_address,
                                            to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(f"{addr}: {code} {_text(text)}"
                               for addr, (code, text) in exc.recipients.items())
            raise TransientError(f"{where} refused every recipient ({detail})",
                                 hint="check the address; the send is retried") from None
        except smtplib.SMTPResponseException as exc:
            raise TransientError(f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}",
                                 hint="the send is retried; check [mail] if it keeps failing"
                                 ) from None
        except (smtplib.SMTPException, OSError) as exc:
            # OSError covers refused connections, timeouts, DNS and TLS failures.
            raise TransientError(f"{where} could not be reached: {type(exc).__name__}: {exc}",
                                 hint="check [mail] host/port/security; the send is retried"
                                 ) from None
        return SentMail(message_id=str(message["Message-ID"]),
                        refused={addr: f"{code} {_text(text)}"
                                 for addr, (code, text) in (refused or {}).items()})
