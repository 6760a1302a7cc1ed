"""The incident timers: snooze (an acknowledged incident triggered again at
its level when it runs out, by the escalation engine's `_wake`) and
auto-resolve (open with no new alert for the service's `auto_resolve`).

`auto_resolve_at` is where a due read finds an incident, at the earliest: an
alert does not move it (the batch ingest stays one UPDATE per batch); when it
comes due, the real instant is last alert + auto_resolve, and it moves there
if that is later.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ..config import catalog
from ..errors import Conflict, UsageError
from ..escalation import engine as escalation
from ..escalation.engine import Event, add_timeline
from ..store import tables as m
from ..times import format_duration, iso

BY = "auto-resolve"


def snooze(session: Session, now: datetime, incident: m.Incident, length: timedelta, by: str | None = None) -> m.Incident:
    """Snooze acknowledged `incident` for `length`: triggered again at its current level then."""
    if incident.status != "acknowledged":
        raise Conflict(f"cannot snooze incident #{incident.id}: it is {incident.status}",
                       hint="only an acknowledged incident can be snoozed" +
                            (f"; `pager ack {incident.id}` first" if incident.status == "triggered" else ""))
    if length <= timedelta(0):
        raise UsageError("a snooze must be longer than 0s")
    until = now + length
    incident.snoozed_until = until
    incident.next_escalation_at = until
    add_timeline(session, incident.id, now, "snoozed", f"until {iso(until)}", by=by)
    session.add(incident)
    return incident


def due_ids(session: Session, now: datetime, limit: int) -> list[tuple[datetime, int]]:
    t = m.Incident.__table__.c
    query = sa.select(t.auto_resolve_at, t.id).where(t.auto_resolve_at <= now).order_by(t.auto_resolve_at, t.id)
    return [tuple(r) for r in session.connection().execute(query.limit(limit))]


def auto_resolve(session: Session, incident: m.Incident, now: datetime) -> list[Event]:
    """`incident`'s auto-resolve came due by `now`: resolved at last alert +
    auto_resolve (not before its due instant), its escalation steps due before
    that done first; or moved to that instant if it is later than `now`."""
    due = incident.auto_resolve_at
    svc = catalog.find_service(session, incident.service)
    if incident.status == "resolved" or svc is None or not svc.auto_resolve_s:
        incident.auto_resolve_at = None
        session.add(incident)
        return []
    length = timedelta(seconds=svc.auto_resolve_s)
    at = max(incident.last_alert_at + length, due)
    if at > now:
        incident.auto_resolve_at = at
        session.add(incident)
        return []
    events = escalation.advance(session, incident, at)  # what came due before it, in order
    incident.auto_resolve_at = None
    if incident.status == "resolved":
        return events
    from ..incidents import lifecycle

    try:
        lifecycle.resolve(session, at, incident, BY)
    except Conflict:  # require_ack_before_resolve: a person acknowledges first
        add_timeline(session, incident.id, at, "held", "auto-resolve: needs an acknowledgement")
        session.add(incident)
        return events
    text = f"{incident.service}: no alert for {format_duration(length.total_seconds())}: resolved"
    return events + [Event("resolved", incident.id, at, text)]


def load(session: Session, ids: list[int]) -> dict[int, m.Incident]:
    return {i.id: i for i in session.exec(select(m.Incident).where(col(m.Incident.id).in_(ids)))}


def rearm(session: Session, now: datetime, services: dict[str, int | None]) -> None:
    """After `schedules apply` changed the `auto_resolve` of `services` (name →
    seconds or None): their open incidents are due now at the earliest (the
    real instant is worked out then), or not at all."""
    t = m.Incident.__table__.c
    for name, seconds in services.items():
        query = sa.update(m.Incident.__table__).where(t.service == name, m.is_open())
        if seconds:
            query = query.where(sa.or_(t.auto_resolve_at.is_(None), t.auto_resolve_at > now)).values(auto_resolve_at=now)
        else:
            query = query.where(t.auto_resolve_at.is_not(None)).values(auto_resolve_at=None)
        session.connection().execute(query)
