"""`email:` contacts: one plain-text mail through the `smtp:` server
(PRODUCT.md §9), subject = the delivery's text. TLS is `starttls`, `ssl`
(implicit TLS) or `none`; certificates are verified (against `cafile` when
the server's CA is private).

SMTP 4xx answers, dropped connections and timeouts are temporary (retry);
5xx answers, a refused login and TLS that cannot be set up are not (failed).
Error texts carry the SMTP code, never the server's words (they may echo the
username or an address).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from ...safetext import one_line
from .model import FAILED, RETRY, SENT, Contact, Message, Result, SmtpConfig, network_error

_contexts: dict[str | None, ssl.SSLContext] = {}


def _context(cafile: str | None) -> ssl.SSLContext:
    if cafile not in _contexts:
        _contexts[cafile] = ssl.create_default_context(cafile=cafile)
    return _contexts[cafile]


def _mail(contact: Contact, message: Message, smtp: SmtpConfig) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = one_line(message.text)[:900]
    mail["From"] = smtp.sender or (smtp.username or "pager")
    mail["To"] = str(contact.target)
    mail["Date"] = formatdate(localtime=False, usegmt=True)
    mail["Message-ID"] = make_msgid(idstring=f"pager.{message.idempotency_key}")
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(message.plain_text)
    return mail


def _code(error: smtplib.SMTPException) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return min(codes) if codes else None
    return getattr(error, "smtp_code", None)


def _smtp_error(error: smtplib.SMTPException, timeout: float) -> Result:
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return Result(RETRY, "SMTP connection closed")
    if isinstance(error, smtplib.SMTPNotSupportedError):
        offered = "STARTTLS" if "STARTTLS" in str(error) else "login (AUTH)"
        return Result(FAILED, f"SMTP server does not offer {offered}")
    code = _code(error)
    if code is None:  # e.g. no authentication method both sides know
        return Result(FAILED, f"SMTP error ({type(error).__name__})")
    what = "SMTP login refused" if isinstance(error, smtplib.SMTPAuthenticationError) else "SMTP"
    return Result(RETRY if 400 <= code < 500 else FAILED, f"{what} {code}")


def send(contact: Contact, message: Message, smtp: SmtpConfig | Mapping[str, Any] | None) -> Result:
    if smtp is None:
        return Result(FAILED, "no smtp server configured")
    if not isinstance(smtp, SmtpConfig):
        smtp = SmtpConfig.from_mapping(smtp)
    try:
        mail = _mail(contact, message, smtp)
    except ValueError:
        return Result(FAILED, "bad email address")
    timeout = contact.timeout
    try:
        if smtp.tls == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=_context(smtp.cafile))
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            if smtp.tls == "starttls":
                client.starttls(context=_context(smtp.cafile))
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(mail)
    except smtplib.SMTPException as error:
        return _smtp_error(error, timeout)
    except (OSError, ssl.SSLError) as error:
        return network_error(error, timeout)
    return Result(SENT)
