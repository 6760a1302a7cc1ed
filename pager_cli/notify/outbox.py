"""The delivery outbox (PRODUCT.md §9): a message to a person is a `delivery`
row first, then claimed, sent and recorded, so a crash neither loses it
silently nor sends it twice.

Life of a delivery:
- `plan_pages` writes one `pending` row per notify rule of a paged user, due at
  page time + `after`, in the transaction that records the page;
  `on_transition` cancels an incident's unsent rows when it is acknowledged or
  resolved and queues the updates for `updates: true` contacts.
- `claim` (its own committed transaction, before any send) takes due rows:
  `sending`, attempt + 1, claimed until timeout + deadline + a margin. A
  contact past its `rate` gets its due rows `bundled` instead; once the window
  allows, they all go out as one `digest` row (see `digest.py`).
- `record` stores each outcome: `sent`; a retry back to `pending` 30 s after
  attempt 1 and 2 min after attempt 2, `failed` after attempt 3; `failed`.
  A `test` delivery (`pager notify test`) is tried once: whoever runs the
  test is watching, so an error worth retrying is `failed` at once.
- `expire_claims`: a `sending` row whose claim ran out (its sender was killed)
  becomes `unknown` and is never sent again — escalation to the next level is
  the retry that reaches a human.
- Catch-up (`supersede`, run at claim time): when a late run reached several
  escalation steps at once, every step and page is recorded, but only the
  current step's deliveries go out. A pending page delivery is `canceled`
  ("superseded") when its incident has moved to a later step that was reached
  *after* the delivery fell due: it should have gone out before the incident
  moved on, and nobody ran to send it. A delivery due after the incident moved
  on (a `phone` rule 5 minutes after a page, with a 2-minute level) still goes.

Every function takes `now`; none reads the clock. `run` is the whole cycle
that `escalate-check`, `watch`, `serve` and a trigger or ack command call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ..store import tables as m
from ..times import iso
from . import contacts as stored
from .channels import DEFAULT_DEADLINE, DEFAULT_PARALLEL, FAILED, RETRY, SENT, Job, Message, Result, SmtpConfig
from .documents import document

MAX_ATTEMPTS = 3
RETRY_AFTER = {1: timedelta(seconds=30), 2: timedelta(minutes=2)}  # after attempt N
CLAIM_MARGIN = timedelta(seconds=30)
UNSENT = ("pending",)  # what acknowledging cancels, with bundled rows no digest has taken
PROBLEM_STATES = ("failed", "unknown")

d = m.deliveries


@dataclass(frozen=True)
class Outcome:
    """What happened to one delivery in a run."""

    delivery: int
    incident: int | None
    user: str
    contact: str
    event: str
    state: str
    error: str | None = None
    attempts: int = 0

    def line(self) -> str:
        """`alice hook: failed (HTTP 404)`."""
        about = f" #{self.incident}" if self.incident is not None else ""
        return f"{self.user} {self.contact}: {self.state}" + (f" ({self.error})" if self.error else "") + (
            f" [{self.event}{about}, delivery {self.delivery}]" if self.event != "test" else "")

    @property
    def problem(self) -> bool:
        """Failed for good, or unknown: cron should mail someone."""
        return self.state in PROBLEM_STATES

    def to_json(self) -> dict[str, Any]:
        return {"delivery": self.delivery, "incident": self.incident, "user": self.user, "contact": self.contact,
                "event": self.event, "state": self.state, "error": self.error, "attempts": self.attempts}


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery, ready to send."""

    id: int
    incident: int | None
    user: str
    contact: str
    event: str
    attempts: int
    job: Job


def _conn(session: Session) -> sa.Connection:
    return session.connection()


# -- writing deliveries -----------------------------------------------------------

def plan_pages(session: Session, incident: Any, user: str, level: int, step: int, paged_at: datetime) -> int:
    """One pending delivery per notify rule of `user`, due at `paged_at` +
    the rule's `after`. Call it where the page is recorded, in the same
    transaction. Returns how many."""
    rules = stored.rules_of(session, user)
    if rules:
        _conn(session).execute(sa.insert(d), [
            {"incident_id": incident.id, "user": user, "contact": contact, "event": "page", "rule": position,
             "level": level, "step": step, "due_at": paged_at + after, "state": "pending", "attempts": 0,
             "created_at": paged_at}
            for position, contact, after in rules
        ])
    return len(rules)


