"""The maintenance commands: `maintenance start` (a window from now with an
end), `maintenance list` (the windows started here that have not ended, and
the config's recurring ones with their current or next occurrence),
`maintenance end ID` (ends one now)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..errors import NotFound, UsageError
from ..times import iso


@dataclass(frozen=True)
class WindowView:
    id: int | None  # None: a recurring window of the config
    services: list[str]
    start: datetime
    end: datetime
    comment: str | None
    source: str  # "command" | "config"
    rule: str | None = None  # the config window, as it reads

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end

    def to_json(self, now: datetime) -> dict:
        return {"id": self.id, "services": self.services, "start": iso(self.start), "end": iso(self.end),
                "comment": self.comment, "source": self.source, "rule": self.rule, "active": self.active(now)}


def start(db, now: datetime, services: list[str], end: datetime, comment: str | None) -> WindowView:  # noqa: ANN001
    """A window for `services` from `now` until `end` (after now, else UsageError)."""
    from ..config import catalog
    from ..store import tables as m

    if not services:
        raise UsageError("maintenance start needs at least one service")
    if end <= now:
        raise UsageError(f"the window would end at {iso(end)}, not after now ({iso(now)})",
                         hint="give --for DURATION or a later --until TIME")
    names = list(dict.fromkeys(services))
    with db.write() as session:
        for name in names:
            catalog.service(session, name)  # NotFound, exit 3
        result = session.connection().execute(sa.insert(m.maintenance_windows).values(
            services=names, start=now, end=end, comment=comment or None, created_at=now))
        window_id = result.inserted_primary_key[0]
    return WindowView(window_id, names, now, end, comment or None, "command")


def end(db, now: datetime, window_id: int) -> tuple[WindowView, bool]:  # noqa: ANN001
    """End window `window_id` now. Its services' held incidents come due now:
    the next tick starts them at level 0, reached now (or holds them on, if
    another window still covers them). Returns the window and whether it
    was still running (False: a no-op)."""
    from ..store import tables as m

    t = m.maintenance_windows.c
    with db.write() as session:
        row = session.connection().execute(sa.select(m.maintenance_windows).where(t.id == window_id)).first()
        if row is None:
            raise NotFound(f"no maintenance window {window_id}", hint="`pager maintenance list` lists them")
        if row.end <= now:
            return WindowView(row.id, row.services, row.start, row.end, row.comment, "command"), False
        session.connection().execute(sa.update(m.maintenance_windows).where(t.id == window_id)
                                     .values(end=max(now, row.start), ended_at=now))
        i = m.Incident.__table__.c
        session.connection().execute(
            sa.update(m.Incident.__table__)
            .where(i.service.in_(row.services), i.status == "triggered", i.held_until.is_not(None), i.held_until > now)
            .values(next_escalation_at=now))
        return WindowView(row.id, row.services, row.start, max(now, row.start), row.comment, "command"), True


def listing(db, now: datetime) -> list[WindowView]:  # noqa: ANN001
    """Windows not yet over: started here (by start), then the config's (by
    their current or next occurrence)."""
    from ..maintenance.windows import load
    from ..store import tables as m

    t = m.maintenance_windows.c
    with db.read() as session:
        rows = session.connection().execute(sa.select(m.maintenance_windows).where(t.end > now)
                                            .order_by(t.start, t.id)).all()
        rules = load(session).rules
    found = [WindowView(r.id, r.services, r.start, r.end, r.comment, "command") for r in rows]
    for rule in rules:
        span = _occurrence(rule, now)
        if span is not None:
            found.append(WindowView(None, sorted(rule.services), *span, None, "config", rule.name))
    return found


def _occurrence(rule, now: datetime) -> tuple[datetime, datetime] | None:  # noqa: ANN001 - a maintenance Rule
    """The occurrence of `rule` that `now` is in, else the next one."""
    from ..schedules.windows import window_edges, window_end

    end = window_end(rule.restrict, rule.tz, now)
    if end is not None:
        return next(window_edges(rule.restrict[0], rule.tz, now, forward=False), now), end
    edges = window_edges(rule.restrict[0], rule.tz, now, forward=True)
    first, second = next(edges, None), next(edges, None)
    return (first, second) if first is not None and second is not None else None
