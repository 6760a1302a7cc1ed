"""Incidents: trigger with dedup, the state machine (acknowledge, resolve,
escalate), notes, look-ups and the JSON shape.

Every function takes the Session of a write transaction (`Database.write()`
or `claim()`). A trigger locks the open incident of its key (FOR UPDATE; on
SQLite the transaction's BEGIN IMMEDIATE holds everything), and opens one
where it found none with the dedup statement (`dedup.open_or_fold`), which
folds the alert into the incident another transaction opened meanwhile: so
triggers may run beside each other (PostgreSQL) and still leave one open
incident per (service, key), which the partial unique index guards again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Row
from sqlmodel import Session, col, select

from ..config import catalog
from ..escalation import engine as escalation
from ..store import tables as m
from ..alerts.record import MAX_TITLE_CHARS as TITLE_MAX
from ..errors import Conflict, NotFound, UsageError
from ..escalation.engine import Event, add_timeline
from . import dedup
from .alerts import Alerts
from .queries import get  # noqa: F401 - with the transitions that need it
from ..notify import outbox
from ..severity import raised_text, raises
from ..times import iso

NOOP = "noop"

# The state machine, in one place: (status, action) → new status, or NOOP.
# Anything missing is forbidden (exit 4).
TRANSITIONS: dict[tuple[str, str], str] = {
    ("triggered", "acknowledge"): "acknowledged",
    ("acknowledged", "acknowledge"): NOOP,
    ("triggered", "resolve"): "resolved",
    ("acknowledged", "resolve"): "resolved",
    ("resolved", "resolve"): NOOP,
    ("triggered", "escalate"): "triggered",
    ("acknowledged", "escalate"): "triggered",
}




@dataclass
class Outcome:
    """What one trigger or transition did."""

    incident: m.Incident
    action: str  # created | deduplicated | acknowledged | resolved | escalated | noted | noop
    events: list[Event] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    message: str = ""


def elapsed_ms(start: datetime, end: datetime) -> int:
    """Whole milliseconds from `start` to `end` (stored for MTTA and MTTR)."""
    return round((end - start).total_seconds() * 1000)


def auto_key(title: str) -> str:
    return "auto:" + hashlib.sha256(title.encode("utf-8", "surrogatepass")).hexdigest()


def alert_key_for(title: str, key: str | None) -> str:
    """An alert's own key: the given one, else `auto:` + sha256 of the title."""
    return key if key else auto_key(title)


def dedup_key_for(service: Row, title: str, key: str | None) -> str:
    """The dedup key: the service itself under `dedup: service` (where each
    alert keeps its own key: `incidents.alerts`), else the alert's key."""
    return service.name if service.dedup == "service" else alert_key_for(title, key)


def clean_title(title: str | None) -> str:
    """Stripped, and cut at TITLE_MAX characters exactly as stdin records are."""
    text = (title or "").strip()
    if not text:
        raise UsageError("an alert needs a title")
    return text[:TITLE_MAX].rstrip()


def find_open(session: Session, service: str, key: str) -> m.Incident | None:
    """The open incident of (service, key), locked until the transaction ends (FOR UPDATE)."""
    query = select(m.Incident).where(m.Incident.dedup_key == key, m.Incident.service == service, m.is_open())
    return session.exec(query.with_for_update().execution_options(populate_existing=True)).first()




def trigger(session: Session, now: datetime, service: str, title: str, severity: str = "error",
            dedup_key: str | None = None, details: dict | None = None) -> Outcome:
    """Open an incident, or add an alert to the open one with the same key."""
    svc = catalog.service(session, service)
    title = clean_title(title)
    key = dedup_key_for(svc, title, dedup_key)
    existing = find_open(session, svc.name, key)
    if existing is None:  # opened, or folded into the incident another transaction opened meanwhile
        outcome = open_incidents(session, now, [(svc, title, severity, key, details or {})])[0]
        if outcome.action == "deduplicated":
            _alert_added(session, now, outcome.incident, title, severity)
    else:
        existing.alert_count += 1
        existing.last_alert_at = now
        session.add(existing)
        outcome = _alert_added(session, now, existing, title, severity)
    if svc.dedup == "service":
        alerts = Alerts(session.connection(), now)
        alerts.fire(outcome.incident.id, alert_key_for(title, dedup_key), title)
        alerts.flush()
    return outcome


def _alert_added(session: Session, now: datetime, incident: m.Incident, title: str, severity: str) -> Outcome:
    """An alert added to `incident` (counted already): its timeline entry, and
    the incident's severity raised to the alert's if that is higher (never lowered)."""
    add_timeline(session, incident.id, now, "alert", title)
    if raises(severity, incident.severity):
        add_timeline(session, incident.id, now, "severity", raised_text(incident.severity, severity))
        incident.severity = severity
        session.add(incident)
    return Outcome(incident, "deduplicated")


