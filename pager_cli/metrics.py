"""Metrics over the incidents created in a window [since, until) (PRODUCT.md §7).

- MTTA: first acknowledgement − created, over incidents acknowledged at least
  once (an incident escalated back to `triggered` keeps its first ack).
- MTTR: resolved − created, over resolved incidents.
  Each as count, mean, p50, p90 and max, in seconds to the millisecond (both
  durations are stored in ms when the incident is acknowledged or resolved);
  null where there is no data. Percentiles interpolate linearly
  between closest ranks, as numpy's default ('linear': position (n − 1)·q).
- Counts by status, service and severity list only the values that occur
  (statuses in state-machine order, severities from critical to info,
  services by name); `escalated` counts incidents with at least one
  escalation step; `resolved_without_ack` resolved ones never acknowledged;
  `pages_by_user` the pages sent for the window's incidents, whenever sent.
- Days are calendar days in the display zone (`--tz`, else the config's
  zone), because that is what a person reading "Tuesday" means: a day runs
  from one local midnight to the next (23 or 25 hours across DST). `per_day`
  lists every day the window touches, in order, zero days included; the first
  and last may be partial, cut at since and until.

How it is computed: set-wise SQL through the model tables, never an incident
loaded as an object, all in the caller's one read transaction. Everything per
incident is read from one covering index (`ix_incident_metrics`: created_at,
service, status, severity, escalation_step, ack_ms, resolve_ms), never the
table: one GROUP BY over the window counts statuses, severities, services,
escalations and unacknowledged resolutions; one more pass hands back both
stored durations as two joined strings, which Python sorts for exact
percentiles (faster than ORDER BY … OFFSET per percentile, or fetching the
values row by row). Pages are one GROUP BY; the days one COUNT each over the
same index.
The little SQL that differs between engines lives in `_SQLite`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from . import models as m
from .errors import NotFound, UsageError
from .severity import SEVERITIES
from .times import UTC, iso, localize, to_utc

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=3660)
STATUSES = ("triggered", "acknowledged", "resolved")
_SEPARATOR = ","


@dataclass(frozen=True)
class Durations:
    """Count, mean, p50, p90 and max of some durations, in seconds."""

    count: int = 0
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    max: float | None = None

    @classmethod
    def of_millis(cls, values: Iterable[int]) -> "Durations":
        ordered = sorted(values)
        if not ordered:
            return cls()
        n = len(ordered)
        return cls(
            count=n,
            mean=_seconds(sum(ordered) / n),
            p50=_seconds(percentile(ordered, 0.5)),
            p90=_seconds(percentile(ordered, 0.9)),
            max=_seconds(ordered[-1]),
        )

    def to_json(self) -> dict:
        return {"count": self.count, "mean": self.mean, "p50": self.p50, "p90": self.p90, "max": self.max}


@dataclass
class Report:
    since: datetime
    until: datetime
    service: str | None = None
    incidents: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_service: dict[str, int] = field(default_factory=dict)
    by_severity: dict[str, int] = field(default_factory=dict)
    mtta: Durations = field(default_factory=Durations)
    mttr: Durations = field(default_factory=Durations)
    escalated: int = 0
    resolved_without_ack: int = 0
    pages_by_user: dict[str, int] = field(default_factory=dict)
    per_day: list[tuple[date, int]] = field(default_factory=list)

    def to_json(self) -> dict:
        """The PRODUCT.md §7 shape."""
        return {
            "since": iso(self.since), "until": iso(self.until), "incidents": self.incidents,
            "by_status": self.by_status, "by_service": self.by_service, "by_severity": self.by_severity,
            "mtta": self.mtta.to_json(), "mttr": self.mttr.to_json(),
            "escalated": self.escalated, "resolved_without_ack": self.resolved_without_ack,
            "pages_by_user": self.pages_by_user,
            "per_day": [{"date": day.isoformat(), "count": count} for day, count in self.per_day],
        }


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile (0 ≤ q ≤ 1) of sorted, non-empty `ordered`, interpolated
    linearly between the closest ranks, exactly as numpy's default method."""
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    a, b, t = ordered[low], ordered[high], position - low
    # numpy's _lerp: from the nearer end, so that t = 1 gives b exactly.
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def _seconds(millis: float) -> float:
    return round(millis / 1000, 3)


