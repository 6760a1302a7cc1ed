"""Channels: the code that actually sends a message to a person (PRODUCT.md §9).

    from . import Contact, Message, send, send_many, Job

    hook = Contact("hook", "webhook", "https://hooks.example.com/pager", secret=..., timeout=10)
    result = send(hook, Message(delivery_document, database_id="…"))
    result.status   # "sent" | "retry" (temporary) | "failed" (permanent)
    result.error    # "HTTP 500", "timed out after 10s", "exit 3" — never a URL, header or secret

    results = send_many([Job(contact, message, smtp), …], deadline_s=20, parallel=16)

The outbox (claims, attempts, rates, digests) is built on this and owns every
decision about the database; a channel only sends and says how it went.

Importing this package imports no sending library: apprise, smtplib,
http.client, urllib.request and ssl are imported by a kind's module, the first
time a send of that kind happens.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from typing import Any

from .model import (
    DEFAULT_TIMEOUT,
    FAILED,
    KINDS,
    RETRY,
    SENT,
    Contact,
    Job,
    Message,
    Result,
    SmtpConfig,
    scrub,
)
from .parallel import DEFAULT_DEADLINE, DEFAULT_PARALLEL, send_many

__all__ = [
    "DEFAULT_DEADLINE", "DEFAULT_PARALLEL", "DEFAULT_TIMEOUT", "FAILED", "KINDS", "RETRY", "SENT",
    "Contact", "Job", "Message", "Result", "SmtpConfig", "send", "send_many",
]

_MODULES = {"apprise": "via_apprise", "webhook": "webhook", "email": "mail", "command": "command"}


def send(contact: Contact, message: Message, smtp: SmtpConfig | Mapping[str, Any] | None = None) -> Result:
    """Send `message` to `contact` once, within the contact's timeout, and say
    how it went. Never raises for anything the receiver or the network does;
    an unexpected error inside a channel is `failed` with the error's type only."""
    began = time.monotonic()
    secrets = contact.secrets()
    try:
        if contact.kind == "email":
            if isinstance(smtp, Mapping):
                try:
                    smtp = SmtpConfig.from_mapping(smtp)
                except (KeyError, TypeError, ValueError):
                    return Result(FAILED, "bad smtp configuration")
            if smtp is not None:
                secrets += [s for s in (smtp.password, smtp.username) if s]
            from . import mail

            result = mail.send(contact, message, smtp)
        else:
            module = importlib.import_module(f".{_MODULES[contact.kind]}", __name__)
            result = module.send(contact, message)
    except ModuleNotFoundError as error:
        result = Result(FAILED, f"{error.name} is not installed" if error.name else "a library is missing")
    except Exception as error:  # noqa: BLE001 - a channel's bug must not lose the other sends
        result = Result(FAILED, f"internal error ({type(error).__name__})")
    result = scrub(result, secrets)
    return Result(result.status, result.error, True, time.monotonic() - began)