def open_incidents(session: Session, now: datetime,
                   new: list[tuple[Row, str, str, str, dict]]) -> list[Outcome]:
    """For each (service, title, severity, key, details) whose key the
    transaction found no open incident for (no two with the same service and
    key): open one, or fold the alert into the one another transaction opened
    meanwhile — one statement for all (`dedup.open_or_fold`). An opened one
    gets its timeline, assignment and pages (`created`); a fold is counted,
    its timeline entry and severity left to the caller (`deduplicated`)."""
    session.flush()
    done = dedup.open_or_fold(session.connection(), [
        dedup.row(svc.name, key, title, severity, svc.escalation_policy, details, now)
        for svc, title, severity, key, details in new])
    ids = [done[(svc.name, key)].id for svc, _, _, key, _ in new]
    query = select(m.Incident).where(col(m.Incident.id).in_(ids)).execution_options(populate_existing=True)
    loaded = {incident.id: incident for incident in session.exec(query)}
    outcomes = []
    for (svc, *_), incident_id in zip(new, ids):
        incident = loaded[incident_id]
        if not done[(svc.name, incident.dedup_key)].created:
            outcomes.append(Outcome(incident, "deduplicated"))
            continue
        add_timeline(session, incident.id, now, "triggered", incident.title)
        if svc.auto_resolve_s:  # resolved then at the earliest (timers move it past later alerts)
            incident.auto_resolve_at = now + timedelta(seconds=svc.auto_resolve_s)
        events = escalation.start(session, incident, now)
        warnings = [] if incident.escalation_policy else [f"service {svc.name} has no escalation policy: incident #{incident.id} is unassigned"]
        if incident.held_until is not None:
            warnings.append(f"service {svc.name} is in maintenance until {iso(incident.held_until)}:"
                            f" incident #{incident.id} pages nobody until then")
        session.add(incident)
        outcomes.append(Outcome(incident, "created", events, warnings))
    return outcomes


def find_by_key(session: Session, key: str, service: str | None = None) -> m.Incident:
    """The open incident with dedup key `key` (in `service`, if given)."""
    query = select(m.Incident).where(m.Incident.dedup_key == key, m.is_open())
    if service:
        query = query.where(m.Incident.service == service)
    found = list(session.exec(query.limit(2)))
    if not found:
        where = f" in service {service}" if service else ""
        raise NotFound(f"no open incident with key {key!r}{where}")
    if len(found) > 1:
        raise UsageError(f"key {key!r} is open in several services", hint="name one with --service")
    return found[0]


def _transition(incident: m.Incident, action: str) -> str:
    target = TRANSITIONS.get((incident.status, action))
    if target is None:
        raise Conflict(f"cannot {action} incident #{incident.id}: it is {incident.status}")
    return target


def _not_before_creation(incident: m.Incident, action: str, now: datetime) -> None:
    """An acknowledgement or resolution dated (--now) before the incident was
    created would make MTTA/MTTR negative: a usage error."""
    if now < incident.created_at:
        raise UsageError(f"cannot {action} incident #{incident.id} at {iso(now)}: it was created at "
                         f"{iso(incident.created_at)}", hint="check --now / PAGER_NOW")


def acknowledge(session: Session, now: datetime, incident: m.Incident, by: str | None) -> Outcome:
    if _transition(incident, "acknowledge") == NOOP:
        return Outcome(incident, NOOP, message=f"incident #{incident.id} is already acknowledged")
    _not_before_creation(incident, "acknowledge", now)
    incident.status = "acknowledged"
    incident.acknowledged_at = now
    incident.acknowledged_by = by
    if incident.first_acknowledged_at is None:
        incident.first_acknowledged_at = now
        incident.ack_ms = elapsed_ms(incident.created_at, now)
    svc = catalog.find_service(session, incident.service)
    timeout = svc.ack_timeout_s if svc is not None else None
    # not resolved within the service's ack_timeout: triggered again then (escalation.engine._wake)
    incident.next_escalation_at = now + timedelta(seconds=timeout) if timeout else None
    incident.held_until = None
    incident.snoozed_until = None
    add_timeline(session, incident.id, now, "acknowledged", "", by=by)
    outbox.on_transition(session, incident, "acknowledged", now)
    session.add(incident)
    return Outcome(incident, "acknowledged")


def resolve(session: Session, now: datetime, incident: m.Incident, by: str | None) -> Outcome:
    if _transition(incident, "resolve") == NOOP:
        return Outcome(incident, NOOP, message=f"incident #{incident.id} is already resolved")
    _not_before_creation(incident, "resolve", now)
    if incident.status == "triggered":
        svc = catalog.find_service(session, incident.service)
        if svc is not None and svc.require_ack_before_resolve:
            raise Conflict(
                f"cannot resolve incident #{incident.id}: service {svc.name} requires an acknowledgement first",
                hint=f"pager ack {incident.id}",
            )
    incident.status = "resolved"
    incident.resolved_at = now
    incident.resolve_ms = elapsed_ms(incident.created_at, now)
    incident.resolved_by = by
    incident.next_escalation_at = None
    incident.held_until = incident.snoozed_until = incident.auto_resolve_at = None
    add_timeline(session, incident.id, now, "resolved", "", by=by)
    outbox.on_transition(session, incident, "resolved", now)
    session.add(incident)
    return Outcome(incident, "resolved")


def escalate(session: Session, now: datetime, incident: m.Incident, by: str | None) -> Outcome:
    """Move to the next level now (after the last level: level 0 of a new pass).
    An acknowledged incident goes back to triggered."""
    _transition(incident, "escalate")
    policy, _ = escalation.follow(session, incident, now)
    if policy is None:
        raise Conflict(f"cannot escalate incident #{incident.id}: service {incident.service} has no escalation policy")
    incident.status = "triggered"
    incident.acknowledged_at = None
    incident.acknowledged_by = None
    incident.held_until = incident.snoozed_until = None  # a person asked for it
    events = escalation.step(session, incident, policy, now, wrap=True, by=by)
    session.add(incident)
    return Outcome(incident, "escalated", events)


def add_note(session: Session, now: datetime, incident: m.Incident, text: str, by: str | None) -> Outcome:
    if not text.strip():
        raise UsageError("a note needs some text")
    add_timeline(session, incident.id, now, "note", text, by=by)
    return Outcome(incident, "noted")
