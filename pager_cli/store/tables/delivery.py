"""The outbox tables (PRODUCT.md §9): one `delivery` row per message to a
person, claimed, sent and recorded by `pager_cli.notify.outbox`; and
`pager_instance`, facts about this database itself (its id, which with a
delivery id makes a webhook's Idempotency-Key).

Core tables, like the config tables: the outbox works set-wise (a storm of 500
pages is a few statements), never through ORM objects.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint, text
from sqlmodel.sql.sqltypes import UTCDateTime

from ..partial import partial_index
from .config import metadata

STATES = ("pending", "sending", "sent", "failed", "unknown", "canceled", "bundled")
EVENTS = ("page", "acknowledged", "resolved", "digest", "test")

# What the due read looks at: rows waiting to be sent or claimed right now.
DUE_SQL = text("state IN ('pending', 'sending')")
# Bundled rows that no digest has taken yet.
WAITING_SQL = text("state = 'bundled' AND bundle_id IS NULL")


def _required(name: str, kind, **kw) -> Column:  # noqa: ANN001, ANN003
    return Column(name, kind, nullable=False, **kw)


deliveries = Table(
    "delivery", metadata,
    Column("id", Integer, primary_key=True),
    # null for a digest (its incidents are the rows bundled into it) and a test
    Column("incident_id", Integer, ForeignKey("incident.id", ondelete="CASCADE"), index=True),
    _required("user", String),
    _required("contact", String),
    _required("event", String),  # EVENTS
    _required("rule", Integer, default=0),  # the notify rule's position, for a page
    Column("level", Integer),
    Column("step", Integer),
    _required("due_at", UTCDateTime),
    _required("state", String),  # STATES
    _required("attempts", Integer, default=0),
    Column("claimed_at", UTCDateTime),
    Column("claimed_until", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("error", String),
    Column("bundle_id", Integer),  # a bundled row: the digest delivery that carried it
    _required("created_at", UTCDateTime),
    UniqueConstraint("incident_id", "step", "user", "contact", "event", "rule", name="uq_delivery_once"),
    partial_index("ix_delivery_due", "state", "due_at", where=DUE_SQL),
    partial_index("ix_delivery_waiting", "user", "contact", where=WAITING_SQL),
    # a contact's rate: its sends in the window
    Index("ix_delivery_contact_claims", "user", "contact", "claimed_at"),
)

instance = Table(
    "pager_instance", metadata,
    Column("key", String, primary_key=True),
    _required("value", String),
)
