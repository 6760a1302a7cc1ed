"""Batch ingest: the records of an alert stream, routed to their services and
committed into the database a batch at a time.

`Ingest` takes records one at a time (`add`) and commits them in batches:

- when `batch_size` records are pending;
- when the first pending record is `latency` seconds old. `add` checks this as
  each record arrives; a caller that blocks on a quiet input asks `due_in()`
  how long it may wait and calls `commit()` itself when that runs out;
- at `close()`, with whatever is left.

A batch is one write transaction (BEGIN IMMEDIATE) holding database work only:
its records were read before it began, so concurrent writers wait milliseconds
for the lock, never for the input. The batch's outcomes and the pages it
decided reach `on_commit` after the commit: a crash loses at most the batch in
flight, never a record already reported.

Within a batch, records apply in stream order:

- a trigger whose key has an open incident adds an alert to it. The batch's
  alerts cost no statement each: the counts go out as one executemany UPDATE
  (`alert_count + n`, `last_alert_at`) and their `alert` timeline entries as
  one executemany INSERT;
- a trigger whose key has none opens an incident, through the code of
  `pager trigger` (`incidents.open_incidents`: the incident, its timeline,
  level-0 assignment and pages); later records of the batch with that key add
  alerts to it. The incidents to open are gathered and opened together, before
  the next acknowledgement or resolution and at the end of the batch;
- in a `dedup: service` service, each alert key keeps its own state
  (`incidents.alerts`): a resolve for one of them while others still fire is
  an `alert_resolved` timeline entry naming those, answered `ignored`; the
  resolve of the last one resolves the incident;
- acknowledge and resolve go through the state machine in `incidents`; a
  resolution closes the key, so a later trigger in the batch opens a new
  incident. A key with no open incident is `ignored`, and so is the
  acknowledgement of an incident already acknowledged. A resolution of an
  incident nobody acknowledged, in a service that requires it
  (`require_ack_before_resolve`), is kept on the timeline (`held`: resolved
  by the source; needs an acknowledgement) and `ignored`: escalation goes on
  until a human acknowledges;
- an alert more severe than its open incident raises the incident's severity
  (a `severity` timeline entry); a less severe one never lowers it;
- a change event (PagerDuty's `/v2/change/enqueue`) opens nothing and pages
  no one: it adds a `change` entry to each open incident of its service and
  answers `ignored`.

So a batch costs a handful of statements: the services, one SELECT of the open
incidents of its keys per service, the two executemany writes, and a few ORM
statements per new incident or transition, which are rare next to duplicates.

Routing is `routing.py`'s (its docstring says how a record finds its service).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Row

from ..config import catalog
from ..incidents import lifecycle as incidents
from ..escalation.engine import paged_nobody
from ..incidents.alerts import Alerts
from ..store import bulk
from ..store import tables as m
from ..store.db import Transaction
from ..alerts.record import Alert
from ..errors import Conflict, UsageError
from ..notify.console import PageMessage
from ..severity import DEFAULT_SEVERITY, SEVERITIES
from .routing import route_unnamed

DEFAULT_BATCH_SIZE = 500
DEFAULT_LATENCY = 1.0  # seconds
ACTIONS = ("created", "deduplicated", "acknowledged", "resolved", "ignored", "error")

_KEYS_PER_SELECT = 500  # bound parameters per look-up, well under any SQLite limit

_INCIDENT = m.Incident.__table__
_TIMELINE = m.TimelineEntry.__table__
# The open incidents of some keys of one service. The statuses are rendered
# literally, so that SQLite may use the partial index on open keys.
_OPEN_KEYS = select(_INCIDENT.c.id, _INCIDENT.c.dedup_key, _INCIDENT.c.status, _INCIDENT.c.severity).where(
    _INCIDENT.c.service == bindparam("b_service"),
    _INCIDENT.c.dedup_key.in_(bindparam("b_keys", expanding=True)),
    m.is_open(),
)
# The alerts of a batch, each an executemany (`bulk.executemany`): `at` as
# `bulk.stored` gives it; the rest are strings and integers.
_ADD_ALERTS = (
    update(_INCIDENT)
    .where(_INCIDENT.c.id == bindparam("b_id"))
    .values(alert_count=_INCIDENT.c.alert_count + bindparam("b_count"), last_alert_at=bindparam("b_at"))
)
_ADD_ALERTS_COLUMNS = ("b_count", "b_at", "b_id")
_ADD_ENTRIES = insert(_TIMELINE)
_ADD_ENTRIES_COLUMNS = ("incident_id", "at", "kind", "by", "text")
_RAISE = update(_INCIDENT).where(_INCIDENT.c.id == bindparam("b_id")).values(severity=bindparam("b_severity"))
_RAISE_COLUMNS = ("b_severity", "b_id")
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}  # 0 is the most severe
HELD = "resolved by the source; needs an acknowledgement"


@dataclass(slots=True)
class Result:
    """What became of one record."""

    record: int
    line: int
    action: str  # one of ACTIONS
    incident: int | None = None
    dedup_key: str | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"record": self.record, "action": self.action, "incident": self.incident,
                "dedup_key": self.dedup_key, "error": self.error}


@dataclass
class Batch:
    """A committed batch: the outcome of each record, in order, and the pages
    to deliver now that it is committed."""

    results: list[Result]
    pages: list[PageMessage]
    deliveries: list = field(default_factory=list)  # outcomes of the deliveries sent after the commit


SENDS = ("created", "acknowledged", "resolved")  # outcomes that can make deliveries


class Ingest:
    """Records in, committed batches out (see the module docstring).

    `clock` gives the instant stamped on a batch (read once per batch);
    `fallback` is the service of records that cannot be routed; `by` is who
    acknowledges and resolves; `on_commit` receives each committed `Batch`.
    """

    def __init__(self, db, clock: Callable[[], datetime], on_commit: Callable[[Batch], None], *,  # noqa: ANN001
                 fallback: str | None = None, by: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 latency: float = DEFAULT_LATENCY, monotonic: Callable[[], float] = time.monotonic):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.db = db
        self.clock = clock
        self.on_commit = on_commit
        self.fallback = fallback
        self.by = by
        self.batch_size = batch_size
        self.latency = max(0.0, latency)
        self._monotonic = monotonic
        self._pending: list[Alert] = []
        self._first_at = 0.0
        self._warned: set[str] = set()  # the routing warnings given so far in this stream

    def add(self, alert: Alert) -> None:
        """Queue one record; commit when the batch is full or due."""
        pending = self._pending
        arrived = self._monotonic()
        if not pending:
            self._first_at = arrived
        pending.append(alert)
        if len(pending) >= self.batch_size or arrived - self._first_at >= self.latency:
            self.commit()

    def due_in(self) -> float | None:
        """Seconds until the pending batch must be committed; None when nothing is pending."""
        if not self._pending:
            return None
        return max(0.0, self._first_at + self.latency - self._monotonic())

    def commit(self) -> None:
        """Commit the pending records (if any) and hand their outcomes on."""
        if not self._pending:
            return
        alerts, self._pending = self._pending, []
        now = self.clock()
        batch = apply_batch(self.db, now, alerts, fallback=self.fallback, by=self.by, warned=self._warned)
        if any(r.action in SENDS for r in batch.results):
            from .tick import send_due

            batch.deliveries = send_due(self.db, now)
        self.on_commit(batch)

    def close(self) -> None:
        self.commit()


def for_stream(db, clock: Callable[[], datetime], on_commit: Callable[[Batch], None], service: str | None,  # noqa: ANN001
               **options) -> Ingest:  # noqa: ANN003 - by, batch_size, latency
    """The `Ingest` of a stream whose records without a service take `service`
    (NotFound when it does not exist), else the config's `default_service`."""
    with db.read() as session:
        if service:
            catalog.service(session, service)
        fallback = service or catalog.setting(session, "default_service") or None
    return Ingest(db, clock, on_commit, fallback=fallback, **options)


