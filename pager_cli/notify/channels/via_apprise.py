"""`apprise:` contacts: any service Apprise supports (PRODUCT.md §9), title =
the delivery's text, body = its plain text. One Apprise object per send of a
contact, never shared: some plugins wait between requests on one object.

Apprise answers with success or failure only. Its log lines (captured for the
call, never shown) give an HTTP status for most plugins (`error=404`): that
status is judged as for a webhook (4xx but 408/429 failed, the rest retried).
A failure with no status — a connection error, a timeout, a plugin that says
nothing — is `retry`: most of them are transient, and the outbox gives up after
three attempts. A URL Apprise cannot load is `failed`.

Apprise's URLs hold tokens, and its log records and results show them
unmasked: the `apprise` and `urllib3` loggers are cut off from the process's
logging when this module loads (no handler of ours or the user's ever sees
them), and nothing from a result but a status code and a few words is kept.
"""

from __future__ import annotations

import inspect
import logging
import re

import apprise

from .model import FAILED, RETRY, SENT, Contact, Message, Result, http_result, show_seconds

for _name in ("apprise", "urllib3"):
    _logger = logging.getLogger(_name)
    _logger.propagate = False
    _logger.handlers[:] = [logging.NullHandler()]

# Apprise 2 captures each call's log lines into its result (older ones answer True/False).
_CAPTURES = "log_level" in inspect.signature(apprise.Apprise.notify).parameters
_STATUS = re.compile(r"error=(\d{3})\b")


def _messages(result: object) -> list[str]:
    logs = getattr(result, "logs", None)
    if not callable(logs):
        return []
    try:
        return [str(getattr(entry, "message", "")) for entry in logs()]
    except Exception:  # noqa: BLE001 - reading diagnostics must not turn a result into a crash
        return []


def _judge(result: object, timeout: float) -> Result:
    if bool(result):
        return Result(SENT)
    status = getattr(result, "status", None)
    if getattr(status, "name", None) == "NOMATCH":
        return Result(FAILED, "apprise: no service to notify")
    if getattr(status, "name", None) == "TIMEOUT":
        return Result(RETRY, f"timed out after {show_seconds(timeout)}")
    messages = _messages(result)
    codes = [int(m.group(1)) for text in messages for m in _STATUS.finditer(text)]
    if codes:
        return http_result(codes[-1])
    if any("timed out" in text.lower() or "timeout" in text.lower() for text in messages):
        return Result(RETRY, f"timed out after {show_seconds(timeout)}")
    if any("connection" in text.lower() for text in messages):
        return Result(RETRY, "apprise: connection error")
    return Result(RETRY, "apprise: not delivered")


def send(contact: Contact, message: Message) -> Result:
    plugin = apprise.Apprise.instantiate(str(contact.target))
    if not plugin:
        return Result(FAILED, "not a URL Apprise can send to")
    for attribute in ("socket_connect_timeout", "socket_read_timeout"):
        if hasattr(plugin, attribute):
            setattr(plugin, attribute, contact.timeout)
    notifier = apprise.Apprise()
    notifier.add(plugin)
    extra = {"log_level": logging.DEBUG} if _CAPTURES else {}
    result = notifier.notify(body=message.plain_text, title=message.text, **extra)
    return _judge(result, contact.timeout)
