"""What `pager serve` asks of the database, beside ingesting alerts
(`app.group_commit`): its settings, its health, and the ack links.

An ack link (`notify.acklinks`) acknowledges the incident of the delivery it
was made for, as the user that delivery went to, through the same state
machine as `pager ack` (`app.incidents.transition`): the cancellation of the
other deliveries and the updates follow as they do there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..config.serve import DEFAULT_LISTEN
from ..notify import acklinks
from ..notify import contacts as stored
from ..store import tables as m

BadLink = acklinks.BadLink


@dataclass(frozen=True)
class Settings:
    listen: str = DEFAULT_LISTEN
    token: str | None = None
    public_url: str | None = None


def settings(db) -> Settings:  # noqa: ANN001 - a Database
    """The `serve:` section as applied (defaults when there is none)."""
    with db.read() as session:
        found = stored.serve_settings(session) or {}
    return Settings(found.get("listen") or DEFAULT_LISTEN, found.get("token") or None, found.get("public_url") or None)


def healthy(db) -> bool:  # noqa: ANN001
    """Whether the database answers a read."""
    from ..errors import PagerError

    try:
        with db.read() as session:
            session.connection().execute(sa.select(m.settings.c.key).limit(1)).all()
    except PagerError:
        return False
    return True


def services(db) -> list:  # noqa: ANN001
    """The services as configured now (`catalog.services` rows)."""
    from ..config import catalog

    with db.read() as session:
        return catalog.services(session)


@dataclass(frozen=True)
class Link:
    """What an ack link is for."""

    delivery: int
    user: str
    incident: int
    service: str
    title: str
    status: str


def link(db, token: str, now: datetime) -> Link:  # noqa: ANN001
    """The delivery and incident of a good link; BadLink otherwise (also for
    a link whose delivery or incident is gone)."""
    with db.write() as session:  # the key is made on first use
        delivery, _ = acklinks.verify(stored.ack_key(session), token, now)
        d, i = m.deliveries.c, m.Incident.__table__.c
        row = session.connection().execute(
            sa.select(d.user, i.id, i.service, i.title, i.status).join_from(
                m.deliveries, m.Incident.__table__, i.id == d.incident_id).where(d.id == delivery)).first()
    if row is None:
        raise BadLink("this link's incident no longer exists")
    return Link(delivery, row.user, row.id, row.service, row.title, row.status)


def acknowledge(db, token: str, now: datetime):  # noqa: ANN001, ANN201 - (Link, app.incidents.Transitioned)
    """Acknowledge the link's incident as the user its message went to."""
    from .incidents import transition

    found = link(db, token, now)
    done = transition(db, now, "acknowledge", [found.incident], None, by=found.user)
    return found, done.results[0]


def listen_address(text: str) -> tuple[str, int]:
    """`--listen HOST:PORT` → (host, port); UsageError when it is not one."""
    from ..config.serve import parse_listen
    from ..errors import UsageError

    try:
        return parse_listen(text)
    except ValueError as e:
        raise UsageError(f"--listen {text!r}: {e}") from None


def loopback(host: str) -> bool:
    from ..config.serve import is_loopback

    return is_loopback(host)