@dataclass(frozen=True)
class Defaults:
    """`trigger -` options for the trigger records that lack the field (checked
    before the stream is read: `app.incidents.stream_defaults`)."""

    severity: str = DEFAULT_SEVERITY
    dedup_key: str | None = None
    details: dict | None = None


def feed(ingest: Ingest, stream, input_format: str, defaults: Defaults = Defaults()) -> None:  # noqa: ANN001, B008
    """Every record of `stream` (`alerts.stream.read_alerts`) into `ingest`, then the last batch."""
    from ..alerts.record import UNSET_SEVERITY
    from ..alerts.stream import read_alerts

    add = ingest.add
    severity, key, details = defaults.severity, defaults.dedup_key, defaults.details
    for alert in read_alerts(stream, input_format, ingest.fallback):
        if alert.severity is UNSET_SEVERITY:
            alert.severity = severity
        if alert.action == "trigger" and alert.error is None:
            if key is not None and (alert.dedup_key is None or alert.generated_key):
                alert.dedup_key, alert.generated_key = key, False
            if details and not alert.details:
                alert.details = dict(details)
        add(alert)
    ingest.close()


def apply_batch(db, now: datetime, alerts: list[Alert], *, fallback: str | None = None,  # noqa: ANN001
                by: str | None = None, warned: set[str] | None = None) -> Batch:
    """Apply `alerts` in order in one write transaction; their outcomes, once
    committed. `warned` holds the routing warnings already given in the
    stream: they are not repeated (the set grows with the new ones)."""
    if all(a.error is not None for a in alerts):
        return _unapplied(alerts)
    def work(session):  # noqa: ANN001, ANN202 - run again from the start on a conflict the engine gave up on
        batch, given = _unapplied(alerts), set() if warned is None else set(warned)
        _Apply(Transaction(session.connection(), session), now, fallback, by, batch, given).run(alerts)
        return batch, given

    batch, given = db.retried(work)
    if warned is not None:
        warned |= given  # only once the batch is committed
    return batch


