"""`send`: one message to one contact, once (see the package's docstring)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from typing import Any

from .model import FAILED, Contact, Message, Result, SmtpConfig, scrub

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
            module = importlib.import_module(f".{_MODULES[contact.kind]}", __package__)
            result = module.send(contact, message)
    except ModuleNotFoundError as error:
        result = Result(FAILED, f"{error.name} is not installed" if error.name else "a library is missing")
    except Exception as error:  # noqa: BLE001 - a channel's bug must not lose the other sends
        result = Result(FAILED, f"internal error ({type(error).__name__})")
    result = scrub(result, secrets)
    return Result(result.status, result.error, True, time.monotonic() - began)
