"""Schema versions: an ordered list of named migrations, each run once, in a
write transaction, and recorded in `pager_migration`, which is the source of
truth for what a database has (`db` reads it on open; SQLite's user_version
only mirrors its count, as a cheap first check).

Migrations are frozen history. They build tables with SQLAlchemy Core here, not
from the live models, so that a database at any earlier version upgrades to
exactly the schema a new database gets. A schema change is a new entry at the
end of MIGRATIONS; `tests/test_migrations.py` checks that the chain ends at the
schema the models describe.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .partial import partial_index

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


_OPEN = sa.text("status IN ('triggered', 'acknowledged')")
_DUE = sa.text("next_escalation_at IS NOT NULL")


def _dt(name: str, nullable: bool = False) -> sa.Column:
    from sqlmodel.sql.sqltypes import UTCDateTime

    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _initial(conn: Connection) -> None:
    md = sa.MetaData()
    s, i, b, j = sa.String, sa.Integer, sa.Boolean, sa.JSON
    sa.Table("setting", md, sa.Column("key", s, primary_key=True), sa.Column("value", s))
    sa.Table("pager_user", md, sa.Column("name", s, primary_key=True), sa.Column("full_name", s), sa.Column("email", s))
    sa.Table("schedule", md, sa.Column("name", s, primary_key=True), sa.Column("timezone", s, nullable=False))
    sa.Table(
        "layer", md,
        sa.Column("id", i, primary_key=True),
        sa.Column("schedule", s, sa.ForeignKey("schedule.name", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("position", i, nullable=False), sa.Column("name", s, nullable=False),
        sa.Column("rotation", s), sa.Column("shift_length", i, nullable=False), sa.Column("handoffs", s),
        sa.Column("start_local", s, nullable=False), sa.Column("users", j, nullable=False),
        sa.Column("restrict", j, nullable=False),
    )
    sa.Table(
        "schedule_override", md,
        sa.Column("id", i, primary_key=True),
        sa.Column("schedule", s, sa.ForeignKey("schedule.name", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("user", s, nullable=False), _dt("start"), _dt("end"),
        sa.Column("source", s, nullable=False), sa.Column("position", i, nullable=False), _dt("created_at"),
    )
    sa.Table("escalation_policy", md, sa.Column("name", s, primary_key=True), sa.Column("repeat", i, nullable=False))
    sa.Table(
        "escalation_level", md,
        sa.Column("id", i, primary_key=True),
        sa.Column("policy", s, sa.ForeignKey("escalation_policy.name", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("position", i, nullable=False), sa.Column("delay_seconds", i, nullable=False),
        sa.Column("targets", j, nullable=False),
    )
    sa.Table(
        "service", md,
        sa.Column("name", s, primary_key=True), sa.Column("escalation_policy", s),
        sa.Column("routing_key", s, unique=True), sa.Column("dedup", s, nullable=False),
        sa.Column("require_ack_before_resolve", b, nullable=False),
    )
    sa.Table(
        "incident", md,
        sa.Column("id", i, primary_key=True),
        sa.Column("service", s, nullable=False, index=True),
        sa.Column("title", s, nullable=False), sa.Column("severity", s, nullable=False),
        sa.Column("status", s, nullable=False), sa.Column("dedup_key", s, nullable=False),
        sa.Column("alert_count", i, nullable=False), sa.Column("assignees", j, nullable=False),
        sa.Column("escalation_policy", s), sa.Column("escalation_level", i, nullable=False),
        sa.Column("escalation_pass", i, nullable=False), sa.Column("escalation_step", i, nullable=False),
        _dt("level_reached_at", True), _dt("next_escalation_at", True),
        _dt("created_at"), _dt("last_alert_at"),
        _dt("acknowledged_at", True), sa.Column("acknowledged_by", s), _dt("first_acknowledged_at", True),
        _dt("resolved_at", True), sa.Column("resolved_by", s),
        sa.Column("details", j, nullable=False),
        sa.Index("ix_incident_created_at", "created_at"),
        sa.Index("ix_incident_status", "status", "id"),
        partial_index("uq_incident_open_key", "dedup_key", "service", unique=True, where=_OPEN,
                      engine=conn.dialect.name),
    )
    sa.Table(
        "timeline", md,
        sa.Column("id", i, primary_key=True),
        sa.Column("incident_id", i, sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False, index=True),
        _dt("at"), sa.Column("kind", s, nullable=False), sa.Column("by", s), sa.Column("text", s, nullable=False),
    )
    md.create_all(conn)


def _pages(conn: Connection) -> None:
    md = sa.MetaData()
    sa.Table("incident", md, sa.Column("id", sa.Integer, primary_key=True), _dt("next_escalation_at", True))
    page = sa.Table(
        "page", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("user", sa.String, nullable=False, index=True),
        sa.Column("step", sa.Integer, nullable=False), sa.Column("level", sa.Integer, nullable=False),
        _dt("at"), sa.Column("channel", sa.String, nullable=False), sa.Column("state", sa.String, nullable=False),
        sa.Column("error", sa.String),
        sa.UniqueConstraint("incident_id", "step", "user", "channel", name="uq_page_step"),
    )
    page.create(conn)
    partial_index("ix_incident_due", md.tables["incident"].c.next_escalation_at, where=_DUE,
                  engine=conn.dialect.name).create(conn)


def _durations(conn: Connection) -> None:
    """Stored MTTA/MTTR durations, backfilled, and a covering index for metrics."""
    from datetime import timezone

    conn.execute(sa.text("ALTER TABLE incident ADD COLUMN ack_ms INTEGER"))
    conn.execute(sa.text("ALTER TABLE incident ADD COLUMN resolve_ms INTEGER"))
    md = sa.MetaData()
    incident = sa.Table(
        "incident", md, sa.Column("id", sa.Integer, primary_key=True), _dt("created_at"),
        _dt("first_acknowledged_at", True), _dt("resolved_at", True), sa.Column("ack_ms", sa.Integer),
        sa.Column("resolve_ms", sa.Integer), sa.Column("service", sa.String), sa.Column("status", sa.String),
        sa.Column("severity", sa.String), sa.Column("escalation_step", sa.Integer),
    )

    def ms(start, end):  # noqa: ANN001, ANN202
        if end is None:
            return None
        return round((end.astimezone(timezone.utc) - start.astimezone(timezone.utc)).total_seconds() * 1000)

    rows = conn.execute(
        sa.select(incident.c.id, incident.c.created_at, incident.c.first_acknowledged_at, incident.c.resolved_at)
        .where(sa.or_(incident.c.first_acknowledged_at.is_not(None), incident.c.resolved_at.is_not(None)))
    ).all()
    if rows:
        conn.execute(
            incident.update().where(incident.c.id == sa.bindparam("b_id")),
            [{"b_id": r.id, "ack_ms": ms(r.created_at, r.first_acknowledged_at),
              "resolve_ms": ms(r.created_at, r.resolved_at)} for r in rows],
        )
    sa.Index("ix_incident_metrics", incident.c.created_at, incident.c.service, incident.c.status,
             incident.c.severity, incident.c.escalation_step, incident.c.ack_ms, incident.c.resolve_ms).create(conn)


def _metrics_by_service(conn: Connection) -> None:
    """The metrics index led by (service, status, severity), so that each
    group's window is one range of created_at; it also serves every lookup by
    service, so the index on service alone goes."""
    conn.execute(sa.text("DROP INDEX ix_incident_metrics"))
    conn.execute(sa.text("DROP INDEX ix_incident_service"))
    conn.execute(sa.text(
        "CREATE INDEX ix_incident_metrics ON incident "
        "(service, status, severity, created_at, escalation_step, ack_ms, resolve_ms)"
    ))


def _pages_by_user(conn: Connection) -> None:
    """The page index by user also holds the incident, so metrics count each
    user's pages for a range of incidents from the index alone."""
    conn.execute(sa.text("DROP INDEX ix_page_user"))
    conn.execute(sa.text('CREATE INDEX ix_page_user ON page ("user", incident_id)'))


