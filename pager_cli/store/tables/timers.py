"""The timer tables (PRODUCT.md §12): heartbeats with their state, recurring
maintenance rules from the config, and maintenance windows started from the
command line.

Core tables, like the config tables: `pager heartbeat` runs at the end of
every cron job and must start as fast as `oncall`, so it never builds an ORM
model. A heartbeat's `late_at` is its due instant (last ping, or when it was
applied, + interval) while it is not late; it is cleared when its incident
opens, and the due read looks only at the rows where it is set.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, text
from sqlmodel.sql.sqltypes import UTCDateTime

from ..partial import partial_index
from .config import metadata

LATE_SQL = text("late_at IS NOT NULL")

heartbeats = Table(
    "heartbeat", metadata,
    Column("name", String, primary_key=True),
    Column("service", String, nullable=False),
    Column("interval_s", Integer, nullable=False),
    Column("severity", String, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),  # when the config first had it
    Column("last_ping_at", UTCDateTime),
    Column("late_at", UTCDateTime),  # due: goes late then (NULL while late)
    Column("incident_id", Integer),  # the open `heartbeat:NAME` incident, while late
    partial_index("ix_heartbeat_late", "late_at", where=LATE_SQL),
)

# `maintenance:` of the config, one row per window, replaced by `schedules apply`;
# named by what it says ("payments tue 22:00-23:00 Europe/Berlin").
maintenance_rules = Table(
    "maintenance_rule", metadata,
    Column("name", String, primary_key=True),
    Column("services", JSON, nullable=False),
    Column("days", JSON, nullable=False),  # ["tue", …]
    Column("start_local", String, nullable=False),  # "HH:MM" on the zone's wall clock
    Column("end_local", String, nullable=False),
    Column("timezone", String, nullable=False),
)

# `pager maintenance start`: always with an end; `maintenance end ID` moves it to then.
maintenance_windows = Table(
    "maintenance_window", metadata,
    Column("id", Integer, primary_key=True),
    Column("services", JSON, nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("comment", String),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),  # ended early by `maintenance end`
    Index("ix_maintenance_window_end", "end"),
)
