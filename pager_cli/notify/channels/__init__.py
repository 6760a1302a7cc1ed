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
from .one import send
from .parallel import DEFAULT_DEADLINE, DEFAULT_PARALLEL, send_many

__all__ = [
    "DEFAULT_DEADLINE", "DEFAULT_PARALLEL", "DEFAULT_TIMEOUT", "FAILED", "KINDS", "RETRY", "SENT",
    "Contact", "Job", "Message", "Result", "SmtpConfig", "send", "send_many",
]