def apply_groups(held, now: datetime, groups: list[tuple[list[Alert], str | None]], *,  # noqa: ANN001
                 by: str | None = None, services: list[Row] | None = None) -> list[Batch]:
    """Several streams' records (each with its own fallback service) applied
    in ONE write transaction on `held` (a `Database.hold()`), each group as
    `apply_batch` would: `serve`'s group commit. `services`: the service rows
    (`catalog.services`) when the caller holds them already. The batches, once committed."""
    def work(tx):  # noqa: ANN001, ANN202 - run again from the start on a conflict the engine gave up on
        batches = [_unapplied(alerts) for alerts, _ in groups]
        for (alerts, fallback), batch in zip(groups, batches):
            if tx is not None and any(a.error is None for a in alerts):
                _Apply(tx, now, fallback, by, batch, set(), services).run(alerts)
        return batches

    return held.retried(work) if any(a.error is None for alerts, _ in groups for a in alerts) else work(None)


def _unapplied(alerts: list[Alert]) -> Batch:
    """The batch of `alerts` before it is applied: each an error until `_Apply` says otherwise."""
    return Batch([Result(a.record, a.line, "error", None, None, a.error, a.warnings) for a in alerts], [])


class _New:
    """An incident to open, gathered until `_Apply.open_new`."""

    __slots__ = ("args", "results", "id")

    def __init__(self, args: tuple, result: Result):
        self.args = args  # for incidents.open_incidents
        self.results = [result]  # the record that opens it, then those that add alerts to it
        self.id: int | None = None


def _ref(state: list):  # noqa: ANN202 - an incident id, or a _New not opened yet
    """The incident of `state` ([id or _New, status, severity]): its id once opened."""
    ref = state[0]
    if ref.__class__ is _New and ref.id is not None:  # opened since
        ref = state[0] = ref.id
    return ref


def _answer(ref, result: Result) -> None:  # noqa: ANN001
    """`result` names the incident of `ref`: now, or when that one is opened."""
    if ref.__class__ is _New:
        ref.results.append(result)
    else:
        result.incident = ref


