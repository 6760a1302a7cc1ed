"""Off-hours load (PRODUCT.md §13): each user's pages split into those inside
their working hours and those outside, on the user's own wall clock.

A page at instant t is in working hours when t, seen on the local wall clock
of the user's zone (`timezone`, default the config's), falls in their
`working_hours` window (default Monday to Friday, 09:00-18:00; a window whose
end is not after its start runs past midnight, as `restrict` windows do).
The local wall clock is read at the instant itself, so a page at 08:30 UTC
is 09:30 (in hours) in Berlin in winter and 10:30 in summer, and the week's
DST changes need nothing special. Users the config no longer has are
measured with the defaults.

Reads the pages of the window's incidents (the same ones `pages_by_user`
counts) as (user, instant): one indexed range of incident ids, or a join.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..schedules.types import Restrict
from ..store import tables as m
from ..times import UTC, zone

DEFAULT_HOURS = Restrict(days=(0, 1, 2, 3, 4), start=time(9), end=time(18))
_DAY = 1440
_WEEK = 7 * _DAY


class Hours:
    """One user's working hours in their zone: minute-of-week spans."""

    def __init__(self, tz: ZoneInfo, window: Restrict = DEFAULT_HOURS):
        self.tz = tz
        begin = window.start.hour * 60 + window.start.minute
        length = (window.end.hour * 60 + window.end.minute - begin) % _DAY or _DAY
        self.spans: list[tuple[int, int]] = []
        for day in window.days:
            first = day * _DAY + begin
            self.spans.append((first, min(first + length, _WEEK)))
            if first + length > _WEEK:
                self.spans.append((0, first + length - _WEEK))

    def working(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        minute = local.weekday() * _DAY + local.hour * 60 + local.minute
        return any(a <= minute < b for a, b in self.spans)


def hours_by_user(conn: Connection) -> tuple[dict[str, Hours], Hours]:
    """Every configured user's working hours, and the default for anyone else."""
    settings, users = m.settings.c, m.users.c
    default_zone = zone(conn.execute(sa.select(settings.value).where(settings.key == "timezone")).scalar() or "UTC")
    found = {}
    for name, tz_name, window in conn.execute(sa.select(users.name, users.timezone, users.working_hours)):
        found[name] = Hours(zone(tz_name) if tz_name else default_zone,
                            Restrict.from_json(window) if window else DEFAULT_HOURS)
    return found, Hours(default_zone)


def off_hours(pages: Iterable[tuple[str, datetime]], hours: dict[str, Hours], default: Hours) -> dict[str, int]:
    """Per user, how many of `pages` (user, instant) fell outside their working hours."""
    out: dict[str, int] = {}
    for user, at in pages:
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        off = not hours.get(user, default).working(at)
        out[user] = out.get(user, 0) + off
    return out


def pages_off_hours(conn: Connection, since: datetime, until: datetime, service: str | None,
                    first_id: int, last_id: int, incidents: int, users: Iterable[str]) -> dict[str, int]:
    """Per paged user (every one of `users`, 0 included), their pages for the
    window's incidents sent outside their working hours."""
    incident, page = m.Incident, m.Page
    if last_id - first_id + 1 == incidents:  # the window's incidents are exactly these ids
        query = sa.select(page.user, page.at).where(page.incident_id.between(first_id, last_id))
    else:
        query = sa.select(page.user, page.at).join(incident, incident.id == page.incident_id).where(
            incident.created_at >= since, incident.created_at < until,
            *([incident.service == service] if service is not None else []))
    hours, default = hours_by_user(conn)
    counted = off_hours(conn.execute(query), hours, default)
    return {user: counted.get(user, 0) for user in users}