def _outbox(conn: Connection) -> None:
    """Contacts, notify rules and the delivery outbox (PRODUCT.md §9)."""
    md = sa.MetaData()
    s, i, b, j = sa.String, sa.Integer, sa.Boolean, sa.JSON
    sa.Table("pager_user", md, sa.Column("name", s, primary_key=True))
    sa.Table("incident", md, sa.Column("id", i, primary_key=True))
    due = sa.text("state IN ('pending', 'sending')")
    waiting = sa.text("state = 'bundled' AND bundle_id IS NULL")
    tables = [
        sa.Table(
            "contact", md,
            sa.Column("id", i, primary_key=True),
            sa.Column("user", s, sa.ForeignKey("pager_user.name", ondelete="CASCADE"), nullable=False, index=True),
            sa.Column("position", i, nullable=False), sa.Column("name", s, nullable=False),
            sa.Column("kind", s, nullable=False), sa.Column("target", j, nullable=False),
            sa.Column("timeout_s", sa.Float, nullable=False), sa.Column("updates", b, nullable=False),
            sa.Column("rate_count", i, nullable=False), sa.Column("rate_window_s", i, nullable=False),
            sa.Column("headers", j, nullable=False), sa.Column("secret", s),
            sa.UniqueConstraint("user", "name", name="uq_contact_user_name"),
        ),
        sa.Table(
            "notify_rule", md,
            sa.Column("id", i, primary_key=True),
            sa.Column("user", s, sa.ForeignKey("pager_user.name", ondelete="CASCADE"), nullable=False, index=True),
            sa.Column("position", i, nullable=False), sa.Column("contact", s, nullable=False),
            sa.Column("after_s", i, nullable=False),
        ),
        sa.Table(
            "delivery", md,
            sa.Column("id", i, primary_key=True),
            sa.Column("incident_id", i, sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True),
            sa.Column("user", s, nullable=False), sa.Column("contact", s, nullable=False),
            sa.Column("event", s, nullable=False), sa.Column("rule", i, nullable=False),
            sa.Column("level", i), sa.Column("step", i), _dt("due_at"),
            sa.Column("state", s, nullable=False), sa.Column("attempts", i, nullable=False),
            _dt("claimed_at", True), _dt("claimed_until", True), _dt("sent_at", True),
            sa.Column("error", s), sa.Column("bundle_id", i), _dt("created_at"),
            sa.UniqueConstraint("incident_id", "step", "user", "contact", "event", "rule", name="uq_delivery_once"),
            partial_index("ix_delivery_due", "state", "due_at", where=due, engine=conn.dialect.name),
            partial_index("ix_delivery_waiting", "user", "contact", where=waiting, engine=conn.dialect.name),
            sa.Index("ix_delivery_contact_claims", "user", "contact", "claimed_at"),
        ),
        sa.Table("pager_instance", md, sa.Column("key", s, primary_key=True), sa.Column("value", s, nullable=False)),
    ]
    for table in tables:
        table.create(conn)


