"""The configuration tables: what `schedules apply` writes and the catalog reads.

They are SQLAlchemy Core tables on SQLModel's metadata, not SQLModel classes.
The configuration is replaced whole by `schedules apply` and read set-wise into
the plain objects of `catalog` and `rotation`; nothing ever needs one of its
rows as an ORM object, and building a SQLModel table class (a pydantic model
and a SQLAlchemy mapper) costs about 11 M instructions, 5 ms, at every start:
`pager oncall` would pay that for each of these eight tables. Their column
types are the ones SQLModel gives its fields (instants in its UTC type), so
both kinds of table describe one schema, which `tests/test_migrations.py`
checks against the migrations.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

metadata = SQLModel.metadata


def owned_by(parent: str, kind: type = String, name: str | None = None) -> Column:
    """The column of a row that belongs to `parent` ("table.column"): indexed,
    required, and deleted with its parent. Unnamed, for a SQLModel field."""
    key = (name,) if name else ()
    return Column(*key, kind, ForeignKey(parent, ondelete="CASCADE"), nullable=False, index=True)


def _required(name: str, kind: type = String, **kw) -> Column:  # noqa: ANN003
    return Column(name, kind, nullable=False, **kw)


# Config-level values: `timezone`, `default_service`.
settings = Table("setting", metadata, Column("key", String, primary_key=True), Column("value", String))

users = Table(
    "pager_user", metadata,
    Column("name", String, primary_key=True), Column("full_name", String), Column("email", String),
    # off-hours load (PRODUCT.md §13): the user's zone (null: the config's) and
    # working hours ({"days": ["mon", …], "from": "09:00", "to": "18:00"}; null: the default)
    Column("timezone", String), Column("working_hours", JSON(none_as_null=True)),
)

schedules = Table("schedule", metadata, Column("name", String, primary_key=True), _required("timezone"))

layers = Table(
    "layer", metadata,
    Column("id", Integer, primary_key=True),
    owned_by("schedule.name", name="schedule"),
    _required("position", Integer),
    _required("name"),
    Column("rotation", String),
    _required("shift_length", Integer, default=1),
    Column("handoffs", String),
    _required("start_local"),  # naive local wall-clock time, ISO (a rule, not an instant)
    _required("users", JSON),
    _required("restrict", JSON, default=list),
)

schedule_overrides = Table(
    "schedule_override", metadata,
    Column("id", Integer, primary_key=True),
    owned_by("schedule.name", name="schedule"),
    _required("user"),
    _required("start", UTCDateTime),
    _required("end", UTCDateTime),
    _required("source"),  # "config" (replaced by apply) or "cli" (kept across applies)
    _required("position", Integer, default=0),
    _required("created_at", UTCDateTime),
)

escalation_policies = Table(
    "escalation_policy", metadata,
    Column("name", String, primary_key=True), _required("repeat", Integer, default=0),
)

escalation_levels = Table(
    "escalation_level", metadata,
    Column("id", Integer, primary_key=True),
    owned_by("escalation_policy.name", name="policy"),
    _required("position", Integer),
    _required("delay_seconds", Integer),
    _required("targets", JSON),  # ["schedule:x", "user:y"]
)

services = Table(
    "service", metadata,
    Column("name", String, primary_key=True),
    Column("escalation_policy", String),
    Column("routing_key", String, unique=True),
    _required("dedup", default="key"),  # "key" | "service"
    _required("require_ack_before_resolve", Boolean, default=False),
    Column("ack_timeout_s", Integer),  # acknowledged this long, not resolved: triggered again
    Column("auto_resolve_s", Integer),  # open this long after its last alert: resolved
)

# A user's contacts and notify rules (PRODUCT.md §9), replaced with the user by
# `schedules apply`. Secrets (URLs with tokens, headers, webhook secrets, the
# SMTP password in the `smtp` setting) are stored resolved: see
# `pager_cli.notify.contacts` for why.
contacts = Table(
    "contact", metadata,
    Column("id", Integer, primary_key=True),
    owned_by("pager_user.name", name="user"),
    _required("position", Integer),
    _required("name"),
    _required("kind"),  # apprise | webhook | email | command
    _required("target", JSON),  # the URL or address (a string), or the argv (a list)
    _required("timeout_s", Float),
    _required("updates", Boolean, default=False),
    _required("rate_count", Integer),
    _required("rate_window_s", Integer),
    _required("headers", JSON, default=dict),
    Column("secret", String),
    UniqueConstraint("user", "name", name="uq_contact_user_name"),
)

notify_rules = Table(
    "notify_rule", metadata,
    Column("id", Integer, primary_key=True),
    owned_by("pager_user.name", name="user"),
    _required("position", Integer),
    _required("contact"),
    _required("after_s", Integer),
)