def window(since: datetime | None, until: datetime, default: timedelta = DEFAULT_WINDOW) -> tuple[datetime, datetime]:
    """[since, until) in UTC; since defaults to `default` before until."""
    until = to_utc(until)
    since = to_utc(since) if since is not None else until - default
    if since >= until:
        raise UsageError(f"the window is empty: --since {iso(since)} is not before --until {iso(until)}")
    if until - since > MAX_WINDOW:
        raise UsageError("the window is longer than ten years", hint="narrow --since/--until")
    return since, until


def days(since: datetime, until: datetime, tz: tzinfo) -> list[tuple[date, datetime, datetime]]:
    """Each calendar day in `tz` that [since, until) touches, with its UTC
    bounds cut to the window. A local midnight that does not exist (a DST gap
    at 00:00) starts the day at the transition."""
    first = since.astimezone(tz).date()
    last = (until - timedelta(microseconds=1)).astimezone(tz).date()
    out = []
    day = first
    while day <= last:
        start = max(since, localize(datetime.combine(day, time()), tz))
        end = min(until, localize(datetime.combine(day + timedelta(days=1), time()), tz))
        out.append((day, start, end))
        day += timedelta(days=1)
    return out


class _SQLite:
    """The SQL that differs between engines, for SQLite, which keeps instants
    as text ('YYYY-MM-DD HH:MM:SS.ffffff', UTC). A PostgreSQL engine gets its
    own class: joined = string_agg(value::text, ',')."""

    @staticmethod
    def joined(values: ColumnElement) -> ColumnElement:
        """The non-NULL values of a column, as one text joined by commas."""
        return sa.func.group_concat(values, _SEPARATOR)


def _dialect(conn: Connection) -> type[_SQLite]:
    name = conn.dialect.name
    if name != "sqlite":
        raise UsageError(f"metrics are not written for {name} yet")
    return _SQLite


def _ints(text: str | None) -> list[int]:
    """The integers of a joined column (json's parser is twice as fast as int())."""
    return json.loads(f"[{text}]") if text else []


def compute(session: Session, since: datetime, until: datetime, tz: tzinfo = UTC,
            service: str | None = None) -> Report:
    """The metrics of the incidents created in [since, until) (of `service`,
    if given); days in zone `tz`. Reads in the session's one transaction."""
    since, until = window(since, until)
    conn = session.connection()
    sql = _dialect(conn)
    incident = m.Incident
    in_window = [incident.created_at >= since, incident.created_at < until]
    if service is not None:
        _require_service(conn, service)
        in_window.append(_service_is(conn, service, in_window))
    report = Report(since=since, until=until, service=service)

    # One pass over the window's rows, from the covering metrics index: counts
    # grouped by status, severity and service, plus the id range.
    escalated = sa.func.sum(sa.case((incident.escalation_step > 0, 1), else_=0))
    unacked = sa.func.sum(sa.case((sa.and_(incident.status == "resolved", incident.ack_ms.is_(None)), 1), else_=0))
    groups = conn.execute(
        sa.select(incident.status, incident.severity, incident.service, sa.func.count(), escalated, unacked,
                  sa.func.min(incident.id), sa.func.max(incident.id))
        .where(*in_window)
        .group_by(incident.status, incident.severity, incident.service)
    ).all()
    by_status: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    by_service: dict[str, int] = {}
    first_id = last_id = None
    for status, severity, name, n, esc, no_ack, lo, hi in groups:
        report.incidents += n
        report.escalated += esc or 0
        report.resolved_without_ack += no_ack or 0
        by_status[status] = by_status.get(status, 0) + n
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_service[name] = by_service.get(name, 0) + n
        first_id = lo if first_id is None else min(first_id, lo)
        last_id = hi if last_id is None else max(last_id, hi)
    report.by_status = _ordered(by_status, STATUSES)
    report.by_severity = _ordered(by_severity, SEVERITIES)
    report.by_service = dict(sorted(by_service.items()))
    if report.incidents:
        acks, resolves = conn.execute(
            sa.select(sql.joined(incident.ack_ms), sql.joined(incident.resolve_ms)).where(*in_window)
        ).one()
        report.mtta = Durations.of_millis(_ints(acks))
        report.mttr = Durations.of_millis(_ints(resolves))

    if report.incidents:
        report.pages_by_user = _pages_by_user(conn, in_window, first_id, last_id, report.incidents, service is None)
    report.per_day = _per_day(conn, since, until, tz, service, report.incidents)
    return report


