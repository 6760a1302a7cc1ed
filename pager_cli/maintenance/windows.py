"""When a service is in maintenance, and until when: the config's recurring
rules (`maintenance:`, on a zone's wall clock, edges as for `restrict`, by
`schedules.windows`) and the windows started with `pager maintenance start`.

Read once per session (`session.info`) and asked per instant, so a catch-up
that holds a hundred steps reads the tables once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..schedules.types import DAYS, Restrict
from ..schedules.windows import window_end
from ..store import tables as m
from ..times import zone

_KEY = "pager_maintenance"
_CHAIN = 1000  # windows that follow each other without a gap, at most


@dataclass(frozen=True)
class Rule:
    name: str  # what it says: "payments tue 22:00-23:00 Europe/Berlin"
    services: frozenset[str]
    restrict: tuple[Restrict, ...]
    tz: ZoneInfo


@dataclass(frozen=True)
class Window:
    id: int
    services: frozenset[str]
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Maintenance:
    rules: tuple[Rule, ...]
    windows: tuple[Window, ...]

    def end_at(self, service: str, at: datetime) -> datetime | None:
        """The end of the maintenance `service` is in at `at`, or None; windows
        that meet or overlap are one stretch, until the last one ends."""
        until = None
        for _ in range(_CHAIN):
            t = until or at
            ends = [w.end for w in self.windows if service in w.services and w.start <= t < w.end]
            ends += [end for r in self.rules if service in r.services
                     for end in (window_end(r.restrict, r.tz, t),) if end is not None]
            if not ends:
                return until
            until = max(ends)
        return until


def load(session) -> Maintenance:  # noqa: ANN001 - a Session
    """Every rule and every window of the database (cached for the session)."""
    found = session.info.get(_KEY)
    if found is not None:
        return found
    conn = session.connection()
    rules = tuple(
        Rule(r.name, frozenset(r.services), (Restrict(tuple(DAYS.index(d) for d in r.days), time.fromisoformat(r.start_local),
                                              time.fromisoformat(r.end_local)),), zone(r.timezone))
        for r in conn.execute(sa.select(m.maintenance_rules).order_by(m.maintenance_rules.c.name))
    )
    w = m.maintenance_windows.c
    windows = tuple(Window(r.id, frozenset(r.services), r.start, r.end)
                    for r in conn.execute(sa.select(w.id, w.services, w.start, w.end).where(w.end > w.start)))
    session.info[_KEY] = found = Maintenance(rules, windows)
    return found


def forget(session) -> None:  # noqa: ANN001
    session.info.pop(_KEY, None)


def until(session, service: str, at: datetime) -> datetime | None:  # noqa: ANN001
    """The end of the maintenance `service` is in at `at`, or None."""
    return load(session).end_at(service, at)
