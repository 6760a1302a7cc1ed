"""Which incidents have an escalation step due: the question escalate-check asks
first. Cron asks it every minute and the answer is nearly always "none", so it is
one read of the `ix_incident_due` partial index in SQLAlchemy Core, answered
before the escalation engine and the ORM model classes are loaded."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel.sql.sqltypes import UTCDateTime

# the columns of `incident` (pager_cli.models) this reads, typed as there
_incident = sa.table("incident", sa.column("id", sa.Integer), sa.column("next_escalation_at", UTCDateTime()),
                     sa.column("status"), sa.column("service"), sa.column("escalation_policy"))
_next = _incident.c.next_escalation_at


def due_ids(session: Session, now: datetime, limit: int, claim: bool = False, wait: bool = False) -> list[int]:
    """Up to `limit` incidents whose next step is due at `now`, the longest due
    first. `claim`: lock them, skipping those another transaction holds (FOR
    UPDATE SKIP LOCKED; nothing on SQLite, whose one writer holds everything);
    with `wait`, waiting for those instead (and leaving out any that the
    holder left no longer due)."""
    query = sa.select(_incident.c.id).where(_next <= now).order_by(_next).limit(limit)
    if claim:
        query = query.with_for_update(skip_locked=not wait)
    return list(session.connection().execute(query).scalars())


def anything_due(db, now: datetime) -> bool:  # noqa: ANN001 - a Database
    with db.read() as session:
        return bool(due_ids(session, now, 1))


def rearm(session: Session, now: datetime) -> int:
    """After a config change: every triggered incident whose recorded policy is
    not its service's current one (renamed, swapped, removed, or back) is made
    due at `now` at the latest, so the next escalate-check moves it to the
    current policy (`escalation.follow`). An exhausted incident stays stopped.
    Returns how many were re-armed."""
    svc = sa.table("service", sa.column("name"), sa.column("escalation_policy"))
    pol = sa.table("escalation_policy", sa.column("name"))
    current = (sa.select(pol.c.name).select_from(svc.join(pol, pol.c.name == svc.c.escalation_policy))
               .where(svc.c.name == _incident.c.service).scalar_subquery())
    query = (
        sa.update(_incident)
        .where(_incident.c.status == "triggered",
               sa.or_(_next.is_not(None), _incident.c.escalation_policy.is_(None)),
               _incident.c.escalation_policy.is_distinct_from(current))
        .values(next_escalation_at=sa.case((_next < now, _next), else_=now))
    )
    return session.connection().execute(query).rowcount
