"""The configuration tables: what `schedules apply` writes and the catalog reads."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict
from sqlalchemy import JSON, Column, ForeignKey, String
from sqlmodel import Field, SQLModel


class Table(SQLModel):
    """Base of the tables. Rows are built by our code and read from the
    database, never validated from outside input, so pydantic's validators are
    built only if something asks for them (`defer_build`), not at start-up."""

    model_config = ConfigDict(defer_build=True)


def owned_by(parent: str, kind: type = String):  # noqa: ANN201 - a pydantic FieldInfo
    """The column of a row that belongs to `parent` ("table.column"): indexed,
    required, and deleted with its parent."""
    return Field(sa_column=Column(kind, ForeignKey(parent, ondelete="CASCADE"), nullable=False, index=True))


class Setting(Table, table=True):
    """Config-level values: `timezone`, `default_service`."""

    key: str = Field(primary_key=True)
    value: str | None = None


class User(Table, table=True):
    __tablename__ = "pager_user"

    name: str = Field(primary_key=True)
    full_name: str | None = None
    email: str | None = None


class Schedule(Table, table=True):
    name: str = Field(primary_key=True)
    timezone: str


class Layer(Table, table=True):
    id: int | None = Field(default=None, primary_key=True)
    schedule: str = owned_by("schedule.name")
    position: int
    name: str
    rotation: str | None = None
    shift_length: int = 1
    handoffs: str | None = None
    start_local: str  # naive local wall-clock time, ISO (a rule, not an instant)
    users: list = Field(default_factory=list, sa_type=JSON)
    restrict: list = Field(default_factory=list, sa_type=JSON)


class ScheduleOverride(Table, table=True):
    __tablename__ = "schedule_override"

    id: int | None = Field(default=None, primary_key=True)
    schedule: str = owned_by("schedule.name")
    user: str
    start: datetime
    end: datetime
    source: str = "cli"  # "config" (replaced by apply) or "cli" (kept across applies)
    position: int = 0
    created_at: datetime


class EscalationPolicy(Table, table=True):
    __tablename__ = "escalation_policy"

    name: str = Field(primary_key=True)
    repeat: int = 0


class EscalationLevel(Table, table=True):
    __tablename__ = "escalation_level"

    id: int | None = Field(default=None, primary_key=True)
    policy: str = owned_by("escalation_policy.name")
    position: int
    delay_seconds: int
    targets: list = Field(default_factory=list, sa_type=JSON)  # ["schedule:x", "user:y"]


class Service(Table, table=True):
    name: str = Field(primary_key=True)
    escalation_policy: str | None = None
    routing_key: str | None = Field(default=None, unique=True)
    dedup: str = "key"  # "key" | "service"
    require_ack_before_resolve: bool = False
