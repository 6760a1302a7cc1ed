"""A contact's `rate` (PRODUCT.md §9): at most N sends (sent, sending or
unknown) in any window. Past it, due deliveries are held (`bundled`); as soon
as the window allows one more send, every held delivery of that contact goes
out as ONE `digest` delivery naming all their incidents — an alert storm of 500
incidents sends a person a handful of messages, not 500.

A bundled row keeps state `bundled` for good; `bundle_id` names the digest that
carried it, whose own state says how that went. A digest and a test message
are never held themselves (they count against the rate all the same).
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from ..store import tables as m

d = m.deliveries
COUNTED = ("sent", "sending", "unknown")
NEVER_HELD = ("digest", "test")


def _waiting(pair: tuple[str, str]) -> sa.ColumnElement:
    return sa.and_(d.c.user == pair[0], d.c.contact == pair[1], d.c.state == "bundled", d.c.bundle_id.is_(None))


def waiting_contacts(session: Session) -> list[tuple[str, str]]:
    """(user, contact) of every contact with held deliveries no digest took yet."""
    rows = session.connection().execute(
        sa.select(d.c.user, d.c.contact).where(d.c.state == "bundled", d.c.bundle_id.is_(None)).distinct())
    return sorted((r.user, r.contact) for r in rows)


def drop_waiting(session: Session, pair: tuple[str, str], now: datetime) -> None:
    """The contact is gone from the config: what it held fails."""
    session.connection().execute(d.update().where(_waiting(pair)).values(
        state="failed", error="the contact is no longer configured"))


def sends_in_window(session: Session, pair: tuple[str, str], since: datetime) -> int:
    query = sa.select(sa.func.count()).select_from(d).where(
        d.c.user == pair[0], d.c.contact == pair[1], d.c.claimed_at > since, d.c.state.in_(COUNTED))
    return session.connection().execute(query).scalar_one()


def apply_rate(session: Session, pair: tuple[str, str], contact: Any, rows: list[Any], waiting: bool,
               now: datetime) -> list[Any]:
    """Of the due `rows` of one contact, those to claim now; hold the others,
    and add a digest of everything held when the window allows it. `waiting`:
    the contact already holds deliveries."""
    always = [r for r in rows if r.event in NEVER_HELD]
    others = [r for r in rows if r.event not in NEVER_HELD]
    room = contact.rate_count - sends_in_window(session, pair, now - contact.rate_window) - len(always)
    if not waiting and len(others) <= room:
        return rows
    keep = [] if waiting else others[:max(room, 0)]
    held = others[len(keep):]
    conn = session.connection()
    if held:
        conn.execute(d.update().where(d.c.id.in_([r.id for r in held])).values(state="bundled"))
    room -= len(keep)
    take = always + keep
    if waiting and room >= 1:
        digest_id = conn.execute(sa.insert(d).values(
            incident_id=None, user=pair[0], contact=pair[1], event="digest", rule=0, level=None, step=None,
            due_at=now, state="pending", attempts=0, created_at=now)).inserted_primary_key[0]
        conn.execute(d.update().where(_waiting(pair)).values(bundle_id=digest_id))
        take.append(SimpleNamespace(id=digest_id, user=pair[0], contact=pair[1], event="digest"))
    return take


def bundled_incidents(session: Session, digest_ids: list[int]) -> dict[int, list[int]]:
    """digest id → the incidents it names, each once, oldest first."""
    if not digest_ids:
        return {}
    rows = session.connection().execute(
        sa.select(d.c.bundle_id, d.c.incident_id).where(d.c.bundle_id.in_(digest_ids), d.c.incident_id.is_not(None))
        .order_by(d.c.incident_id))
    out: dict[int, list[int]] = {i: [] for i in digest_ids}
    for row in rows:
        if row.incident_id not in out[row.bundle_id]:
            out[row.bundle_id].append(row.incident_id)
    return out
