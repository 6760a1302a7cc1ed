"""The incident commands as functions: each owns its transaction and returns
plain results (`IncidentView`s, dicts) and the events of the work it did (the
pages to deliver once committed). The CLI parses, calls one, renders."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from ..errors import NotFound, PagerError, UsageError


@dataclass(frozen=True)
class EntryView:
    at: datetime
    kind: str
    by: str | None
    text: str


@dataclass(frozen=True)
class IncidentView:
    """An incident as read, detached from the database."""

    id: int
    service: str
    title: str
    severity: str
    status: str
    dedup_key: str
    alert_count: int
    assignees: list
    escalation_level: int
    created_at: datetime
    last_alert_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    details: Any
    held_until: datetime | None = None  # in maintenance until then: nobody paged
    snoozed_until: datetime | None = None
    timeline: list[EntryView] | None = None
    deliveries: list[dict] | None = None  # `show` only: the outbox's rows, oldest first, as JSON documents

    @classmethod
    def of(cls, incident, entries=None, deliveries=None) -> "IncidentView":  # noqa: ANN001 - a stored Incident
        values = {f.name: getattr(incident, f.name) for f in fields(cls) if f.name not in ("timeline", "deliveries")}
        timeline = [EntryView(e.at, e.kind, e.by, e.text) for e in entries] if entries is not None else None
        return cls(**values, timeline=timeline, deliveries=deliveries)

    def to_json(self) -> dict:
        from ..incidents.views import to_json

        doc = to_json(self, self.timeline)
        if self.timeline is not None:  # `show`: its timers too
            from ..times import iso

            doc["held_until"] = iso(self.held_until)
            doc["snoozed_until"] = iso(self.snoozed_until)
        if self.deliveries is not None:
            doc["deliveries"] = self.deliveries
        return doc


@dataclass
class Triggered:
    action: str  # "created" | "deduplicated"
    incident: IncidentView
    warnings: list[str]
    pages: list
    deliveries: list = field(default_factory=list)  # outcomes of what was sent after the commit


@dataclass
class Transitioned:
    """One target of ack/resolve/escalate: done (`incident`), a no-op (`message`), or failed (`error`)."""

    target: int | str
    action: str | None = None
    incident: IncidentView | None = None
    message: str | None = None  # a no-op, said on stderr
    error: PagerError | None = None
    pages: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # said on stderr, such as a level that paged nobody


@dataclass
class Transitions:
    results: list[Transitioned]
    exit_code: int  # the worst of the failures; 0 when none failed
    deliveries: list = field(default_factory=list)  # outcomes of what was sent after the commits

    @property
    def done(self) -> list[Transitioned]:
        return [r for r in self.results if r.error is None]


ID_MIN, ID_MAX = -(2**63), 2**63 - 1  # what the database stores: a 64-bit signed integer


def check_ids(ids: Iterable[int]) -> None:
    """UsageError naming the first id past a 64-bit signed integer (no incident
    can have it): checked for every id before a command does anything."""
    for incident_id in ids:
        if not ID_MIN <= incident_id <= ID_MAX:
            raise UsageError(f"incident id {incident_id} is out of range", hint=f"ids go up to {ID_MAX}")


def send_due(db, now: datetime) -> list:  # noqa: ANN001
    from .tick import send_due as send

    return send(db, now)


def trigger(db, now: datetime, service: str | None, title: str, severity: str, dedup_key: str | None,  # noqa: ANN001
            details: str | None) -> Triggered:
    from ..escalation.engine import paged_nobody
    from ..incidents import lifecycle as incidents
    from ..severity import normalize_severity

    if not service:
        raise UsageError("trigger needs --service", hint='pager trigger --service payments "DB down"')
    level = normalize_severity(severity)
    if level is None:
        raise UsageError(f"unknown severity {severity!r}", hint="critical, error, warning or info")
    doc = _details(details)

    def work(session):  # noqa: ANN001, ANN202 - run again from the start on a conflict the engine gave up on
        outcome = incidents.trigger(session, now, service, title, level, dedup_key, doc)
        return outcome, IncidentView.of(outcome.incident)

    outcome, view = db.retried(work, "claim")  # beside other triggers: it locks the incident of its key
    sent = send_due(db, now) if outcome.action == "created" else []
    warnings = list(outcome.warnings) + paged_nobody(outcome.events)
    return Triggered(outcome.action, view, warnings, _pages(outcome.events), sent)


def stream_defaults(severity: str | None, dedup_key: str | None, details: str | None):  # noqa: ANN201
    """`trigger -`'s --severity, --dedup-key and --details, checked (UsageError)
    before stdin is read: the defaults of the records that lack them."""
    from ..alerts.record import MAX_KEY_CHARS
    from ..severity import DEFAULT_SEVERITY, normalize_severity
    from .ingest import Defaults

    level = DEFAULT_SEVERITY
    if severity is not None:
        level = normalize_severity(severity)
        if level is None:
            raise UsageError(f"unknown severity {severity!r}", hint="critical, error, warning or info")
    if dedup_key is not None and not dedup_key:
        raise UsageError("--dedup-key is empty")
    if dedup_key is not None and len(dedup_key) > MAX_KEY_CHARS:
        raise UsageError(f"--dedup-key is longer than {MAX_KEY_CHARS} characters")
    return Defaults(level, dedup_key, _details(details) or None)


def _details(text: str | None) -> dict:
    """--details: a JSON object under the rules of a stdin record (exit 2 otherwise)."""
    if not text:
        return {}
    from ..alerts.json_strict import parse_details

    return parse_details(text)


def _pages(events) -> list:  # noqa: ANN001
    return [e.page for e in events if e.page is not None]


def transition(db, now: datetime, action: str, targets: list[int | str], service: str | None,  # noqa: ANN001
               by: str) -> Transitions:
    """`action` (acknowledge, resolve, escalate) on each target — an id, or a
    dedup key of an open incident (of `service`) — each in its own transaction."""
    from ..escalation.engine import paged_nobody
    from ..incidents import lifecycle as incidents

    if not targets:
        raise UsageError(f"{action} needs incident ids or --key")
    check_ids(t for t in targets if not isinstance(t, str))  # all of them, before any is touched
    function = {"acknowledge": incidents.acknowledge, "resolve": incidents.resolve,
                "escalate": incidents.escalate}[action]
    results, worst = [], 0
    for target in targets:
        def work(session, target=target):  # noqa: ANN001, ANN202 - run again from the start on a conflict
            if isinstance(target, str):
                incident = incidents.find_by_key(session, target, service)
            else:
                incident = incidents.get(session, target)
            outcome = function(session, now, incident, by)
            return outcome, IncidentView.of(outcome.incident)

        try:
            outcome, view = db.retried(work)
        except PagerError as e:
            results.append(Transitioned(target, error=e))
            worst = max(worst, e.exit_code)
            continue
        noop = outcome.action == incidents.NOOP
        results.append(Transitioned(target, outcome.action, view, outcome.message if noop else None,
                                    pages=_pages(outcome.events), warnings=paged_nobody(outcome.events)))
    done = any(r.error is None and r.message is None for r in results)
    return Transitions(results, worst, send_due(db, now) if done else [])


def snooze(db, now: datetime, incident_id: int, length: str, by: str) -> IncidentView:  # noqa: ANN001
    """`pager snooze ID --for DURATION`: an acknowledged incident, triggered
    again at its current level when the snooze runs out (Conflict, exit 4,
    for any other)."""
    from ..incidents import lifecycle as incidents
    from ..times import parse_duration
    from ..timers.incidents import snooze as snooze_

    span = parse_duration(length)

    def work(session):  # noqa: ANN001, ANN202 - run again from the start on a conflict the engine gave up on
        incident = incidents.get(session, incident_id)
        snooze_(session, now, incident, span, by)
        return IncidentView.of(incident)

    return db.retried(work)


def note(db, now: datetime, incident_id: int, text: str, by: str) -> IncidentView:  # noqa: ANN001
    from ..incidents import lifecycle as incidents

    check_ids([incident_id])

    def work(session):  # noqa: ANN001, ANN202 - run again from the start on a conflict the engine gave up on
        incident = incidents.get(session, incident_id)
        incidents.add_note(session, now, incident, text, by)
        return IncidentView.of(incident)

    return db.retried(work)


LIST_CHUNK = 500  # rows read from the database at a time


def listing(db, status: str = "open", service: str | None = None, since: datetime | None = None,  # noqa: ANN001
            limit: int = 100) -> Iterator[IncidentView]:
    """Incidents, newest first, read as they are iterated (`limit` 0: all of
    them, in chunks of LIST_CHUNK, never all in memory). A bad status fails
    before the first row."""
    from ..incidents import queries as incidents

    query = incidents.listing_query(status, service, since, limit)
    if service:
        with db.read() as session:
            if not incidents.service_known(session, service):
                raise NotFound(f"no service {service!r}", hint="`pager services` lists them")
    return _stream(db, query)


def listing_total(db, status: str = "open", service: str | None = None,  # noqa: ANN001
                  since: datetime | None = None) -> int:
    """How many incidents `listing` would show without a limit (one COUNT)."""
    from ..incidents import queries as incidents

    with db.read() as session:
        return incidents.listing_count(session, status, service, since)


def _stream(db, query) -> Iterator[IncidentView]:  # noqa: ANN001
    with db.read() as session:
        for row in session.exec(query.execution_options(yield_per=LIST_CHUNK)):
            yield IncidentView.of(row)


def show(db, incident_id: int) -> IncidentView:  # noqa: ANN001
    from ..incidents import queries as incidents

    from ..notify import outbox

    check_ids([incident_id])
    with db.read() as session:
        incident = incidents.get(session, incident_id)
        sent = outbox.deliveries(session, incident=incident_id, limit=0)[::-1]
        return IncidentView.of(incident, incidents.timeline(session, incident_id), sent)


def services(db, now: datetime) -> list[dict]:  # noqa: ANN001
    """Each service: healthy or not (open incidents), its escalation policy,
    the end of the maintenance it is in (or None) and its late heartbeats."""
    import sqlalchemy as sa

    from ..config import catalog
    from ..heartbeats.beat import state
    from ..incidents import queries as incidents
    from ..maintenance.windows import until
    from ..store import tables as m
    from ..times import iso

    with db.read() as session:
        rows = catalog.services(session)
        counts = incidents.open_counts(session)
        held = {s.name: until(session, s.name, now) for s in rows}
        late: dict[str, list[str]] = {}
        for hb in session.connection().execute(sa.select(m.heartbeats).order_by(m.heartbeats.c.name)):
            if state(hb, now) == "late":
                late.setdefault(hb.service, []).append(hb.name)
    return [
        {"service": s.name, "healthy": counts.get(s.name, 0) == 0, "open_incidents": counts.get(s.name, 0),
         "escalation_policy": s.escalation_policy, "dedup": s.dedup,
         "require_ack_before_resolve": s.require_ack_before_resolve,
         "maintenance_until": iso(held[s.name]), "late_heartbeats": late.get(s.name, [])}
        for s in rows
    ]
