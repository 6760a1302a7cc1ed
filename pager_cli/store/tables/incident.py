"""The incident tables: incidents, their timelines and their pages."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import JSON, Index, Integer, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from ..partial import partial_index
from .config import owned_by

OPEN_STATUSES = ("triggered", "acknowledged")
# the WHERE of the partial unique index on open keys (and of dedup's conflict target)
OPEN_SQL = text("status IN ('triggered', 'acknowledged')")
_DUE_SQL = text("next_escalation_at IS NOT NULL")
_AUTO_RESOLVE_SQL = text("auto_resolve_at IS NOT NULL")


class Table(SQLModel):
    """Base of the incident tables. Rows are built by our code and read from the
    database, never validated from outside input, so pydantic's validators are
    built only if something asks for them (`defer_build`), not at start-up."""

    model_config = ConfigDict(defer_build=True)


def is_open():  # noqa: ANN201 - a SQL expression
    """`status IN ('triggered', 'acknowledged')` with the statuses written into
    the SQL, so the database can use the partial index on open incidents."""
    from sqlalchemy import bindparam

    return Incident.__table__.c.status.in_(bindparam("open_statuses", OPEN_STATUSES, expanding=True, literal_execute=True))


class StoredJSON(TypeDecorator):
    """A JSON column that reads back whatever is stored. New values are checked
    before they are written (`alerts.json_strict`), but a row written by an older
    version or by hand may hold text that is not JSON or is nested past what
    the parser takes: such a value reads as {"unreadable": the stored text}
    instead of failing every query that touches the row."""

    impl = JSON
    cache_ok = True

    def result_processor(self, dialect, coltype):  # noqa: ANN001, ANN201
        return _read_stored


def _read_stored(raw):  # noqa: ANN001, ANN202
    if not isinstance(raw, (str, bytes)):
        return raw  # None, or a value the driver parsed already
    import json

    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = ...
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    return {"unreadable": raw if isinstance(raw, str) else raw.decode("utf-8", "replace")}


class Incident(Table, table=True):
    __table_args__ = (
        # Dedup guarded by the schema: one open incident per (service, key).
        partial_index("uq_incident_open_key", "dedup_key", "service", unique=True, where=OPEN_SQL),
        # escalate-check reads only what is due.
        partial_index("ix_incident_due", "next_escalation_at", where=_DUE_SQL),
        Index("ix_incident_status", "status", "id"),
        # the timers' due read: auto-resolve instants (at the earliest; see app.timers)
        partial_index("ix_incident_auto_resolve", "auto_resolve_at", where=_AUTO_RESOLVE_SQL),
        # metrics read a window of incidents from this index alone, one
        # (service, status, severity) range of created_at at a time (on PostgreSQL the index
        # carries the id too, as SQLite's rowid)
        Index("ix_incident_metrics", "service", "status", "severity", "created_at", "escalation_step", "ack_ms",
              "resolve_ms", info={"include": ["id"]}),
    )

    id: int | None = Field(default=None, primary_key=True)
    service: str  # indexed first in ix_incident_metrics
    title: str
    severity: str = "error"
    status: str = "triggered"
    dedup_key: str
    alert_count: int = 1
    assignees: list = Field(default_factory=list, sa_type=JSON)
    escalation_policy: str | None = None
    escalation_level: int = 0
    escalation_pass: int = 0
    escalation_step: int = 0  # steps taken so far; pages are unique per step
    level_reached_at: datetime | None = None
    next_escalation_at: datetime | None = None
    created_at: datetime = Field(index=True)
    last_alert_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    first_acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    details: dict = Field(default_factory=dict, sa_type=StoredJSON)
    ack_ms: int | None = None  # first acknowledgement − created, in ms (for MTTA)
    resolve_ms: int | None = None  # resolved − created, in ms (for MTTR)
    # timers (PRODUCT.md §12). While held or snoozed, `next_escalation_at` is
    # the instant it ends, so the escalation engine's due read finds it.
    held_until: datetime | None = None  # in maintenance: nobody paged, nothing escalates until then
    snoozed_until: datetime | None = None  # acknowledged, triggered again at its level then
    auto_resolve_at: datetime | None = None  # resolved then at the earliest (last alert + auto_resolve)


class TimelineEntry(Table, table=True):
    __tablename__ = "timeline"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=owned_by("incident.id", Integer))
    at: datetime
    kind: str  # triggered alert notified escalated acknowledged resolved note reassigned exhausted
    by: str | None = None
    text: str = ""


class Page(Table, table=True):
    __table_args__ = (
        UniqueConstraint("incident_id", "step", "user", "channel", name="uq_page_step"),
        # metrics: each user's pages for a range of incidents, from the index alone
        Index("ix_page_user", "user", "incident_id"),
        # off-hours load: each user's pages in a span of time, for a range of incidents
        Index("ix_page_user_at", "user", "at", "incident_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=owned_by("incident.id", Integer))
    user: str
    step: int
    level: int
    at: datetime
    channel: str = "console"
    state: str = "sent"  # "pending" | "sent" | "failed"
    error: str | None = None


class IncidentAlert(Table, table=True):
    """One alert key of a `dedup: service` incident, firing or resolved: the
    incident resolves from its sender when its last firing alert does."""

    __tablename__ = "incident_alert"
    __table_args__ = (UniqueConstraint("incident_id", "alert_key", name="uq_incident_alert"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(sa_column=owned_by("incident.id", Integer))
    alert_key: str
    title: str
    status: str  # "firing" | "resolved"
    changed_at: datetime