def on_transition(session: Session, incident: Any, event: str, now: datetime) -> int:
    """`incident` was acknowledged or resolved (`event`) at `now`: cancel its
    deliveries not yet sent and queue an `event` update for each contact with
    `updates: true` of each user paged for it (once per contact). Returns how
    many updates were queued."""
    _conn(session).execute(
        d.update()
        .where(d.c.incident_id == incident.id,
               sa.or_(d.c.state == "pending", sa.and_(d.c.state == "bundled", d.c.bundle_id.is_(None))))
        .values(state="canceled", error=f"incident {event}"))
    page = m.Page.__table__
    users = list(_conn(session).execute(sa.select(page.c.user).where(page.c.incident_id == incident.id).distinct())
                 .scalars())
    wanted = [(user, name) for (user, name), c in sorted(stored.contacts_of(session, users).items()) if c.updates]
    if wanted:
        _conn(session).execute(sa.insert(d), [
            {"incident_id": incident.id, "user": user, "contact": name, "event": event, "rule": 0,
             "level": incident.escalation_level, "step": incident.escalation_step, "due_at": now,
             "state": "pending", "attempts": 0, "created_at": now}
            for user, name in wanted
        ])
    return len(wanted)


def supersede(session: Session, now: datetime) -> int:
    """Cancel ("superseded") the due page deliveries of steps a late run went
    past (see the module's docstring). Returns how many."""
    incident = m.Incident.__table__
    moved_on = sa.exists().where(incident.c.id == d.c.incident_id, incident.c.escalation_step > d.c.step,
                                 incident.c.level_reached_at > d.c.due_at)
    result = _conn(session).execute(
        d.update().where(d.c.state == "pending", d.c.due_at <= now, d.c.event == "page", moved_on)
        .values(state="canceled", error="superseded"))
    return result.rowcount


# -- claiming, sending, recording --------------------------------------------------

def expire_claims(session: Session, now: datetime) -> list[Outcome]:
    """Claims past `claimed_until` (their sender died) become `unknown`, never
    to be sent again."""
    rows = list(_conn(session).execute(
        sa.select(d).where(d.c.state == "sending", d.c.claimed_until <= now).order_by(d.c.id)))
    if not rows:
        return []
    error = "no outcome recorded before the claim expired; not sent again"
    _conn(session).execute(d.update().where(d.c.id.in_([r.id for r in rows]), d.c.state == "sending")
                           .values(state="unknown", error=error))
    return [Outcome(r.id, r.incident_id, r.user, r.contact, r.event, "unknown", error, r.attempts) for r in rows]


def claim(session: Session, now: datetime, limit: int = 200,
          deadline_s: float = DEFAULT_DEADLINE) -> list[Claimed]:
    """Claim up to `limit` due deliveries (and a digest for each contact whose
    rate window allows one again): `sending`, attempt + 1. The caller commits
    this before sending anything."""
    from . import digest

    supersede(session, now)
    due = list(_conn(session).execute(
        sa.select(d).where(d.c.state == "pending", d.c.due_at <= now).order_by(d.c.due_at, d.c.id).limit(limit)))
    waiting = digest.waiting_contacts(session)
    pairs = list(dict.fromkeys([(r.user, r.contact) for r in due] + waiting))
    contacts = stored.contacts_of(session, [user for user, _ in pairs])
    take: list[Any] = []
    gone: list[Any] = []
    for pair in pairs:
        rows = [r for r in due if (r.user, r.contact) == pair]
        contact = contacts.get(pair)
        if contact is None:
            gone += rows
            digest.drop_waiting(session, pair, now)
            continue
        take += digest.apply_rate(session, pair, contact, rows, pair in waiting, now)
    if gone:
        _conn(session).execute(d.update().where(d.c.id.in_([r.id for r in gone]))
                               .values(state="failed", error="the contact is no longer configured"))
    if not take:
        return []
    by_timeout: dict[float, list[int]] = {}
    for row in take:
        by_timeout.setdefault(contacts[(row.user, row.contact)].contact.timeout, []).append(row.id)
    for timeout, ids in by_timeout.items():
        until = now + timedelta(seconds=timeout + deadline_s) + CLAIM_MARGIN
        _conn(session).execute(d.update().where(d.c.id.in_(ids)).values(
            state="sending", attempts=d.c.attempts + 1, claimed_at=now, claimed_until=until))
    return _prepare(session, [r.id for r in take], contacts, now)


