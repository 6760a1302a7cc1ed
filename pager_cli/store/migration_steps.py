"""The steps of the migrations in `migrations.MIGRATIONS`, each building its
tables with SQLAlchemy Core (frozen history: never the live models). Imported
only when a database is migrated: a command on an up-to-date database never
compiles this code."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .partial import partial_index

_OPEN = sa.text("status IN ('triggered', 'acknowledged')")
_DUE = sa.text("next_escalation_at IS NOT NULL")


def _dt(name: str, nullable: bool = False) -> sa.Column:
    from sqlmodel.sql.sqltypes import UTCDateTime

    return sa.Column(name, UTCDateTime(), nullable=nullable)


def initial(conn: Connection) -> None:
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


def pages(conn: Connection) -> None:
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


def durations(conn: Connection) -> None:
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


def metrics_by_service(conn: Connection) -> None:
    """The metrics index led by (service, status, severity), so that each
    group's window is one range of created_at; it also serves every lookup by
    service, so the index on service alone goes."""
    conn.execute(sa.text("DROP INDEX ix_incident_metrics"))
    conn.execute(sa.text("DROP INDEX ix_incident_service"))
    conn.execute(sa.text(
        "CREATE INDEX ix_incident_metrics ON incident "
        "(service, status, severity, created_at, escalation_step, ack_ms, resolve_ms)"
    ))


def pages_by_user(conn: Connection) -> None:
    """The page index by user also holds the incident, so metrics count each
    user's pages for a range of incidents from the index alone."""
    conn.execute(sa.text("DROP INDEX ix_page_user"))
    conn.execute(sa.text('CREATE INDEX ix_page_user ON page ("user", incident_id)'))


def metrics_index_holds_the_id(conn: Connection) -> None:
    """Metrics read min(id) and max(id) of each group's window too: on
    PostgreSQL the metrics index carries the id (INCLUDE), so the window is
    read from the index alone instead of from every row's heap page. SQLite's
    indexes hold the rowid, which is the id, already."""
    if conn.dialect.name == "sqlite":
        return
    conn.execute(sa.text("DROP INDEX ix_incident_metrics"))
    md = sa.MetaData()
    incident = sa.Table("incident", md, *(sa.Column(name) for name in (
        "id", "service", "status", "severity", "created_at", "escalation_step", "ack_ms", "resolve_ms")))
    c = incident.c
    sa.Index("ix_incident_metrics", c.service, c.status, c.severity, c.created_at, c.escalation_step, c.ack_ms,
             c.resolve_ms, postgresql_include=["id"]).create(conn)


def outbox(conn: Connection) -> None:
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


def alert_state(conn: Connection) -> None:
    """Each alert key of a `dedup: service` incident, firing or resolved (PRODUCT.md §5)."""
    md = sa.MetaData()
    sa.Table("incident", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "incident_alert", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("alert_key", sa.String, nullable=False), sa.Column("title", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False), _dt("changed_at"),
        sa.UniqueConstraint("incident_id", "alert_key", name="uq_incident_alert"),
    ).create(conn)


def _add_column(conn: Connection, table: str, column: sa.Column) -> None:
    """ALTER TABLE … ADD COLUMN, the type compiled for the connection's engine."""
    preparer = conn.dialect.identifier_preparer
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(sa.text(f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column.name)} {kind}"))


def timers(conn: Connection) -> None:
    """Heartbeats, maintenance (config rules and command-line windows), and the
    timer columns of services and incidents (PRODUCT.md §12)."""
    for name in ("held_until", "snoozed_until", "auto_resolve_at"):
        _add_column(conn, "incident", _dt(name, True))
    for name in ("ack_timeout_s", "auto_resolve_s"):
        _add_column(conn, "service", sa.Column(name, sa.Integer))
    md = sa.MetaData()
    incident = sa.Table("incident", md, sa.Column("auto_resolve_at", sa.Integer))
    partial_index("ix_incident_auto_resolve", incident.c.auto_resolve_at,
                  where=sa.text("auto_resolve_at IS NOT NULL"), engine=conn.dialect.name).create(conn)
    s, i, j = sa.String, sa.Integer, sa.JSON
    tables = [
        sa.Table(
            "heartbeat", md,
            sa.Column("name", s, primary_key=True), sa.Column("service", s, nullable=False),
            sa.Column("interval_s", i, nullable=False), sa.Column("severity", s, nullable=False),
            _dt("applied_at"), _dt("last_ping_at", True), _dt("late_at", True), sa.Column("incident_id", i),
            partial_index("ix_heartbeat_late", "late_at", where=sa.text("late_at IS NOT NULL"),
                          engine=conn.dialect.name),
        ),
        sa.Table(
            "maintenance_rule", md,
            sa.Column("name", s, primary_key=True), sa.Column("services", j, nullable=False),
            sa.Column("days", j, nullable=False), sa.Column("start_local", s, nullable=False),
            sa.Column("end_local", s, nullable=False), sa.Column("timezone", s, nullable=False),
        ),
        sa.Table(
            "maintenance_window", md,
            sa.Column("id", i, primary_key=True), sa.Column("services", j, nullable=False),
            _dt("start"), _dt("end"), sa.Column("comment", s), _dt("created_at"), _dt("ended_at", True),
            sa.Index("ix_maintenance_window_end", "end"),
        ),
    ]
    for table in tables:
        table.create(conn)


def exports(conn: Connection) -> None:
    """Users' zone and working hours and a page index by (user, at) for the
    off-hours load, and the last tick's row."""
    _add_column(conn, "pager_user", sa.Column("timezone", sa.String()))
    _add_column(conn, "pager_user", sa.Column("working_hours", sa.JSON()))
    md = sa.MetaData()
    instance = sa.Table("pager_instance", md, sa.Column("key", sa.String, primary_key=True),
                        sa.Column("value", sa.String, nullable=False))
    conn.execute(sa.insert(instance).values(key="escalate_check_last_run", value=""))  # stamps.LAST_TICK_KEY
    page = sa.Table("page", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("user", sa.String),
                    _dt("at"), sa.Column("incident_id", sa.Integer))
    sa.Index("ix_page_user_at", page.c.user, page.c.at, page.c.incident_id).create(conn)
