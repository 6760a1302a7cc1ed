"""Pings and late heartbeats, on the caller's write transaction.

A ping is Core statements on `heartbeat` only, so `pager heartbeat` (the last
command of every cron job) starts as fast as `oncall`; the incident machinery
is loaded only when the ping has an incident to open (late, no tick yet) or
to resolve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Row

from ..errors import NotFound
from ..store import tables as m
from ..times import iso

_h = m.heartbeats.c
BY = "heartbeat"  # who resolves a heartbeat's incident


@dataclass
class Pinged:
    name: str
    at: datetime
    late_at: datetime  # when it goes late without another ping
    resolved: int | None = None  # the incident the ping resolved
    events: list = field(default_factory=list)  # of the incident it opened first (a late heartbeat no tick saw)

    def to_json(self) -> dict:
        return {"name": self.name, "pinged_at": iso(self.at), "late_at": iso(self.late_at),
                "resolved": self.resolved}


def _row(session, name: str) -> Row:  # noqa: ANN001 - a Session
    row = session.connection().execute(sa.select(m.heartbeats).where(_h.name == name)).first()
    if row is None:
        raise NotFound(f"no heartbeat {name!r}", hint="heartbeats are defined in the config file (`heartbeats:`)")
    return row


def ping(session, now: datetime, name: str) -> Pinged:  # noqa: ANN001 - a Session
    """Record a ping of `name` at `now`; its incident, if open, is resolved."""
    row = _row(session, name)
    events: list = []
    incident_id = row.incident_id
    if row.late_at is not None and row.late_at <= now:  # it went late and no tick has seen it: first that
        incident_id, events = go_late(session, row)
    late_at = now + timedelta(seconds=row.interval_s)
    session.connection().execute(sa.update(m.heartbeats).where(_h.name == name)
                                 .values(last_ping_at=now, late_at=late_at, incident_id=None))
    resolved = _resolve(session, now, incident_id) if incident_id is not None else None
    return Pinged(name, now, late_at, resolved, events)


def _resolve(session, now: datetime, incident_id: int) -> int | None:  # noqa: ANN001
    from ..errors import Conflict, UsageError
    from ..incidents import lifecycle

    incident = session.get(m.Incident, incident_id)
    if incident is None or incident.status == "resolved":
        return None
    try:
        lifecycle.resolve(session, now, incident, BY)
    except Conflict:  # require_ack_before_resolve: a person acknowledges first
        from ..escalation.engine import add_timeline

        add_timeline(session, incident.id, now, "held", "resolved by a heartbeat; needs an acknowledgement")
        return None
    except UsageError:  # a ping dated before the incident (--now)
        return None
    return incident.id


def title(name: str, last_ping: datetime | None) -> str:
    return f"heartbeat {name} missed (last ping {iso(last_ping) if last_ping else 'never'})"


def go_late(session, row: Row) -> tuple[int, list]:  # noqa: ANN001
    """Heartbeat `row` went late at its `late_at`: its incident opens at that
    instant (or the alert joins the open one with its key). Returns the
    incident's id and the events (pages) of opening it."""
    from ..incidents import lifecycle

    at = row.late_at
    outcome = lifecycle.trigger(session, at, row.service, title(row.name, row.last_ping_at), row.severity,
                                f"heartbeat:{row.name}")
    session.flush()
    session.connection().execute(sa.update(m.heartbeats).where(_h.name == row.name)
                                 .values(late_at=None, incident_id=outcome.incident.id))
    return outcome.incident.id, outcome.events


def due(session, now: datetime, limit: int) -> list[Row]:  # noqa: ANN001
    """Heartbeats late at `now`, the earliest first."""
    query = sa.select(m.heartbeats).where(_h.late_at <= now).order_by(_h.late_at, _h.name).limit(limit)
    return list(session.connection().execute(query))


def state(row: Row, now: datetime) -> str:
    """`late` (its incident is open, or it is due), `never` (not pinged yet), else `ok`."""
    if row.incident_id is not None or (row.late_at is not None and row.late_at <= now):
        return "late"
    return "never" if row.last_ping_at is None else "ok"


def rearm(session, now: datetime) -> None:  # noqa: ANN001
    """After `schedules apply`: every heartbeat that is not late is due at its
    last ping (or when it was applied) + its interval, as the config has it now."""
    conn = session.connection()
    rows = conn.execute(sa.select(_h.name, _h.applied_at, _h.last_ping_at, _h.interval_s, _h.late_at)
                        .where(_h.incident_id.is_(None))).all()
    for r in rows:
        late_at = (r.last_ping_at or r.applied_at) + timedelta(seconds=r.interval_s)
        if late_at != r.late_at:
            conn.execute(sa.update(m.heartbeats).where(_h.name == r.name).values(late_at=late_at))
