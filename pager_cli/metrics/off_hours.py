"""Off-hours load (PRODUCT.md §13): each user's pages split into those inside
their working hours and those outside, on the user's own wall clock.

A user's working hours are a weekly window on the local wall clock of their
zone (`timezone`, default the config's): `working_hours`, default Monday to
Friday 09:00-18:00; a window whose end is not after its start runs past
midnight, as `restrict` windows do. Its edges become UTC instants day by day
with PRODUCT.md §2's rules (`times.localize`: a time in a spring-forward gap
is the transition, an ambiguous one its first occurrence), so a page at
13:30 UTC is in New York's hours (09:30 EDT) on the Friday before the US
change and out of them (08:30 EST) on the Monday after. Users the config no
longer has are measured with the defaults.

How it is counted: set-wise, never a page row in Python. The pages are those
`pages_by_user` counts (the window's incidents: one range of incident ids, or
a join). The working spans run from the first to the last of those pages;
for each paged user, one COUNT per span, a range of the page index on
(user, at, incident_id) that also holds the incident id, so the window's
pages are told from the rest without reading the table; off hours = pages −
those inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..schedules.types import Restrict
from ..store import tables as m
from ..times import localize, zone

DEFAULT_HOURS = Restrict(days=(0, 1, 2, 3, 4), start=time(9), end=time(18))


class Hours:
    """One user's working hours: a weekly window on the wall clock of `tz`."""

    def __init__(self, tz: ZoneInfo, window: Restrict = DEFAULT_HOURS):
        self.tz = tz
        self.window = window

    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The working spans (UTC, sorted, adjacent ones merged) that overlap [start, end]."""
        w = self.window
        wraps = (w.end.hour, w.end.minute) <= (w.start.hour, w.start.minute)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        out: list[tuple[datetime, datetime]] = []
        while day <= last:
            if day.weekday() in w.days:
                a = localize(datetime.combine(day, w.start), self.tz)
                b = localize(datetime.combine(day + timedelta(days=1 if wraps else 0), w.end), self.tz)
                if b > start and a <= end:
                    if out and out[-1][1] >= a:
                        out[-1] = (out[-1][0], max(out[-1][1], b))
                    else:
                        out.append((a, b))
            day += timedelta(days=1)
        return out

    def working(self, at: datetime) -> bool:
        """Whether instant `at` is in working hours."""
        return any(a <= at < b for a, b in self.spans(at, at))


def hours_by_user(conn: Connection) -> tuple[dict[str, Hours], Hours]:
    """Every configured user's working hours, and the default for anyone else."""
    settings, users = m.settings.c, m.users.c
    default_zone = zone(conn.execute(sa.select(settings.value).where(settings.key == "timezone")).scalar() or "UTC")
    found = {}
    for name, tz_name, window in conn.execute(sa.select(users.name, users.timezone, users.working_hours)):
        found[name] = Hours(zone(tz_name) if tz_name else default_zone,
                            Restrict.from_json(window) if window else DEFAULT_HOURS)
    return found, Hours(default_zone)


def pages_off_hours(conn: Connection, since: datetime, until: datetime, service: str | None,
                    first_id: int, last_id: int, incidents: int, pages: Mapping[str, int]) -> dict[str, int]:
    """Per paged user (the keys of `pages`, their page counts for the window's
    incidents), how many of those pages were sent outside their working hours."""
    incident, page = m.Incident, m.Page
    if last_id - first_id + 1 == incidents:  # the window's incidents are exactly these ids
        where: list = [page.incident_id.between(first_id, last_id)]
        source = page.__table__
    else:
        where = [incident.created_at >= since, incident.created_at < until,
                 *([incident.service == service] if service is not None else [])]
        source = page.__table__.join(incident.__table__, incident.id == page.incident_id)
    if not pages:
        return {}
    first, last = conn.execute(sa.select(sa.func.min(page.at), sa.func.max(page.at)).select_from(source)
                               .where(*where)).one()
    hours, default = hours_by_user(conn)
    out = {}
    for user, total in pages.items():
        spans = hours.get(user, default).spans(first, last)
        out[user] = total - _inside(conn, source, [*where, page.user == user], spans)
    return out


def _inside(conn: Connection, source, where: list, spans: list[tuple[datetime, datetime]]) -> int:  # noqa: ANN001
    """How many pages matching `where` fall in one of `spans`: one COUNT per
    span, each a range of the (user, at, incident_id) page index."""
    at = m.Page.at
    count = sa.select(sa.func.count()).select_from(source).where(
        *where, at >= sa.bindparam("a", type_=at.type), at < sa.bindparam("b", type_=at.type))
    return sum(conn.execute(count, {"a": a, "b": b}).scalar_one() for a, b in spans)
