"""PRODUCT.md §13's Prometheus exposition, with prometheus-client: a custom
Collector over numbers read in one transaction, written by `generate_latest`
(which also escapes label values: service names are free text).

Families, all gauges but the two summaries:

- `pager_incidents_open{service,severity,status}`: open incidents now;
- `pager_incidents{service,status}`: incidents created in the window
  (`--since`/`--until`, default the last 30 days), by their status now;
- `pager_mtta_seconds`, `pager_mttr_seconds` `{service,quantile}` with
  `_sum` and `_count`: the window's time to first acknowledgement and to
  resolve, per service; quantiles 0.5, 0.9 and 1 (the max), interpolated as
  `pager metrics` does (PRODUCT.md §7);
- `pager_deliveries{user,contact,state}`: the outbox's rows by state;
- `pager_heartbeat_last_ping_timestamp_seconds{name}`: each heartbeat's last
  ping (none yet: the family is empty until the heartbeat table exists, see
  `_heartbeats`);
- `pager_escalate_check_last_run_timestamp_seconds`: the instant of the last
  whole tick (escalate-check, watch or serve), 0 if none ever ran — so
  `time() - pager_escalate_check_last_run_timestamp_seconds > 300` alerts on
  a cron job that stopped.

How it is read: the same loose index scans and per-group aggregates as
`pager metrics` (`metrics.report.window_groups`), one COUNT per open group
over the metrics index, one GROUP BY over the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from sqlmodel import Session

from ..metrics import report
from ..store import tables as m
from ..store.stamps import last_tick

QUANTILES = (0.5, 0.9, 1.0)


@dataclass
class Numbers:
    """Everything the exposition shows, read in one transaction."""

    open: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (service, severity, status)
    created: dict[tuple[str, str], int] = field(default_factory=dict)  # (service, status)
    ack_ms: dict[str, list[int]] = field(default_factory=dict)  # service → sorted durations
    resolve_ms: dict[str, list[int]] = field(default_factory=dict)
    deliveries: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (user, contact, state)
    heartbeats: dict[str, float] = field(default_factory=dict)  # name → last ping, Unix seconds
    last_tick: float = 0.0


def read(session: Session, since: datetime, until: datetime, service: str | None = None) -> Numbers:
    """The numbers of the exposition: open incidents and deliveries now, the
    incidents created in [since, until) (of `service`, if given)."""
    since, until = report.window(since, until)
    conn = session.connection()
    if service is not None:
        report.require_service(conn, service)
    numbers = Numbers()
    groups = report.groups(conn, service)
    c = m.Incident.__table__.c
    count_open = sa.select(sa.func.count()).where(
        c.service == sa.bindparam("service"), c.status == sa.bindparam("status"), c.severity == sa.bindparam("severity"))
    for name, status, severity in groups:
        if status in m.OPEN_STATUSES:
            n = conn.execute(count_open, {"service": name, "status": status, "severity": severity}).scalar_one()
            if n:
                numbers.open[(name, severity, status)] = n
    acks: dict[str, list[str]] = {}
    resolves: dict[str, list[str]] = {}
    for (name, status, _severity), row in report.window_groups(conn, since, until, groups):
        n, _escalated, _acknowledged, _lo, _hi, ack_ms, resolve_ms = row
        if not n:
            continue
        numbers.created[(name, status)] = numbers.created.get((name, status), 0) + n
        acks.setdefault(name, []).extend([ack_ms] if ack_ms else [])
        resolves.setdefault(name, []).extend([resolve_ms] if resolve_ms else [])
    numbers.ack_ms = {name: sorted(report.ints(joined)) for name, joined in acks.items()}
    numbers.resolve_ms = {name: sorted(report.ints(joined)) for name, joined in resolves.items()}
    d = m.deliveries.c
    numbers.deliveries = {(user, contact, state): n for user, contact, state, n in conn.execute(
        sa.select(d.user, d.contact, d.state, sa.func.count()).group_by(d.user, d.contact, d.state))}
    numbers.heartbeats = _heartbeats(session)
    stamp = last_tick(session)
    numbers.last_tick = stamp.timestamp() if stamp else 0.0
    return numbers


def _heartbeats(session: Session) -> dict[str, float]:
    """Each pinged heartbeat's last ping in Unix seconds (PRODUCT.md §12)."""
    t = m.heartbeats.c
    rows = session.connection().execute(sa.select(t.name, t.last_ping_at).where(t.last_ping_at.is_not(None)))
    return {name: at.timestamp() for name, at in rows}


class PagerCollector(Collector):
    """The exposition's families over one `Numbers`."""

    def __init__(self, numbers: Numbers):
        self.numbers = numbers

    def collect(self) -> Iterator[Metric]:
        n = self.numbers
        yield _gauge("pager_incidents_open", "Open incidents now.", ("service", "severity", "status"), n.open)
        yield _gauge("pager_incidents", "Incidents created in the window, by their status now.",
                     ("service", "status"), n.created)
        yield _summary("pager_mtta_seconds", "Time from creation to first acknowledgement, incidents created"
                       " in the window.", n.ack_ms)
        yield _summary("pager_mttr_seconds", "Time from creation to resolve, incidents created in the window.",
                       n.resolve_ms)
        yield _gauge("pager_deliveries", "Deliveries in the outbox, by state.", ("user", "contact", "state"),
                     n.deliveries)
        yield _gauge("pager_heartbeat_last_ping_timestamp_seconds", "When each heartbeat was last pinged.",
                     ("name",), {(name,): at for name, at in n.heartbeats.items()})
        last = GaugeMetricFamily("pager_escalate_check_last_run_timestamp_seconds",
                                 "When escalate-check (or a watch or serve tick) last ran; 0: never.")
        last.add_metric([], n.last_tick)
        yield last


def _gauge(name: str, doc: str, labels: tuple[str, ...], values: dict[tuple, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=list(labels))
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _summary(name: str, doc: str, per_service: dict[str, list[int]]) -> Metric:
    """A summary per service: quantiles, _sum and _count, in seconds."""
    family = Metric(name, doc, "summary")
    for service, ordered in sorted(per_service.items()):
        if ordered:
            for q in QUANTILES:
                family.add_sample(name, {"service": service, "quantile": _q(q)},
                                  report.percentile(ordered, q) / 1000)
        family.add_sample(f"{name}_sum", {"service": service}, sum(ordered) / 1000)
        family.add_sample(f"{name}_count", {"service": service}, len(ordered))
    return family


def _q(q: float) -> str:
    return f"{q:g}"


def text(numbers: Numbers) -> bytes:
    """The Prometheus text exposition (version 0.0.4) of `numbers`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PagerCollector(numbers))
    return generate_latest(registry)


def exposition(db, now: datetime, since: datetime | None, until: datetime, service: str | None = None) -> bytes:  # noqa: ANN001
    """Read the numbers in one transaction and write the exposition."""
    with db.read() as session:
        numbers = read(session, since, until, service)
    return text(numbers)
