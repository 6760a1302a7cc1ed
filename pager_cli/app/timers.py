"""The timers' manager of the tick (`app.tick`): heartbeats that went late and
incidents due to auto-resolve, each done at its own instant, in order of
those instants, in small write transactions, exactly once (each piece reads
what is due inside its IMMEDIATE transaction)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

PIECE = 100  # timers done in one write transaction, at most


def run(db, now: datetime) -> Iterator[list]:  # noqa: ANN001 - a Database
    """Every timer due at `now`, in pieces; yields each piece's events after its commit."""
    from ..escalation.engine import Event, set_wise
    from ..heartbeats import beat
    from ..timers import incidents as timers

    while True:
        with db.write() as session, set_wise(session):
            late = [(row.late_at, 0, row.name, row) for row in beat.due(session, now, PIECE)]
            resolving = [(at, 1, "", incident_id) for at, incident_id in timers.due_ids(session, now, PIECE)]
            work = sorted(late + resolving, key=lambda item: item[:3])[:PIECE]  # in order of their instants
            loaded = timers.load(session, [item for _, kind, _, item in work if kind == 1])
            events: list = []
            for at, kind, _, item in work:
                if kind == 0:
                    incident_id, opened = beat.go_late(session, item)
                    text = f"heartbeat {item.name} missed (last ping {_iso(item.last_ping_at)}): #{incident_id}"
                    events += [Event("late", incident_id, at, text)] + opened
                else:
                    events += timers.auto_resolve(session, loaded[item], now)
        if events:
            yield events
        if len(work) < PIECE:
            return


def _iso(at: datetime | None) -> str:
    from ..times import iso

    return iso(at) if at else "never"
