"""`pager deliveries` and `pager notify test` (PRODUCT.md §9): each function
owns its transaction and returns plain data for the CLI to render.

The outbox itself (`notify.outbox`) writes, claims, sends and records the
rows; this module only reads them back and asks for test messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import NotFound, PagerError, UsageError


class NoContacts(PagerError):
    """A user who exists but has no contacts: nothing can reach them, exit 1."""


def deliveries(db: Any, *, incident: int | None = None, user: str | None = None, state: str | None = None,
               since: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The deliveries matching the filters, newest first, as the JSON
    documents of `pager deliveries --json`. A state that does not exist is
    a UsageError naming the valid ones; an unknown incident or user is
    NotFound."""
    import sqlalchemy as sa

    from ..config import catalog
    from ..notify import outbox
    from ..store.tables.delivery import STATES

    if state is not None and state not in STATES:
        raise UsageError(f"unknown delivery state {state!r}", hint="one of " + ", ".join(STATES))
    with db.read() as session:
        if user is not None:
            catalog.require_user(session, user)
        if incident is not None:
            from ..store import tables as m

            t = m.Incident.__table__
            if session.connection().execute(sa.select(t.c.id).where(t.c.id == incident)).first() is None:
                raise NotFound(f"no incident #{incident}", hint="`pager list --status all` lists them")
        return outbox.deliveries(session, incident=incident, user=user, state=state, since=since, limit=limit)


def test_contacts(db: Any, user: str, contact: str | None, now: datetime) -> list[dict[str, Any]]:
    """Send a test message to each contact of `user` (or only `contact`) now;
    one `{"user", "contact", "state", "error"}` per contact, in the order of
    the config. An unknown user or contact is NotFound; a user without
    contacts is NoContacts (exit 1)."""
    from ..notify import outbox

    outcomes = outbox.test_contacts(db, user, contact, now=now)
    if not outcomes:
        raise NoContacts(f"user {user} has no contacts, so no test message was sent",
                         hint=f"give {user} `contacts:` and `notify:` rules in the config file")
    return [{"user": o.user, "contact": o.contact, "state": o.state, "error": o.error} for o in outcomes]
