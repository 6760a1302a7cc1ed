"""Which incidents have an escalation step due: the question escalate-check asks
first. Cron asks it every minute and the answer is nearly always "none", so it is
one read of the `ix_incident_due` partial index in SQLAlchemy Core, answered
before the escalation engine and the ORM model classes are loaded."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel.sql.sqltypes import UTCDateTime

# the two columns of `incident` (pager_cli.models) this reads, typed as there
_incident = sa.table("incident", sa.column("id", sa.Integer), sa.column("next_escalation_at", UTCDateTime()))
_next = _incident.c.next_escalation_at


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Up to `limit` incidents whose next step is due at `now`, the longest due first."""
    query = sa.select(_incident.c.id).where(_next <= now).order_by(_next).limit(limit)
    return list(session.connection().execute(query).scalars())


def anything_due(db, now: datetime) -> bool:  # noqa: ANN001 - a Database
    with db.read() as session:
        return bool(due_ids(session, now, 1))
