"""Schema versions: an ordered list of named migrations, each run once, in a
write transaction, and recorded in `pager_migration`, which is the source of
truth for what a database has (`db` reads it on open; SQLite's user_version
only mirrors its count, as a cheap first check).

Migrations are frozen history. Their steps (`migration_steps`, imported only
to migrate) build tables with SQLAlchemy Core, not from the live models, so
that a database at any earlier version upgrades to exactly the schema a new
database gets. A schema change is a new entry at the
end of MIGRATIONS; `tests/test_migrations.py` checks that the chain ends at the
schema the models describe.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

# The names of the migrations applied to this database, one row each.
migration_table = sa.Table(
    "pager_migration", sa.MetaData(),
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("applied_at", sa.String, nullable=False),  # ISO 8601, UTC
)


def applied(conn: Connection) -> list[str]:
    """The names recorded in `pager_migration` (none before the first migration)."""
    if not sa.inspect(conn).has_table(migration_table.name):
        return []
    return list(conn.execute(sa.select(migration_table.c.name)).scalars())


def _step(name: str) -> Callable[[Connection], None]:
    """The step `name` of `migration_steps`, imported when it runs."""
    def run(conn: Connection) -> None:
        from . import migration_steps

        getattr(migration_steps, name)(conn)

    run.__name__ = name
    return run


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("001_initial", _step("initial")),
    ("002_pages_and_due_index", _step("pages")),
    ("003_stored_durations", _step("durations")),
    ("004_metrics_index_by_service", _step("metrics_by_service")),
    ("005_page_index_by_user_and_incident", _step("pages_by_user")),
    ("006_contacts_and_delivery_outbox", _step("outbox")),
    ("007_timers", _step("timers")),
    ("009_exports", _step("exports")),
    ("010_alert_state", _step("alert_state")),
    ("011_metrics_index_holds_the_id", _step("metrics_index_holds_the_id")),
]

LATEST = len(MIGRATIONS)