class _Apply:
    """One batch, inside its transaction."""

    def __init__(self, tx: Transaction, now: datetime, fallback: str | None, by: str | None, batch: Batch,
                 warned: set[str], services: list[Row] | None = None):
        self.tx = tx  # its Session is made when first needed: a batch of repeats needs none
        self.connection = tx.connection  # the transaction's (begun: SQLite took the write lock)
        self.services, self.warned, self.now = services, warned, now
        self.fallback, self.by, self.batch = fallback, by, batch
        self.stamp = bulk.stored(self.connection, _INCIDENT.c.last_alert_at, now)  # once for every row
        self.counts: dict = {}  # incident id (or _New) → alerts added
        self.entries: list[tuple] = []  # (incident id or _New, kind, text) of the alerts' timeline entries
        self.raised: dict = {}  # incident id (or _New) → the severity it is raised to
        self.new: list[_New] = []  # gathered, not opened yet
        self.alerts = Alerts(self.connection, now)  # the alert keys of `dedup: service` incidents

    session = property(lambda self: self.tx.session)

    def run(self, alerts: list[Alert]) -> None:
        results = self.batch.results
        routed, wanted = self.route(alerts, results)
        open_now = self.find_open(wanted)
        counts, entries = self.counts, self.entries
        for alert, result, target in zip(alerts, results, routed):
            if target is None:
                continue
            if alert.action == "change":
                self.change(target[0].name, target[2], result)
                continue
            state = open_now.get(target[1])
            if alert.action == "trigger":
                if state is None:
                    svc, where, title, _ = target
                    new = _New((svc, title, alert.severity, where[1], alert.details), result)
                    self.new.append(new)
                    if target[3] is not None:
                        self.alerts.fire(new, target[3], title)
                    open_now[where] = [new, "triggered", alert.severity]
                    result.action = "created"
                    continue
                ref = _ref(state)
                if target[3] is not None:
                    self.alerts.fire(ref, target[3], target[2])
                counts[ref] = counts.get(ref, 0) + 1
                entries.append((ref, "alert", target[2]))
                if _RANK.get(alert.severity, 9) < _RANK.get(state[2], 9):
                    entries.append((ref, "severity", f"raised from {state[2]} to {alert.severity}"))
                    self.raised[ref] = state[2] = alert.severity
                result.action = "deduplicated"
                _answer(ref, result)
            elif state is None:
                result.action = "ignored"
            elif alert.action == "resolve" and target[3] is not None and self.still_firing(state, target[3], result):
                continue
            elif self.transition(alert.action, state, result, target[0]) and state[1] == "resolved":
                del open_now[target[1]]
        self.open_new()
        self.write_alerts()

    def route(self, alerts: list[Alert], results: list[Result]) -> tuple[list, dict[str, set[str]]]:
        """Per record (service, (service name, dedup key), title, alert key in a
        `dedup: service` service else None), or None for an error record; and
        the keys wanted per service."""
        services = {s.name: s for s in (self.services if self.services is not None
                                         else catalog.services(self.session))}
        by_routing_key = {s.routing_key: s for s in services.values() if s.routing_key}
        clean_title, dedup_key_for = incidents.clean_title, incidents.dedup_key_for
        routed: list[tuple | None] = []
        wanted: dict[str, set[str]] = {}
        for alert, result in zip(alerts, results):
            if alert.error is not None:
                routed.append(None)
                continue
            name = alert.service
            svc = services.get(name) if name is not None else None
            if svc is None:
                svc = route_unnamed(alert, services, by_routing_key, self.fallback, result, self.warned)
                if svc is None:
                    routed.append(None)
                    continue
                name = svc.name
            title = clean_title(alert.title) if alert.title else ""
            if alert.action == "change":  # no key: it concerns every open incident of the service
                routed.append((svc, (name, None), title, None))
                continue
            key = dedup_key_for(svc, title, alert.dedup_key)
            result.dedup_key = key
            grouped = incidents.alert_key_for(title, alert.dedup_key) if svc.dedup == "service" else None
            routed.append((svc, (name, key), title, grouped))
            keys = wanted.get(name)
            if keys is None:
                keys = wanted[name] = set()
            keys.add(key)
        return routed, wanted

    def find_open(self, wanted: dict[str, set[str]]) -> dict[tuple[str, str], list]:
        """The open incidents of those keys: (service, key) → [id, status, severity]."""
        found: dict[tuple[str, str], list] = {}
        connection = self.connection
        for name, keys in wanted.items():
            keys = list(keys)
            for start in range(0, len(keys), _KEYS_PER_SELECT):
                for incident_id, key, status, severity in bulk.rows_in(
                        connection, _OPEN_KEYS, {"b_service": name}, "b_keys",
                        keys[start:start + _KEYS_PER_SELECT]):
                    found[(name, key)] = [incident_id, status, severity]
        return found

    def still_firing(self, state: list, key: str, result: Result) -> bool:
        """A resolve for alert `key` of the open `dedup: service` incident of
        `state`: whether other alerts of it still fire (then the record is
        `ignored` and the timeline says which); else the incident resolves."""
        ref = _ref(state)
        text = self.alerts.resolve(ref, key)
        if text is None:
            return False
        self.entries.append((ref, "alert_resolved", text))
        result.action = "ignored"
        _answer(ref, result)
        return True

    def transition(self, action: str, state: list, result: Result, svc: Row) -> bool:
        """Acknowledge or resolve the open incident of `state` ([id, status,
        severity]) in service `svc`, updating `state`; whether anything changed."""
        self.open_new()
        self.write_alerts()  # the alerts so far come first in the timeline
        ref = state[0]
        incident = incidents.get(self.session, ref.id if ref.__class__ is _New else ref)
        if action == "resolve" and incident.status == "triggered" and svc.require_ack_before_resolve:
            self.entries.append((incident.id, "held", HELD))
            result.action, result.incident = "ignored", incident.id
            return False
        try:
            if action == "acknowledge":
                outcome = incidents.acknowledge(self.session, self.now, incident, self.by)
            else:
                outcome = incidents.resolve(self.session, self.now, incident, self.by)
        except (Conflict, UsageError) as e:  # forbidden, or dated before the incident
            result.error, result.incident = e.message, incident.id
            return False
        if outcome.action == incidents.NOOP:
            result.action, result.incident = "ignored", incident.id
            return False
        self.session.flush()  # before a later record of the batch opens the key again
        result.action, result.incident = outcome.action, incident.id
        state[1] = incident.status
        return True

    def change(self, service: str, text: str, result: Result) -> None:
        """A change event: a `change` entry on each open incident of `service`
        (those opened earlier in the batch too); it answers `ignored`."""
        self.open_new()
        self.write_alerts()
        query = select(_INCIDENT.c.id).where(_INCIDENT.c.service == service, m.is_open()).order_by(_INCIDENT.c.id)
        ids = self.connection.execute(query).scalars().all()
        if ids:
            rows = [(incident_id, self.stamp, "change", None, text) for incident_id in ids]
            bulk.executemany(self.connection, _ADD_ENTRIES, _ADD_ENTRIES_COLUMNS, rows)
        result.action = "ignored"

    def open_new(self) -> None:
        """Open the incidents gathered so far, with `incidents.open_incidents`."""
        if not self.new:
            return
        outcomes = incidents.open_incidents(self.session, self.now, [new.args for new in self.new])
        pages = self.batch.pages
        for new, outcome in zip(self.new, outcomes):
            new.id = outcome.incident.id
            for result in new.results:
                result.incident = new.id
            warnings = outcome.warnings + paged_nobody(outcome.events)
            if warnings:
                new.results[0].warnings = new.results[0].warnings + warnings
            pages.extend(e.page for e in outcome.events if e.page is not None)
        self.new = []

    def write_alerts(self) -> None:
        """The alerts added so far: the counts, then the timeline entries, each
        in one executemany."""
        self.tx.flush()
        stamp = self.stamp
        if self.counts:
            rows = [(n, stamp, ref.id if ref.__class__ is _New else ref) for ref, n in self.counts.items()]
            bulk.executemany(self.connection, _ADD_ALERTS, _ADD_ALERTS_COLUMNS, rows)
            self.counts.clear()
        if self.entries:
            rows = [(ref.id if ref.__class__ is _New else ref, stamp, kind, None, text)
                    for ref, kind, text in self.entries]
            bulk.executemany(self.connection, _ADD_ENTRIES, _ADD_ENTRIES_COLUMNS, rows)
            self.entries.clear()
        self.alerts.flush()
        if self.raised:
            rows = [(severity, ref.id if ref.__class__ is _New else ref) for ref, severity in self.raised.items()]
            bulk.executemany(self.connection, _RAISE, _RAISE_COLUMNS, rows)
            self.raised.clear()
            self.tx.expire_all()  # the incidents loaded so far hold the old severity


