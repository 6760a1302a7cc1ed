"""Reading incidents: one by id, listings and their counts, timelines, open
counts per service. Read-only and light: `pager list` and `show` import this,
not the state machine (`lifecycle`) and what it pulls in (the escalation
engine, the outbox and its channels)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from ..errors import NotFound, UsageError
from ..store import tables as m

STATUS_FILTERS = {
    "open": m.OPEN_STATUSES,
    "triggered": ("triggered",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
    "all": None,
}


def get(session: Session, incident_id: int) -> m.Incident:
    incident = session.get(m.Incident, incident_id)
    if incident is None:
        raise NotFound(f"no incident #{incident_id}", hint="`pager list --status all` lists them")
    return incident


def listing(session: Session, status: str = "open", service: str | None = None, since: datetime | None = None,
            limit: int = 100) -> list[m.Incident]:
    """Incidents, newest first."""
    return list(session.exec(listing_query(status, service, since, limit)))


def listing_query(status: str = "open", service: str | None = None, since: datetime | None = None,
                  limit: int = 100):  # noqa: ANN201 - a select of Incident
    """The query of `listing` (to stream its rows); UsageError for an unknown status."""
    query = _listed(select(m.Incident), status, service, since).order_by(col(m.Incident.id).desc())
    if limit:
        query = query.limit(limit)
    return query


def listing_count(session: Session, status: str = "open", service: str | None = None,
                  since: datetime | None = None) -> int:
    """How many incidents `listing_query` finds without a limit: one COUNT query."""
    return session.exec(_listed(select(func.count()).select_from(m.Incident), status, service, since)).one()


def service_known(session: Session, name: str) -> bool:
    """Whether `name` is a service of the config or of some stored incident."""
    services = m.services
    if session.connection().execute(sa.select(services.c.name).where(services.c.name == name)).first() is not None:
        return True
    return session.exec(select(m.Incident.id).where(m.Incident.service == name).limit(1)).first() is not None


def _listed(query, status: str, service: str | None, since: datetime | None):  # noqa: ANN001, ANN202
    if status not in STATUS_FILTERS:
        raise UsageError(f"unknown status {status!r}", hint="one of " + ", ".join(STATUS_FILTERS))
    statuses = STATUS_FILTERS[status]
    if statuses:
        query = query.where(col(m.Incident.status).in_(statuses))
    if service:
        query = query.where(m.Incident.service == service)
    if since is not None:
        query = query.where(m.Incident.created_at >= since)
    return query


def timeline(session: Session, incident_id: int) -> list[m.TimelineEntry]:
    query = select(m.TimelineEntry).where(m.TimelineEntry.incident_id == incident_id).order_by(m.TimelineEntry.id)
    return list(session.exec(query))


def open_counts(session: Session) -> dict[str, int]:
    query = (
        select(m.Incident.service, func.count())
        .where(col(m.Incident.status).in_(m.OPEN_STATUSES))
        .group_by(m.Incident.service)
    )
    return dict(session.exec(query).all())