def _pages_by_user(conn: Connection, in_window: list, first_id: int, last_id: int, incidents: int,
                   every_service: bool) -> dict[str, int]:
    """Pages per user for the window's incidents. Ids follow creation, so the
    window is usually exactly the ids first_id..last_id: when a count over the
    primary key says so, the pages are read by that id range from the page
    index, without a join."""
    incident, page = m.Incident, m.Page
    query = sa.select(page.user, sa.func.count()).group_by(page.user).order_by(page.user)
    in_range = sa.select(sa.func.count()).select_from(incident).where(incident.id.between(first_id, last_id))
    if every_service and conn.execute(in_range).scalar_one() == incidents:
        query = query.where(page.incident_id.between(first_id, last_id))
    else:
        query = query.join(incident, incident.id == page.incident_id).where(*in_window)
    return {user: n for user, n in conn.execute(query)}


def _ordered(counts: dict[str, int], order: Sequence[str]) -> dict[str, int]:
    """`counts` with the known values first, in `order`, then any others by name."""
    known = {name: counts[name] for name in order if counts.get(name)}
    return known | {name: n for name, n in sorted(counts.items()) if name not in known}


def _per_day(conn: Connection, since: datetime, until: datetime, tz: tzinfo, service: str | None,
             total: int) -> list[tuple[date, int]]:
    """One COUNT per day through the created_at index (covering, unless a
    service is named)."""
    spans = days(since, until, tz)
    if not total:
        return [(day, 0) for day, _, _ in spans]
    created = m.Incident.created_at
    query = sa.select(sa.func.count()).select_from(m.Incident).where(created >= sa.bindparam("lo"), created < sa.bindparam("hi"))
    if service is not None:
        query = query.where(_unindexed(m.Incident.service) == service)
    return [(day, conn.execute(query, {"lo": start, "hi": end}).scalar_one()) for day, start, end in spans]


def _service_is(conn: Connection, service: str, in_window: list) -> ColumnElement:
    """`service = S`, written so that the database reads whichever index finds
    fewer rows: the service's (its whole history) or created_at's (the window,
    every service). Without statistics SQLite would always take the service's.
    Both counts read an index only."""
    incident = m.Incident
    history = conn.execute(sa.select(sa.func.count()).where(incident.service == service)).scalar_one()
    window_size = conn.execute(sa.select(sa.func.count()).select_from(incident).where(*in_window)).scalar_one()
    column = _unindexed(incident.service) if window_size < history else incident.service
    return column == service


def _unindexed(column: ColumnElement) -> ColumnElement:
    """The same text, as an expression no index serves (`column || ''`), so a
    condition on it filters rows without choosing how they are found."""
    return column.concat("")


def _require_service(conn: Connection, name: str) -> None:
    """A service is known if the config defines it or any incident names it."""
    for column in (m.Service.name, m.Incident.service):
        if conn.execute(sa.select(sa.exists().where(column == name))).scalar():
            return
    raise NotFound(f"no service {name!r}", hint="`pager services` lists them")
