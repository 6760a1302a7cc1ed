"""Whether a heartbeat went late or an incident is due to auto-resolve: the
question every tick asks before loading the timers. One statement over two
partial indexes (`ix_heartbeat_late`, `ix_incident_auto_resolve`), in
SQLAlchemy Core, so cron's every-minute run with nothing due loads no ORM
model."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import UTCDateTime

# the columns this reads, typed as in store/tables
_heartbeat = sa.table("heartbeat", sa.column("late_at", UTCDateTime()))
_incident = sa.table("incident", sa.column("auto_resolve_at", UTCDateTime()))


def anything_due(db, now: datetime) -> bool:  # noqa: ANN001 - a Database
    late = sa.exists().where(_heartbeat.c.late_at <= now)
    resolving = sa.exists().where(_incident.c.auto_resolve_at <= now)
    with db.read() as session:
        return any(session.connection().execute(sa.select(late, resolving)).one())