def _prepare(session: Session, ids: list[int], contacts: dict, now: datetime) -> list[Claimed]:
    """The jobs for claimed rows `ids`: each contact and delivery document
    (a page's with its signed ack link when `serve.public_url` is set)."""
    from . import digest

    rows = list(_conn(session).execute(sa.select(d).where(d.c.id.in_(ids)).order_by(d.c.id)))
    bundles = digest.bundled_incidents(session, [r.id for r in rows if r.event == "digest"])
    wanted = {r.incident_id for r in rows if r.incident_id is not None}
    incidents = _incident_docs(session, wanted.union(*bundles.values()))
    smtp = stored.smtp(session)
    smtp_config = SmtpConfig.from_mapping(smtp) if smtp else None
    database = stored.database_id(session)
    public_url = (stored.serve_settings(session) or {}).get("public_url")
    key = stored.ack_key(session) if public_url and any(r.event == "page" for r in rows) else None
    if key:
        from . import acklinks  # hmac: only when links are made
    out = []
    for row in rows:
        if row.event == "digest":
            docs = [incidents[i] for i in bundles[row.id]]
        else:
            docs = [incidents[row.incident_id]] if row.incident_id is not None else []
        contact = contacts[(row.user, row.contact)].contact
        link = acklinks.url(public_url, acklinks.sign(key, row.id, now)) if key and row.event == "page" else None
        job = Job(contact, Message(document(row, docs, link), database_id=database),
                  smtp_config if contact.kind == "email" else None)
        out.append(Claimed(row.id, row.incident_id, row.user, row.contact, row.event, row.attempts, job))
    return out


def _incident_docs(session: Session, ids: Iterable[int]) -> dict[int, dict]:
    from ..incidents.views import to_json

    ids = sorted(set(ids))
    if not ids:
        return {}
    found = session.exec(select(m.Incident).where(col(m.Incident.id).in_(ids)))
    return {i.id: to_json(i) for i in found}


def record(session: Session, now: datetime, delivery_id: int, result: Result) -> Outcome:
    """Store how one send went (see the module's docstring)."""
    row = _conn(session).execute(sa.select(d).where(d.c.id == delivery_id)).one()
    values: dict[str, Any]
    if row.state not in ("sending", "unknown") or (row.state == "unknown" and result.status == RETRY):
        # recorded already; or its claim expired meanwhile and this answer does
        # not say it arrived or failed for good: at most once, so it stays unknown
        values = {}
    elif result.status == SENT:
        values = {"state": "sent", "sent_at": now, "error": None, "claimed_until": None}
    elif result.status == RETRY and not result.attempted:
        # never started (the run's deadline came first): give the claim back
        values = {"state": "pending", "attempts": max(0, row.attempts - 1), "claimed_at": None,
                  "claimed_until": None}
    elif result.status == RETRY and (result.error or "").startswith("deadline"):
        values = {"state": "unknown", "error": result.error, "claimed_until": None}  # it may still arrive
    elif result.status == RETRY and row.attempts < MAX_ATTEMPTS and row.event != "test":
        values = {"state": "pending", "due_at": now + RETRY_AFTER.get(row.attempts, RETRY_AFTER[2]),
                  "error": result.error, "claimed_until": None}
    else:
        values = {"state": "failed", "error": result.error or "failed", "claimed_until": None}
        if result.status == RETRY and row.event != "test":
            values["error"] = f"{result.error} (after {row.attempts} attempts)"
    if values:
        _conn(session).execute(d.update().where(d.c.id == delivery_id).values(**values))
    state = values.get("state", row.state)
    return Outcome(row.id, row.incident_id, row.user, row.contact, row.event, state,
                   values.get("error", row.error), values.get("attempts", row.attempts))


