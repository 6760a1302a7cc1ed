"""What a channel works with: a contact as configured, the message to send, the
SMTP server for email, and the result of one send.

Nothing here imports a sending library; each kind's module does that itself,
when a send of that kind happens.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

KINDS = ("apprise", "webhook", "email", "command")
DEFAULT_TIMEOUT = 10.0  # seconds, PRODUCT.md §9

SENT = "sent"
RETRY = "retry"  # temporary: the outbox tries again later
FAILED = "failed"  # permanent: trying again will not help


def seconds(value: float | int | timedelta | None, default: float = DEFAULT_TIMEOUT) -> float:
    """A timeout given as seconds or a timedelta, as positive float seconds."""
    if value is None:
        return default
    result = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not result > 0:
        raise ValueError(f"a timeout must be positive, not {value!r}")
    return result


def show_seconds(value: float) -> str:
    """`10s`, `0.5s`: a duration as an error text shows it."""
    return f"{value:g}s"


@dataclass(frozen=True, repr=False)
class Contact:
    """One of a user's contacts (PRODUCT.md §9), as sending needs it.

    `target` is the Apprise URL, the webhook URL, the email address or the
    argv (a list, kept as a tuple). `headers` and `secret` are for webhooks,
    `env` adds variables to a command's environment (for tokens a script
    needs, instead of putting them in its argv where `ps` shows them).
    The repr shows the name and kind only: the target, headers, secret and env
    may hold tokens and must never reach a log line.
    """

    name: str
    kind: str
    target: str | tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    headers: tuple[tuple[str, str], ...] = ()
    secret: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    user: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"contact {self.name!r}: unknown kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.kind == "command":
            if isinstance(self.target, str) or not isinstance(self.target, Sequence) or not self.target:
                raise ValueError(f"contact {self.name!r}: a command is a non-empty list of arguments")
            object.__setattr__(self, "target", tuple(str(arg) for arg in self.target))
        elif not isinstance(self.target, str) or not self.target:
            raise ValueError(f"contact {self.name!r}: {self.kind} needs a target")
        object.__setattr__(self, "timeout", seconds(self.timeout))
        for name in ("headers", "env"):
            value = getattr(self, name)
            pairs = value.items() if isinstance(value, Mapping) else (value or ())
            object.__setattr__(self, name, tuple((str(k), str(v)) for k, v in pairs))

    def __repr__(self) -> str:
        return f"Contact(name={self.name!r}, kind={self.kind!r}, timeout={self.timeout:g})"

    def secrets(self) -> list[str]:
        """Every configured string that may hold a token, for scrubbing error texts."""
        found = [self.target] if isinstance(self.target, str) else []
        found += [v for _, v in self.headers] + [v for _, v in self.env]
        if self.secret:
            found.append(self.secret)
        return found


@dataclass(frozen=True, repr=False)
class SmtpConfig:
    """The `smtp:` section: where email contacts are sent through.
    `cafile` trusts a private CA (or a self-signed certificate) for TLS."""

    host: str
    port: int = 0  # 0: 465 for ssl, 587 for starttls, 25 for none
    tls: str = "starttls"
    sender: str = ""
    username: str | None = None
    password: str | None = None
    cafile: str | None = None

    def __post_init__(self) -> None:
        if self.tls not in ("starttls", "ssl", "none"):
            raise ValueError(f"smtp tls must be starttls, ssl or none, not {self.tls!r}")
        if not self.port:
            object.__setattr__(self, "port", {"ssl": 465, "starttls": 587, "none": 25}[self.tls])

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> SmtpConfig:
        """From the config file's shape: {host, port, tls, from, username, password}."""
        return cls(host=str(config["host"]), port=int(config.get("port") or 0), tls=str(config.get("tls", "starttls")),
                   sender=str(config.get("from") or config.get("sender") or ""),
                   username=config.get("username"), password=config.get("password"), cafile=config.get("cafile"))

    def __repr__(self) -> str:
        return f"SmtpConfig(host={self.host!r}, port={self.port}, tls={self.tls!r})"


