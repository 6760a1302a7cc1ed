"""Facts about the database's own work, kept in `pager_instance`: the instant
of the last tick (what `escalate-check`, `watch` and `serve` do each run),
for PRODUCT.md §13's pager_escalate_check_last_run_timestamp_seconds.

The row is made by migration 009_exports, so a tick only updates it: one
indexed UPDATE, the same statement on every engine, safe however many ticks
run at once."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from ..times import to_utc

LAST_TICK_KEY = "escalate_check_last_run"  # the row's key, as migration 009_exports made it

# `pager_instance` as a lightweight table: a tick with nothing due (cron's
# every-minute run) loads no model module (`store.tables`) for its stamp.
_instance = sa.table("pager_instance", sa.column("key", sa.String), sa.column("value", sa.String))


def stamp_tick(session: Session, now: datetime) -> None:
    t = _instance
    session.connection().execute(sa.update(t).where(t.c.key == LAST_TICK_KEY).values(value=to_utc(now).isoformat()))


def last_tick(session: Session) -> datetime | None:
    """When the last tick ran (its clock), or None if none has."""
    t = _instance
    value = session.connection().execute(sa.select(t.c.value).where(t.c.key == LAST_TICK_KEY)).scalar()
    return datetime.fromisoformat(value) if value else None
