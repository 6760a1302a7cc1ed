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
incident is read from one covering index, never the table:
`ix_incident_metrics` (service, status, severity, created_at, escalation_step,
ack_ms, resolve_ms). A loose index scan lists the (service, status, severity)
groups that occur; within a group the window is one range of created_at, so
one aggregate per group counts it, its escalations and its acknowledgements,
and hands back its stored durations as two joined strings; Python sorts those
for exact percentiles (faster than ORDER BY … OFFSET per percentile, or
fetching values row by row). No GROUP BY sorts the window. Pages are one
COUNT per user over a range of the (user, incident_id) page index, the
window's ids; the days one COUNT each over the metrics index.
The little SQL that differs between engines (`joined`) is the store's `Dialect`.
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

from ..store import dialect
from .off_hours import pages_off_hours
from ..store import tables as m
from ..errors import NotFound, StoredValueError, UsageError
from ..severity import SEVERITIES
from ..times import UTC, iso, localize, to_utc

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
    pages_off_hours_by_user: dict[str, int] = field(default_factory=dict)  # §13: outside their working hours
    per_day: list[tuple[date, int]] = field(default_factory=list)

    def to_json(self) -> dict:
        """The PRODUCT.md §7 shape."""
        return {
            "since": iso(self.since), "until": iso(self.until), "incidents": self.incidents,
            "by_status": self.by_status, "by_service": self.by_service, "by_severity": self.by_severity,
            "mtta": self.mtta.to_json(), "mttr": self.mttr.to_json(),
            "escalated": self.escalated, "resolved_without_ack": self.resolved_without_ack,
            "pages_by_user": self.pages_by_user, "pages_off_hours_by_user": self.pages_off_hours_by_user,
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


def compute(session: Session, since: datetime, until: datetime, tz: tzinfo = UTC,
            service: str | None = None) -> Report:
    """The metrics of the incidents created in [since, until) (of `service`,
    if given); days in zone `tz`. Reads in the session's one transaction."""
    since, until = window(since, until)
    conn = session.connection()
    if service is not None:
        _require_service(conn, service)
    report = Report(since=since, until=until, service=service)
    groups = _groups(conn, service)
    by_status: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    by_service: dict[str, int] = {}
    acks: list[str] = []
    resolves: list[str] = []
    first_id = last_id = None
    for (name, status, severity), row in window_groups(conn, since, until, groups):
        n, escalated, acknowledged, lo, hi, ack_ms, resolve_ms = row
        if not n:
            continue
        report.incidents += n
        report.escalated += escalated
        if status == "resolved":
            report.resolved_without_ack += n - acknowledged
        by_status[status] = by_status.get(status, 0) + n
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_service[name] = by_service.get(name, 0) + n
        acks += [ack_ms] if ack_ms else []
        resolves += [resolve_ms] if resolve_ms else []
        first_id = lo if first_id is None else min(first_id, lo)
        last_id = hi if last_id is None else max(last_id, hi)
    report.by_status = _ordered(by_status, STATUSES)
    report.by_severity = _ordered(by_severity, SEVERITIES)
    report.by_service = dict(sorted(by_service.items()))
    report.mtta = Durations.of_millis(_ints(acks))
    report.mttr = Durations.of_millis(_ints(resolves))
    if report.incidents:
        report.pages_by_user = _pages_by_user(conn, since, until, service, first_id, last_id, report.incidents)
        report.pages_off_hours_by_user = pages_off_hours(conn, since, until, service, first_id, last_id,
                                                         report.incidents, report.pages_by_user)
    report.per_day = _per_day(conn, since, until, tz, groups, report.incidents)
    return report


_GROUPED_BY = ("service", "status", "severity")  # the metrics index's leading columns


def window_groups(conn: Connection, since: datetime, until: datetime, groups: list[tuple[str, str, str]]):  # noqa: ANN201
    """For each (service, status, severity) group, its incidents created in
    [since, until): (count, escalated, acknowledged, min id, max id, the stored
    ack_ms joined by commas, the resolve_ms likewise). Each group's window is
    one range of the covering metrics index."""
    c = m.Incident.__table__.c
    sql = dialect.of(conn)
    # Constants are written into the SQL, not bound: a bound parameter is
    # fetched again for every row the aggregate reads.
    zero = sa.literal_column("0")
    per_group = sa.select(
        sa.func.count(), sa.func.count(sa.func.nullif(c.escalation_step, zero)), sa.func.count(c.ack_ms),
        sa.func.min(c.id), sa.func.max(c.id), sql.joined(c.ack_ms, _SEPARATOR), sql.joined(c.resolve_ms, _SEPARATOR),
    ).where(*_is_group(), c.created_at >= since, c.created_at < until)
    for name, status, severity in groups:
        yield (name, status, severity), conn.execute(
            per_group, {"service": name, "status": status, "severity": severity}).one()


def groups(conn: Connection, service: str | None = None) -> list[tuple[str, str, str]]:
    """Every (service, status, severity) that occurs (`_groups`)."""
    return _groups(conn, service)


def require_service(conn: Connection, name: str) -> None:
    """NotFound unless the config defines service `name` or an incident names it."""
    _require_service(conn, name)


def ints(joined: list[str]) -> list[int]:
    """The integers of some joined stored durations (`window_groups`)."""
    return _ints(joined)


def _distinct(conn: Connection, column: sa.Column, *where: ColumnElement) -> list:
    """The values of an index's leading column (after those `where` fixes) that
    occur, in order: a loose index scan, which skips from one value to the next
    with a `min(column) … > previous` lookup each, so it costs one lookup per
    value instead of a read of every row."""
    values = []
    value = conn.execute(sa.select(sa.func.min(column)).where(*where)).scalar()
    while value is not None:
        values.append(value)
        value = conn.execute(sa.select(sa.func.min(column)).where(*where, column > value)).scalar()
    return values


def _groups(conn: Connection, service: str | None) -> list[tuple[str, str, str]]:
    """Every (service, status, severity) that occurs in the incident table (of
    `service`, if given), in index order, by loose scans of the metrics index."""
    c = m.Incident.__table__.c
    found: list[tuple] = [(service,)] if service is not None else [()]
    for depth in range(len(found[0]), len(_GROUPED_BY)):
        column = c[_GROUPED_BY[depth]]
        found = [(*prefix, value) for prefix in found
                 for value in _distinct(conn, column, *(c[name] == v for name, v in zip(_GROUPED_BY, prefix)))]
    return found


def _is_group() -> list[ColumnElement]:
    """`service = :service AND status = :status AND severity = :severity`."""
    c = m.Incident.__table__.c
    return [c[name] == sa.bindparam(name) for name in _GROUPED_BY]


def _ints(joined: list[str]) -> list[int]:
    """The integers of some joined columns (json's parser is twice as fast as int())."""
    try:
        return json.loads(f"[{_SEPARATOR.join(joined)}]")
    except ValueError:
        raise StoredValueError("a stored number is not a number") from None


def _pages_by_user(conn: Connection, since: datetime, until: datetime, service: str | None,
                   first_id: int, last_id: int, incidents: int) -> dict[str, int]:
    """Pages per user for the window's incidents. Ids follow creation, so the
    window's incidents are usually exactly the ids first_id..last_id (when there
    are as many of them as ids in that range); then each user's pages are one
    range of the (user, incident_id) page index, counted without a join or a
    sort. Otherwise a join on the window."""
    incident, page = m.Incident, m.Page
    if last_id - first_id + 1 == incidents:
        count = sa.select(sa.func.count()).select_from(page).where(
            page.user == sa.bindparam("user"), page.incident_id.between(first_id, last_id))
        counts = {user: conn.execute(count, {"user": user}).scalar_one() for user in _distinct(conn, page.user)}
        return {user: n for user, n in counts.items() if n}
    query = sa.select(page.user, sa.func.count()).join(incident, incident.id == page.incident_id).where(
        incident.created_at >= since, incident.created_at < until,
        *([incident.service == service] if service is not None else []),
    ).group_by(page.user).order_by(page.user)
    return {user: n for user, n in conn.execute(query)}


def _ordered(counts: dict[str, int], order: Sequence[str]) -> dict[str, int]:
    """`counts` with the known values first, in `order`, then any others by name."""
    known = {name: counts[name] for name in order if counts.get(name)}
    return known | {name: n for name, n in sorted(counts.items()) if name not in known}


def _per_day(conn: Connection, since: datetime, until: datetime, tz: tzinfo,
             groups: list[tuple[str, str, str]], total: int) -> list[tuple[date, int]]:
    """One COUNT per day over the metrics index: `service IN (…) AND status
    IN (…) AND severity IN (…)` names the groups, so each day is a few ranges of
    created_at, whether or not a service is named."""
    spans = days(since, until, tz)
    if not total:
        return [(day, 0) for day, _, _ in spans]
    c = m.Incident.__table__.c
    values = [sorted({group[i] for group in groups}) for i in range(len(_GROUPED_BY))]
    query = sa.select(sa.func.count()).select_from(m.Incident.__table__).where(
        *(c[name].in_(vals) for name, vals in zip(_GROUPED_BY, values)),
        c.created_at >= sa.bindparam("lo"), c.created_at < sa.bindparam("hi"),
    )
    return [(day, conn.execute(query, {"lo": start, "hi": end}).scalar_one()) for day, start, end in spans]


def _require_service(conn: Connection, name: str) -> None:
    """A service is known if the config defines it or any incident names it."""
    for column in (m.services.c.name, m.Incident.service):
        if conn.execute(sa.select(sa.exists().where(column == name))).scalar():
            return
    raise NotFound(f"no service {name!r}", hint="`pager services` lists them")
