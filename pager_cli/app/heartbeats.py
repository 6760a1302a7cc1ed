"""The heartbeat commands: `pager heartbeat NAME` (`ping`, which `serve` also
calls for POST /heartbeat/{name}) and `pager heartbeats` (`listing`).

`ping` is the last command of every cron job: it opens the database, runs a
few Core statements on `heartbeat` and loads the incident machinery only when
it resolves (or first opens) an incident."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..times import format_duration, iso


def ping(db, clock: Callable[[], datetime], name: str):  # noqa: ANN001, ANN201 - a Database; a heartbeats.beat.Pinged
    """Record a ping of heartbeat `name` at `clock()`; resolves its incident
    (by `heartbeat`). NotFound (exit 3) for an unknown name. The deliveries
    it made due (the resolve's notifications) are sent after the commit."""
    from ..heartbeats import beat

    now = clock()
    with db.write() as session:
        pinged = beat.ping(session, now, name)
    if pinged.resolved is not None or pinged.events:
        from .tick import send_due

        send_due(db, now)
    return pinged


@dataclass(frozen=True)
class HeartbeatView:
    name: str
    service: str
    interval_s: int
    severity: str
    last_ping_at: datetime | None
    late_at: datetime | None
    state: str  # ok | late | never
    incident: int | None

    def to_json(self) -> dict:
        return {"name": self.name, "service": self.service, "interval": format_duration(self.interval_s),
                "interval_seconds": self.interval_s, "severity": self.severity,
                "last_ping": iso(self.last_ping_at), "late_at": iso(self.late_at), "state": self.state,
                "incident": self.incident}


def listing(db, now: datetime) -> list[HeartbeatView]:  # noqa: ANN001
    import sqlalchemy as sa

    from ..heartbeats.beat import state
    from ..store import tables as m

    with db.read() as session:
        rows = session.connection().execute(sa.select(m.heartbeats).order_by(m.heartbeats.c.name)).all()
    return [HeartbeatView(r.name, r.service, r.interval_s, r.severity, r.last_ping_at, r.late_at, state(r, now),
                          r.incident_id) for r in rows]