# The `pager_instance` row that each tick stamps with its instant (PRODUCT.md
# §13's pager_escalate_check_last_run_timestamp_seconds); made by the migration,
# so a tick only ever updates it, on any engine, however many run at once.
LAST_TICK_KEY = "escalate_check_last_run"


def _exports(conn: Connection) -> None:
    """Users' zone and working hours and a page index by (user, at) for the
    off-hours load, and the last tick's row."""
    for name, kind in (("timezone", sa.String()), ("working_hours", sa.JSON())):
        conn.execute(sa.text(f"ALTER TABLE pager_user ADD COLUMN {name} {kind.compile(dialect=conn.dialect)}"))
    md = sa.MetaData()
    instance = sa.Table("pager_instance", md, sa.Column("key", sa.String, primary_key=True),
                        sa.Column("value", sa.String, nullable=False))
    conn.execute(sa.insert(instance).values(key=LAST_TICK_KEY, value=""))
    page = sa.Table("page", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("user", sa.String),
                    _dt("at"), sa.Column("incident_id", sa.Integer))
    sa.Index("ix_page_user_at", page.c.user, page.c.at, page.c.incident_id).create(conn)


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("001_initial", _initial),
    ("002_pages_and_due_index", _pages),
    ("003_stored_durations", _durations),
    ("004_metrics_index_by_service", _metrics_by_service),
    ("005_page_index_by_user_and_incident", _pages_by_user),
    ("006_contacts_and_delivery_outbox", _outbox),
    ("009_exports", _exports),
]

LATEST = len(MIGRATIONS)
