"""One batch of stream records inside its write transaction (`ingest`
commits them a batch at a time): what each record does, in stream order.

- a trigger whose key has an open incident adds an alert to it. The batch's
  alerts cost no statement each: the counts go out as one executemany UPDATE
  (`alert_count + n`, `last_alert_at`) and their `alert` timeline entries as
  one executemany INSERT;
- a trigger whose key has none opens an incident, through the code of
  `pager trigger` (`incidents.open_incidents`: the dedup statement, then the
  incident's timeline, level-0 assignment and pages); later records of the
  batch with that key add alerts to it. The incidents to open are gathered
  and opened together, before the next acknowledgement or resolution and at
  the end of the batch;
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
- an alert more severe than its incident raises the incident's severity (a
  `severity` timeline entry after its `alert` entry); a less severe one never
  lowers it;
- a change event (PagerDuty's `/v2/change/enqueue`) opens nothing and pages
  no one: it adds a `change` entry to each open incident of its service and
  answers `ignored`.

So a batch costs a handful of statements: the services, one SELECT of the open
incidents of its keys per service, the two executemany writes, the dedup
statement for the keys that had no open incident, and a few ORM statements
per new incident or transition, which are rare next to duplicates.

Batches run beside each other where the engine has row locks (PostgreSQL: a
`claim` transaction, the write lock held shared), and still never step on
each other: a batch first locks its (service, key) pairs (`apply_all`, in
one order all batches share, so two batches that open the same new keys in
different orders queue instead of deadlocking), then the SELECT locks the
open incidents of its keys (FOR UPDATE, in id order), so nothing else
acknowledges, resolves, steps or adds to them until the commit; a key found
closed is opened by the dedup statement, which folds the alerts into the
incident another batch opened meanwhile instead (one incident per key; the
record answers `deduplicated`, nobody is paged again, its alert keys and
severity are merged with what that incident holds).

Routing is `routing.py`'s (its docstring says how a record finds its service).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Row

from ..alerts.record import Alert
from ..config import catalog
from ..errors import Conflict, UsageError
from ..escalation.engine import paged_nobody
from ..incidents import lifecycle as incidents
from ..incidents.alerts import Alerts
from ..notify.console import PageMessage
from ..severity import raised_text, raises
from ..store import bulk
from ..store import tables as m
from ..store.db import Transaction
from ..store.dialect import of
from .routing import route_unnamed

_KEYS_PER_SELECT = 500  # bound parameters per look-up, well under any SQLite limit

_INCIDENT = m.Incident.__table__
_TIMELINE = m.TimelineEntry.__table__
# The open incidents of some keys of one service. The statuses are rendered
# literally, so that SQLite may use the partial index on open keys. Where
# batches run side by side, each locks them (in id order) until it commits.
_OPEN_KEYS = select(_INCIDENT.c.id, _INCIDENT.c.dedup_key, _INCIDENT.c.status, _INCIDENT.c.severity).where(
    _INCIDENT.c.service == bindparam("b_service"),
    _INCIDENT.c.dedup_key.in_(bindparam("b_keys", expanding=True)),
    m.is_open(),
)
_OPEN_KEYS_LOCKED = _OPEN_KEYS.order_by(_INCIDENT.c.id).with_for_update()
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
HELD = "resolved by the source; needs an acknowledgement"
_OPENING = None  # the kind of the entry of the alert that opens a _New: none if it opened, `alert` if it folded


@dataclass(slots=True)
class Result:
    """What became of one record."""

    record: int
    line: int
    action: str  # one of ingest.ACTIONS
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


def unapplied(alerts: list[Alert]) -> Batch:
    """The batch of `alerts` before it is applied: each an error until `Apply` says otherwise."""
    return Batch([Result(a.record, a.line, "error", None, None, a.error, a.warnings) for a in alerts], [])


class _New:
    """An incident to open, gathered until `Apply.open_new`."""

    __slots__ = ("args", "results", "id", "created")

    def __init__(self, args: tuple, result: Result):
        self.args = args  # for incidents.open_incidents
        self.results = [result]  # the record that opens it, then those that add alerts to it
        self.id: int | None = None
        self.created = False  # opened (else folded into the incident another transaction opened)


def _ref(state: list):  # noqa: ANN202 - an incident id, or a _New not opened yet
    """The incident of `state` ([id or _New, status]): its id once opened."""
    ref = state[0]
    if ref.__class__ is _New and ref.id is not None:  # opened since
        ref = state[0] = ref.id
    return ref


def _id(ref) -> int:  # noqa: ANN001
    return ref.id if ref.__class__ is _New else ref


def _answer(ref, result: Result) -> None:  # noqa: ANN001
    """`result` names the incident of `ref`: now, or when that one is opened."""
    if ref.__class__ is _New:
        ref.results.append(result)
    else:
        result.incident = ref


def apply_all(batches: list[tuple[Apply, list[Alert]]]) -> None:
    """Each batch (an `Apply` and its alerts) in order, in the one transaction
    they share. The keys of all of them are locked first, together
    (`lock_keys`, in the one order every transaction takes them in), so that
    a transaction of several batches (`serve`'s group commit) never holds one
    batch's keys while it waits for another's."""
    routed = [apply.route(alerts, apply.batch.results) for apply, alerts in batches]
    if batches:
        connection = batches[0][0].connection
        of(connection).lock_keys(connection, ((name, key) for _, wanted in routed
                                              for name, keys in wanted.items() for key in keys))
    for (apply, alerts), (targets, wanted) in zip(batches, routed):
        apply.run(alerts, targets, wanted)


class Apply:
    """One batch, inside its transaction (see the module docstring); run by `apply_all`."""

    def __init__(self, tx: Transaction, now: datetime, fallback: str | None, by: str | None, batch: Batch,
                 warned: set[str], services: list[Row] | None = None):
        self.tx = tx  # its Session is made when first needed: a batch of repeats needs none
        self.connection = tx.connection  # the transaction's (begun: SQLite took the write lock)
        self.services, self.warned, self.now = services, warned, now
        self.fallback, self.by, self.batch = fallback, by, batch
        self.stamp = bulk.stored(self.connection, _INCIDENT.c.last_alert_at, now)  # once for every row
        self.counts: dict = {}  # incident id (or _New) → alerts added
        # (incident id or _New, kind, text, severity of an alert or None) of the timeline entries to write
        self.entries: list[tuple] = []
        self.severity: dict[int, str] = {}  # incident id → its severity (as raised by the entries written)
        self.raised: dict[int, str] = {}  # incident id → the severity it is raised to
        self.new: list[_New] = []  # gathered, not opened yet
        self.alerts = Alerts(self.connection, now)  # the alert keys of `dedup: service` incidents

    session = property(lambda self: self.tx.session)

    def run(self, alerts: list[Alert], routed: list, wanted: dict[str, set[str]]) -> None:
        """Apply `alerts`, routed (`route`), their keys locked (`apply_all`)."""
        results = self.batch.results
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
                    entries.append((new, _OPENING, title, alert.severity))
                    if target[3] is not None:
                        self.alerts.fire(new, target[3], title)
                    open_now[where] = [new, "triggered"]
                    result.action = "created"
                    continue
                ref = _ref(state)
                if target[3] is not None:
                    self.alerts.fire(ref, target[3], target[2])
                counts[ref] = counts.get(ref, 0) + 1
                entries.append((ref, "alert", target[2], alert.severity))
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
        """The open incidents of those keys, locked where batches run side by
        side: (service, key) → [id, status]."""
        found: dict[tuple[str, str], list] = {}
        connection = self.connection
        query = _OPEN_KEYS_LOCKED if of(connection).claims_share else _OPEN_KEYS
        severity = self.severity
        for name in sorted(wanted):
            keys = sorted(wanted[name])
            for start in range(0, len(keys), _KEYS_PER_SELECT):
                for incident_id, key, status, level in bulk.rows_in(
                        connection, query, {"b_service": name}, "b_keys", keys[start:start + _KEYS_PER_SELECT]):
                    found[(name, key)] = [incident_id, status]
                    severity[incident_id] = level
        return found

    def still_firing(self, state: list, key: str, result: Result) -> bool:
        """A resolve for alert `key` of the open `dedup: service` incident of
        `state`: whether other alerts of it still fire (then the record is
        `ignored` and the timeline says which); else the incident resolves."""
        if state[0].__class__ is _New:  # opened first: it may have folded into an incident with alerts of its own
            self.open_new()
            self.write_alerts()
        ref = _ref(state)
        text = self.alerts.resolve(ref, key)
        if text is None:
            return False
        self.entries.append((ref, "alert_resolved", text, None))
        result.action = "ignored"
        _answer(ref, result)
        return True

    def transition(self, action: str, state: list, result: Result, svc: Row) -> bool:
        """Acknowledge or resolve the open incident of `state` ([id, status]) in
        service `svc`, updating `state`; whether anything changed."""
        self.open_new()
        self.write_alerts()  # the alerts so far come first in the timeline
        incident = incidents.get(self.session, _id(state[0]))
        if action == "resolve" and incident.status == "triggered" and svc.require_ack_before_resolve:
            self.entries.append((incident.id, "held", HELD, None))
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
        """Open the incidents gathered so far (`incidents.open_incidents`), or
        fold their first alerts into those other batches opened meanwhile."""
        if not self.new:
            return
        outcomes = incidents.open_incidents(self.session, self.now, [new.args for new in self.new])
        pages = self.batch.pages
        for new, outcome in zip(self.new, outcomes):
            new.id = outcome.incident.id
            self.severity[new.id] = outcome.incident.severity
            for result in new.results:
                result.incident = new.id
            if outcome.action != "created":  # another batch opened it first: its pages were that batch's
                new.results[0].action = "deduplicated"
                continue
            new.created = True
            warnings = outcome.warnings + paged_nobody(outcome.events)
            if warnings:
                new.results[0].warnings = new.results[0].warnings + warnings
            pages.extend(e.page for e in outcome.events if e.page is not None)
        self.new = []

    def write_alerts(self) -> None:
        """The alerts added so far: the counts, then the timeline entries (with
        the severity each alert raised), each in one executemany."""
        self.tx.flush()
        stamp = self.stamp
        if self.counts:
            rows = [(n, stamp, _id(ref)) for ref, n in self.counts.items()]
            bulk.executemany(self.connection, _ADD_ALERTS, _ADD_ALERTS_COLUMNS, rows)
            self.counts.clear()
        if self.entries:
            rows = []
            severity, raised = self.severity, self.raised
            for ref, kind, text, level in self.entries:
                incident_id = _id(ref)
                if kind is _OPENING:
                    if ref.created:  # its `triggered` entry is written; it has the alert's severity
                        continue
                    kind = "alert"
                rows.append((incident_id, stamp, kind, None, text))
                if raises(level, severity[incident_id]):
                    rows.append((incident_id, stamp, "severity", None, raised_text(severity[incident_id], level)))
                    severity[incident_id] = raised[incident_id] = level
            if rows:
                bulk.executemany(self.connection, _ADD_ENTRIES, _ADD_ENTRIES_COLUMNS, rows)
            self.entries.clear()
        self.alerts.flush()
        if self.raised:
            rows = [(level, incident_id) for incident_id, level in self.raised.items()]
            bulk.executemany(self.connection, _RAISE, _RAISE_COLUMNS, rows)
            self.raised.clear()
            self.tx.expire_all()  # the incidents loaded so far hold the old severity
