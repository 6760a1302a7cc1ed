"""Whether the outbox has anything to do: the question every tick (and every
command that made deliveries) asks before loading the outbox. One read of the
`ix_delivery_due` and `ix_delivery_waiting` partial indexes in SQLAlchemy Core,
so cron's every-minute run with nothing due loads no ORM model."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel.sql.sqltypes import UTCDateTime

# the columns of `delivery` (store/tables/delivery.py) this reads, typed as there
_delivery = sa.table("delivery", sa.column("state"), sa.column("due_at", UTCDateTime()),
                     sa.column("claimed_until", UTCDateTime()), sa.column("bundle_id"))
_d = _delivery.c
_SCAN = 64  # due rows looked at: more than that and something is surely due


def anything_due(db, now: datetime) -> bool:  # noqa: ANN001 - a Database
    """A pending delivery due at `now`, a claim that has expired, or a held
    (`bundled`) delivery waiting for its digest."""
    with db.read() as session:
        conn = session.connection()
        rows = conn.execute(sa.select(_d.state, _d.claimed_until)
                            .where(_d.state.in_(("pending", "sending")), _d.due_at <= now).limit(_SCAN)).all()
        if any(state == "pending" or (until is not None and until <= now) for state, until in rows):
            return True
        if len(rows) == _SCAN:
            return True
        waiting = sa.select(sa.literal(1)).where(_d.state == "bundled", _d.bundle_id.is_(None)).limit(1)
        return conn.execute(waiting).first() is not None