def _send(db: Any, now: datetime, claimed: list[Claimed], deadline_s: float, parallel: int) -> list[Outcome]:
    from .channels import send_many

    if not claimed:
        return []
    results = send_many([c.job for c in claimed], deadline_s=deadline_s, parallel=parallel)
    return db.retried(lambda session: [record(session, now, c.id, result) for c, result in zip(claimed, results)])


def run(db: Any, now: datetime, deadline_s: float = DEFAULT_DEADLINE, parallel: int = DEFAULT_PARALLEL,
        limit: int = 500) -> list[Outcome]:
    """The send cycle: expire dead claims, claim what is due (committed), send
    it all in parallel under one deadline, record each outcome (committed).
    What the deadline leaves waits for the next run. One Outcome per delivery
    that expired or was attempted; `any(o.problem for o in outcomes)` is the
    exit status 1 of `escalate-check`."""
    began = time.monotonic()
    # each write is run again from the start if the engine gave up on it for a conflict (never shown)
    outcomes = db.retried(lambda session: expire_claims(session, now))
    while (left := deadline_s - (time.monotonic() - began)) > 0:
        claimed = db.retried(lambda session: claim(session, now, limit, left))  # noqa: B023 - called at once
        if not claimed:
            break
        outcomes += _send(db, now, claimed, left, parallel)
        if len(claimed) < limit:
            break
    return outcomes


def test_contacts(db: Any, user: str, contact: str | None = None, *, now: datetime,
                  deadline_s: float = DEFAULT_DEADLINE) -> list[Outcome]:
    """Send a `test` delivery to each contact of `user` (or only `contact`)
    now, claimed like any other; one Outcome per contact."""
    from ..config import catalog
    from ..errors import NotFound

    with db.write() as session:
        catalog.require_user(session, user)
        contacts = stored.contacts_of(session, [user])
        names = [name for u, name in contacts]
        if contact is not None and contact not in names:
            raise NotFound(f"user {user} has no contact {contact!r}",
                           hint=f"{user}'s contacts: {', '.join(names)}" if names else f"{user} has no contacts")
        chosen = [contact] if contact is not None else names
        if not chosen:
            return []
        ids = []
        for name in chosen:
            timeout = contacts[(user, name)].contact.timeout
            until = now + timedelta(seconds=timeout + deadline_s) + CLAIM_MARGIN
            ids.append(_conn(session).execute(sa.insert(d).values(
                incident_id=None, user=user, contact=name, event="test", rule=0, due_at=now, state="sending",
                attempts=1, claimed_at=now, claimed_until=until, created_at=now)).inserted_primary_key[0])
        claimed = _prepare(session, ids, contacts, now)
    return _send(db, now, claimed, deadline_s, DEFAULT_PARALLEL)


# -- reading -----------------------------------------------------------------------

def to_json(row: Any) -> dict[str, Any]:
    """A delivery as `pager deliveries --json` and `show --json` give it."""
    return {"id": row.id, "incident": row.incident_id, "user": row.user, "contact": row.contact,
            "event": row.event, "level": row.level, "due_at": iso(row.due_at), "state": row.state,
            "attempts": row.attempts, "sent_at": iso(row.sent_at), "error": row.error}


def deliveries(session: Session, incident: int | None = None, user: str | None = None, state: str | None = None,
               since: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Deliveries, newest first, as JSON documents. `limit` 0 for all."""
    from ..errors import UsageError
    from ..store.tables.delivery import STATES

    if state is not None and state not in STATES:
        raise UsageError(f"unknown delivery state {state!r}", hint="one of " + ", ".join(STATES))
    query = sa.select(d).order_by(d.c.id.desc())
    if incident is not None:
        query = query.where(d.c.incident_id == incident)
    if user is not None:
        query = query.where(d.c.user == user)
    if state is not None:
        query = query.where(d.c.state == state)
    if since is not None:
        query = query.where(d.c.due_at >= since)
    if limit:
        query = query.limit(limit)
    return [to_json(row) for row in _conn(session).execute(query)]


__all__ = ["FAILED", "RETRY", "SENT", "Claimed", "Outcome", "claim", "deliveries", "expire_claims", "on_transition",
           "plan_pages", "record", "run", "supersede", "test_contacts", "to_json"]