@dataclass(frozen=True, eq=False)
class Message:
    """One delivery's JSON document (PRODUCT.md §9) and the id of the database
    it comes from, which with the delivery id makes the Idempotency-Key."""

    document: Mapping[str, Any]
    database_id: str = ""

    @property
    def text(self) -> str:
        """The subject / title line."""
        return str(self.document.get("text") or "")

    @property
    def delivery_id(self) -> object:
        return self.document.get("delivery")

    @property
    def idempotency_key(self) -> str:
        return f"{self.delivery_id}-{self.database_id}" if self.database_id else str(self.delivery_id)

    @cached_property
    def body(self) -> bytes:
        """The JSON document as sent (webhook body, command stdin): these exact
        bytes are what a webhook signature covers."""
        return json.dumps(self.document, ensure_ascii=False, separators=(",", ":"), default=str).encode()

    @cached_property
    def plain_text(self) -> str:
        """The human-readable body of an email or an Apprise notification."""
        from .text import plain_text

        return plain_text(self.document)


@dataclass(frozen=True)
class Result:
    """The outcome of one send. `error` says what went wrong in a few words
    (`HTTP 500`, `timed out after 10s`, `exit 3`) and never holds a URL, a
    header value, a token or a secret. `attempted` is False only for a job
    that `send_many` never started (its deadline came first)."""

    status: str
    error: str | None = None
    attempted: bool = True
    elapsed: float = 0.0

    @property
    def sent(self) -> bool:
        return self.status == SENT


def http_result(status: int) -> Result:
    """2xx sent; 408, 429 and 5xx retried; anything else (3xx too) failed."""
    if 200 <= status < 300:
        return Result(SENT)
    if status in (408, 429) or 500 <= status < 600:
        return Result(RETRY, f"HTTP {status}")
    return Result(FAILED, f"HTTP {status}")


_ERRNO_TEXT = {
    "ConnectionRefusedError": "connection refused",
    "ConnectionResetError": "connection reset",
    "ConnectionAbortedError": "connection aborted",
    "BrokenPipeError": "connection closed",
    "RemoteDisconnected": "connection closed without an answer",
}


def network_error(error: BaseException, timeout: float) -> Result:
    """A socket-level failure as a Result: temporary (retry), except a TLS
    certificate or protocol mismatch, which needs the configuration fixed.
    The text is built from the error's type and errno only, never its message."""
    import socket  # already loaded by anything that got here

    name = type(error).__name__
    if isinstance(error, (TimeoutError, socket.timeout)):
        return Result(RETRY, f"timed out after {show_seconds(timeout)}")
    if name == "SSLCertVerificationError":
        return Result(FAILED, "TLS certificate verify failed")
    if name.startswith("SSL"):
        reason = getattr(error, "reason", None)
        return Result(FAILED, f"TLS error{': ' + reason.lower().replace('_', ' ') if isinstance(reason, str) else ''}")
    if isinstance(error, socket.gaierror):
        return Result(RETRY, "cannot resolve host")
    if name in _ERRNO_TEXT:
        return Result(RETRY, _ERRNO_TEXT[name])
    if isinstance(error, OSError):
        import os

        reason = os.strerror(error.errno).lower() if error.errno else name
        return Result(RETRY, f"connection error: {reason}")
    return Result(RETRY, f"connection error: {name}")


def scrub(result: Result, secrets: list[str]) -> Result:
    """`result` with any configured secret string masked out of its error: a
    last guard behind error texts that are built not to hold them."""
    if not result.error:
        return result
    text = result.error
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return result if text == result.error else Result(result.status, text, result.attempted, result.elapsed)


@dataclass(frozen=True)
class Job:
    """One send for `send_many`: a contact, a message, and the SMTP server
    for an email contact."""

    contact: Contact
    message: Message
    smtp: SmtpConfig | Mapping[str, Any] | None = field(default=None, repr=False)
