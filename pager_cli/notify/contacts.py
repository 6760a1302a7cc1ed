"""The stored contacts, notify rules and SMTP server (what `schedules apply`
wrote, PRODUCT.md §9), read back as the outbox needs them.

Secrets are stored resolved, so that `escalate-check` can send from cron
whatever its environment (see `config.apply`). They only ever leave this
module inside a `channels.Contact` (whose repr shows name and kind only) or
the SMTP mapping handed to the email channel.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from ..store import tables as m
from .channels import Contact


@dataclass(frozen=True)
class StoredContact:
    contact: Contact
    updates: bool
    rate_count: int
    rate_window: timedelta


def _contact(row: sa.Row) -> StoredContact:
    target = tuple(row.target) if isinstance(row.target, list) else row.target
    contact = Contact(row.name, row.kind, target, timeout=row.timeout_s, headers=dict(row.headers or {}),
                      secret=row.secret, user=row.user)
    return StoredContact(contact, bool(row.updates), row.rate_count, timedelta(seconds=row.rate_window_s))


def contacts_of(session: Session, users: Iterable[str]) -> dict[tuple[str, str], StoredContact]:
    """(user, contact name) → the stored contact, for every contact of `users`."""
    names = sorted(set(users))
    if not names:
        return {}
    t = m.contacts
    rows = session.connection().execute(sa.select(t).where(t.c.user.in_(names)).order_by(t.c.user, t.c.position))
    return {(row.user, row.name): _contact(row) for row in rows}


def rules_of(session: Session, user: str) -> list[tuple[int, str, timedelta]]:
    """(position, contact, after) of each notify rule of `user`, cached for the
    session: a batch of escalations pages the same people again and again."""
    cache = session.info.setdefault("pager_notify_rules", {})
    if user not in cache:
        t = m.notify_rules.c
        rows = session.connection().execute(
            sa.select(t.position, t.contact, t.after_s).where(t.user == user).order_by(t.position))
        cache[user] = [(r.position, r.contact, timedelta(seconds=r.after_s)) for r in rows]
    return cache[user]


def smtp(session: Session) -> dict[str, Any] | None:
    """The `smtp:` section as applied, or None."""
    t = m.settings.c
    value = session.connection().execute(sa.select(t.value).where(t.key == "smtp")).scalar()
    return json.loads(value) if value else None


def database_id(session: Session) -> str:
    """This database's id (made on first use, in the caller's write
    transaction): with a delivery id it makes a webhook's Idempotency-Key."""
    t = m.instance
    found = session.connection().execute(sa.select(t.c.value).where(t.c.key == "database_id")).scalar()
    if found is None:
        found = uuid.uuid4().hex[:16]
        session.connection().execute(sa.insert(t).values(key="database_id", value=found))
    return found


def serve_settings(session: Session) -> dict[str, Any] | None:
    """The `serve:` section as applied, or None."""
    t = m.settings.c
    value = session.connection().execute(sa.select(t.value).where(t.key == "serve")).scalar()
    return json.loads(value) if value else None


def ack_key(session: Session) -> bytes:
    """The key that signs ack links (made on first use, in the caller's write
    transaction; read-only callers get it once a link was made)."""
    import secrets

    t = m.instance
    found = session.connection().execute(sa.select(t.c.value).where(t.c.key == "ack_link_key")).scalar()
    if found is None:
        found = secrets.token_hex(32)
        session.connection().execute(sa.insert(t).values(key="ack_link_key", value=found))
    return bytes.fromhex(found)
