"""What a frame of `pager watch` shows, read in one transaction: who is on
call, the open incidents, the latest pages and escalations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .incidents import IncidentView

if TYPE_CHECKING:
    from ..escalation.engine import Event
    from .oncall import OnCall

INCIDENT_ROWS = 20  # open incidents shown in the view; the rest are counted
ACTIVITY_ROWS = 10  # latest pages and escalations shown


@dataclass
class Snapshot:
    at: datetime
    on_call: list["OnCall"]
    incidents: list[IncidentView]  # newest first, at most INCIDENT_ROWS
    open_total: int
    activity: list["Event"]  # newest first

    def to_json(self) -> dict:
        from ..times import iso

        return {
            "at": iso(self.at),
            "on_call": [o.to_json() for o in self.on_call],
            "open_incidents": self.open_total,
            "incidents": [i.to_json() for i in self.incidents],
            "latest": [a.to_json() for a in self.activity],
        }


def snapshot(db, now: datetime) -> Snapshot:  # noqa: ANN001
    """Everything a frame shows at `now`, read in one transaction."""
    from ..config import catalog
    from ..escalation.engine import latest_activity
    from ..incidents import queries as incidents
    from ..schedules.oncall import on_call
    from .oncall import OnCall

    with db.read() as session:
        on_call_now = []
        for name in catalog.schedule_names(session):
            schedule = catalog.schedule(session, name)
            on_call_now.append(OnCall.of(name, on_call(schedule, now), schedule.timezone))
        rows = [IncidentView.of(i) for i in incidents.listing(session, "open", limit=INCIDENT_ROWS)]
        total = sum(incidents.open_counts(session).values())
        activity = latest_activity(session, ACTIVITY_ROWS)
    return Snapshot(now, on_call_now, rows, total, activity)
