"""The escalation engine: entering a level (resolve its targets, assign, page),
stepping due incidents on, and `escalate-check`, the cron job.

A level reached at r is due to move on at r + its delay (`next_escalation_at`,
indexed where set). Each step runs inside a write transaction that began
IMMEDIATE, so concurrent checkers see each other's work and every due step
happens exactly once; the `page` table's unique (incident, step, user, channel)
guards it again. Pages are delivered after the transaction commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ..config import catalog
from ..store import tables as m
from .due import due_ids
from ..errors import NotFound
from ..notify import outbox
from ..notify.console import PageMessage, channels_for
from ..maintenance import windows as maintenance
from ..safetext import one_line
from ..times import iso


@dataclass
class Event:
    """Something the engine did that a person or cron should hear about."""

    kind: str  # "page" | "escalated" | "exhausted" | "unassigned"
    incident_id: int
    at: datetime
    text: str
    user: str | None = None
    level: int | None = None
    page: PageMessage | None = None
    reason: str | None = None  # "unassigned": why the level paged nobody

    def line(self) -> str:
        if self.page is not None:
            return self.page.text()
        return f"{self.kind.upper()} #{self.incident_id} {one_line(self.text)}"

    def to_json(self) -> dict:
        return {"event": self.kind, "incident": self.incident_id, "at": iso(self.at), "user": self.user,
                "level": self.level, "text": self.text}


def paged_nobody(events: list[Event]) -> list[str]:
    """`incident #3 paged nobody: nobody on call in schedule X`, for each level that paged nobody."""
    return [f"incident #{e.incident_id} paged nobody: {e.reason}" for e in events
            if e.kind == "unassigned" and e.reason]


@dataclass
class Targets:
    users: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why a target gave nobody


def add_timeline(session: Session, incident_id: int, at: datetime, kind: str, text: str = "", by: str | None = None) -> None:
    row = {"incident_id": incident_id, "at": at, "kind": kind, "by": by, "text": text}
    rows = session.info.get(_ROWS)
    if rows is not None:
        rows[0].append(row)
    else:
        session.add(m.TimelineEntry(**row))


def _add_page(session: Session, **row) -> None:  # noqa: ANN003
    rows = session.info.get(_ROWS)
    if rows is not None:
        rows[1].append(row)
    else:
        session.add(m.Page(**row))


_ROWS = "pager_escalation_rows"  # session.info key: (timeline rows, page rows) written set-wise


@contextmanager
def set_wise(session: Session) -> Iterator[None]:
    """Inside: the timeline entries and pages the engine adds are kept as plain
    rows and written at the end in one executemany per table (a catch-up adds
    them by the hundred; building an ORM object for each costs more than the
    rest of the step)."""
    session.info[_ROWS] = rows = ([], [])
    try:
        yield
        for table, batch in ((m.TimelineEntry.__table__, rows[0]), (m.Page.__table__, rows[1])):
            if batch:
                session.execute(sa.insert(table), batch)
    finally:
        session.info.pop(_ROWS, None)


def resolve_targets(session: Session, targets: tuple[str, ...], at: datetime) -> Targets:
    """Users for a level's targets at instant `at` (`schedule:X` → who is on call)."""
    found = Targets()
    for target in targets:
        kind, _, name = target.partition(":")
        if kind == "user":
            user = name
        else:
            try:
                shift = catalog.shift_at(session, name, at)
            except NotFound:
                found.reasons.append(f"schedule {name} does not exist")
                continue
            user = shift.user if shift else None
            if user is None:
                found.reasons.append(f"nobody on call in schedule {name}")
                continue
        if user not in found.users:
            found.users.append(user)
    return found


def enter_level(session: Session, incident: m.Incident, policy: catalog.Policy, level: int, pass_: int,
                reached_at: datetime) -> list[Event]:
    """Put `incident` at `level` of `policy`, reached at `reached_at`: assign the
    level's targets as they resolve at that instant and page them. The step, its
    pages and its timeline entries all carry `reached_at`, the instant the rules
    put it at (a catch-up run records the history as it should have happened)."""
    incident.escalation_level = level
    incident.escalation_pass = pass_
    incident.level_reached_at = reached_at
    incident.next_escalation_at = reached_at + policy.levels[level].delay
    found = resolve_targets(session, policy.levels[level].targets, reached_at)
    incident.assignees = found.users
    events: list[Event] = []
    for user in found.users:
        outbox.plan_pages(session, incident, user, level, incident.escalation_step, reached_at)
        for channel in channels_for(user):
            _add_page(session, incident_id=incident.id, user=user, step=incident.escalation_step, level=level,
                      at=reached_at, channel=channel, state="sent", error=None)
            message = PageMessage(user, incident.id, incident.severity, incident.service, incident.title, level, channel)
            events.append(Event("page", incident.id, reached_at, message.text(), user=user, level=level, page=message))
    if found.users:
        add_timeline(session, incident.id, reached_at, "notified", f"paged {', '.join(found.users)} (level {level})")
    if found.reasons:
        why = "; ".join(found.reasons)
        text = f"unassigned: {why}" if not found.users else why
        add_timeline(session, incident.id, reached_at, "reassigned", text)
        if not found.users:
            events.append(Event("unassigned", incident.id, reached_at, f"{incident.service}: level {level} {text}",
                                level=level, reason=why))
    return events


def start(session: Session, incident: m.Incident, now: datetime) -> list[Event]:
    """Level 0 of the service's policy for a new incident; no policy →
    unassigned, said in the timeline."""
    policy = service_policy(session, incident.service)
    incident.escalation_policy = policy.name if policy else None
    if policy is None:
        incident.assignees = []
        incident.next_escalation_at = None
        add_timeline(session, incident.id, now, "reassigned", "unassigned: the service has no escalation policy")
        return []
    incident.escalation_step = 0
    end = maintenance.until(session, incident.service, now)
    if end is not None:
        hold(session, incident, now, end)
        return []
    return enter_level(session, incident, policy, 0, 0, now)


def hold(session: Session, incident: m.Incident, at: datetime, end: datetime) -> None:
    """In maintenance from `at` until `end`: nobody paged, nothing escalates;
    at `end` (its due instant) `advance` starts it again at level 0."""
    if incident.held_until != end:
        add_timeline(session, incident.id, at, "held", f"maintenance until {iso(end)}")
    incident.held_until = end
    incident.next_escalation_at = end


def _release(session: Session, incident: m.Incident, policy: catalog.Policy, at: datetime) -> list[Event]:
    """Maintenance over at `at`: level 0 (pass 0), reached at `at`."""
    if incident.level_reached_at is not None:
        incident.escalation_step += 1  # a new step: its pages are new pages
    add_timeline(session, incident.id, at, "released", "maintenance over: escalation starts at level 0")
    return enter_level(session, incident, policy, 0, 0, at)


def _wake(session: Session, incident: m.Incident, at: datetime) -> list[Event]:
    """An acknowledged incident whose snooze or ack timeout ran out at `at`:
    triggered again at its current level, which is paged again (unless the
    service is in maintenance then: held)."""
    why = "snooze ended" if incident.snoozed_until is not None else "ack timeout: acknowledged, not resolved"
    incident.status = "triggered"
    incident.snoozed_until = None
    incident.acknowledged_at = None
    incident.acknowledged_by = None
    add_timeline(session, incident.id, at, "retriggered", f"{why}; triggered again at level {incident.escalation_level}")
    policy, events = follow(session, incident, at)
    if policy is None:
        incident.next_escalation_at = None
        return events
    end = maintenance.until(session, incident.service, at)
    if end is not None:
        hold(session, incident, at, end)
        return events
    level = min(incident.escalation_level, len(policy.levels) - 1)
    incident.escalation_step += 1
    return events + enter_level(session, incident, policy, level, incident.escalation_pass, at)


def service_policy(session: Session, service: str) -> catalog.Policy | None:
    """The escalation policy `service` names now (None: no service, no policy,
    or a policy without levels)."""
    known = session.info.get(_POLICIES)
    if known is not None and service in known:
        return known[service]
    svc = catalog.find_service(session, service)
    policy = catalog.policy(session, svc.escalation_policy) if svc is not None else None
    policy = policy if policy is not None and policy.levels else None
    if known is not None:
        known[service] = policy
    return policy


_POLICIES = "pager_service_policies"  # session.info key: service → policy, read once per escalate-check piece


def follow(session: Session, incident: m.Incident, at: datetime) -> tuple[catalog.Policy | None, list[Event]]:
    """The policy `incident` follows at `at`: its service's current one. When it
    is not the one the incident recorded (renamed, swapped, removed, back after
    a removal), the incident moves to it at `at`, said on its timeline: same
    level, clamped to the new policy's length, due at the level's own due
    instant but not before `at`; left without a policy, it is unassigned and
    stops escalating until a policy comes back (`schedules apply` re-arms it)."""
    policy = service_policy(session, incident.service)
    name = policy.name if policy else None
    was = incident.escalation_policy
    if name == was:
        return policy, []
    incident.escalation_policy = name
    since = f" (was {was})" if was else ""
    if policy is None:
        incident.assignees = []
        incident.next_escalation_at = None
        text = f"no escalation policy now{since}"
        add_timeline(session, incident.id, at, "reassigned", f"unassigned: service {incident.service} has {text}")
        return None, [Event("unassigned", incident.id, at, f"{incident.service}: {text}")]
    if incident.level_reached_at is None:  # opened without a policy: it starts now
        add_timeline(session, incident.id, at, "reassigned", f"follows escalation policy {name} now")
        incident.escalation_step = 0
        return policy, enter_level(session, incident, policy, 0, 0, at)
    level = min(incident.escalation_level, len(policy.levels) - 1)
    incident.escalation_level = level
    add_timeline(session, incident.id, at, "reassigned", f"follows escalation policy {name} now{since}, at level {level}")
    if was is None:  # back from unassigned: the level's targets as they are now
        incident.assignees = resolve_targets(session, policy.levels[level].targets, at).users
    incident.next_escalation_at = max(at, incident.level_reached_at + policy.levels[level].delay)
    return policy, []


def _next_position(policy: catalog.Policy, level: int, pass_: int, wrap: bool) -> tuple[int, int] | None:
    level += 1
    if level < len(policy.levels):
        return level, pass_
    if pass_ < policy.repeat or wrap:
        return 0, pass_ + 1
    return None


def step(session: Session, incident: m.Incident, policy: catalog.Policy, reached_at: datetime,
         *, wrap: bool = False, by: str | None = None) -> list[Event]:
    """Move `incident` to its next level, reached at `reached_at`. Past the last
    level of the last pass: `exhausted` (or, with `wrap`, a manual escalation,
    level 0 of a new pass)."""
    position = _next_position(policy, incident.escalation_level, incident.escalation_pass, wrap)
    if position is None:
        incident.next_escalation_at = None
        passes = incident.escalation_pass + 1
        text = f"no acknowledgement after {passes} pass{'es' if passes > 1 else ''} over {policy.name}; paging stopped"
        add_timeline(session, incident.id, reached_at, "exhausted", text)
        return [Event("exhausted", incident.id, reached_at, f"{incident.service}: {text}")]
    level, pass_ = position
    incident.escalation_step += 1
    text = f"to level {level}" + (f" (pass {pass_ + 1})" if pass_ else "")
    add_timeline(session, incident.id, reached_at, "escalated", text, by=by)
    events = [Event("escalated", incident.id, reached_at, f"{incident.service}: {text}", level=level)]
    return events + enter_level(session, incident, policy, level, pass_, reached_at)


class Budget:
    """How much one write transaction of a catch-up may do: at most `steps`
    steps and about `seconds` of work, so that it commits in small pieces and
    other writers (an `ack`) get the lock between them."""

    def __init__(self, steps: int, seconds: float):
        self.steps, self.used = steps, 0
        self.deadline = time.monotonic() + seconds

    def spend(self) -> None:
        self.used += 1

    @property
    def spent(self) -> bool:
        """At least one step done (a piece always moves on), and the steps or the time used up."""
        return self.used > 0 and (self.used >= self.steps or time.monotonic() >= self.deadline)


def advance(session: Session, incident: m.Incident, now: datetime, budget: Budget | None = None) -> list[Event]:
    """The steps of `incident` that are due at `now`, in order, each reached at
    its own due instant (so a missed run catches up step by step), as many as
    `budget` allows: what is left stays due for the next piece. A due instant
    may also be a timer's: an acknowledged incident's snooze or ack timeout
    running out (`_wake`), or a maintenance hold ending (`_release`); a step
    due while the service is in maintenance is held until the window ends."""
    if incident.status not in ("triggered", "acknowledged"):
        incident.next_escalation_at = None
        return []
    events: list[Event] = []
    policy: catalog.Policy | None = None  # followed once: the config cannot change within the transaction
    while incident.next_escalation_at is not None and incident.next_escalation_at <= now:
        at = incident.next_escalation_at
        if budget is not None:
            if budget.spent:
                break
            budget.spend()
        if incident.status == "acknowledged":
            events += _wake(session, incident, at)
            continue
        end = maintenance.until(session, incident.service, at)
        if end is not None:
            hold(session, incident, at, end)
            continue
        released, incident.held_until = incident.held_until is not None, None
        if policy is None:
            policy, followed = follow(session, incident, at)
            events += followed
            if policy is None:
                incident.next_escalation_at = None
                break
            if incident.next_escalation_at != at:
                continue  # follow moved it (or started it at level 0: the policy changed during the hold)
        if released:
            events += _release(session, incident, policy, at)
            continue
        if incident.level_reached_at is not None:
            # never before the level's own due instant (apply may have re-armed it earlier)
            level = policy.levels[min(incident.escalation_level, len(policy.levels) - 1)]
            if at < incident.level_reached_at + level.delay:
                incident.next_escalation_at = incident.level_reached_at + level.delay
                continue
        events += step(session, incident, policy, at)
    return events


PIECE_STEPS = 200  # steps in one write transaction of escalate-check, at most
PIECE_SECONDS = 0.04  # and about this long stepping (writing them at the commit comes on top)
PAUSE = 0.05  # seconds between two pieces: a writer waiting for the lock (SQLite polls at most every 0.1 s) gets it
# where claims run side by side (PostgreSQL): the incidents one piece claims, and about how long it steps them
SHARED_ROWS = 16
SHARED_SECONDS = 0.1


def escalate_check(db, now: datetime, *, steps: int = PIECE_STEPS, seconds: float = PIECE_SECONDS,  # noqa: ANN001
                   pause: float = PAUSE) -> Iterator[list[Event]]:
    """Do every escalation step due at `now`, exactly once, in small write
    transactions (a `Budget` each). Yields each piece's events right after it
    commits; nothing is kept across pieces, so a long catch-up runs in flat
    memory and an `ack` from elsewhere lands between two pieces and stops
    that incident's steps.

    Where the engine runs claims side by side (PostgreSQL, `claims_share`),
    several checkers share the due work: a piece locks only the few
    incidents it steps (FOR UPDATE SKIP LOCKED: the next checker takes the
    next ones), and pieces follow each other without a pause, since the
    engine queues a waiting writer fairly instead of letting it poll. When a
    piece finds fewer than it asked for, the due incidents it skipped are
    held by another transaction: another checker's piece, which steps them,
    or a trigger batch adding alerts to them, which does not. So the checker
    then waits for the first of them still due (a piece of one, FOR UPDATE),
    and goes on while it finds one: a trigger never puts a step off to the next run. On
    SQLite (one writer) a piece reads up to `steps` due incidents and sleeps
    `pause` before the next, so that a waiting writer gets the lock."""
    shared = db.dialect.claims_share
    rows = SHARED_ROWS if shared else steps
    if shared:
        seconds, pause = max(seconds, SHARED_SECONDS), 0.0

    def piece(limit: int, wait: bool) -> Callable[[Session], tuple[list[Event], list[int], Budget]]:
        def work(session: Session) -> tuple[list[Event], list[int], Budget]:
            budget = Budget(steps, seconds)
            session.info[_POLICIES] = {}  # the config cannot change within the piece's transaction
            with set_wise(session):
                ids = due_ids(session, now, limit, claim=True, wait=wait)
                loaded = {i.id: i for i in session.exec(select(m.Incident).where(col(m.Incident.id).in_(ids)))}
                events: list[Event] = []
                for incident_id in ids:  # the longest due first
                    events += advance(session, loaded[incident_id], now, budget)
                    if budget.spent:
                        break
            return events, ids, budget
        return work

    while True:
        # beside other checkers, each on the rows it claimed; run again if the engine gave up on a conflict
        events, ids, budget = db.retried(piece(rows, False), "claim")
        yield events
        if not budget.spent and len(ids) < rows:
            if not shared:
                return
            events, ids, budget = db.retried(piece(1, True), "claim")  # the first still due that others held
            if not ids:
                return
            yield events
        if pause:
            time.sleep(pause)


STEP_KINDS = ("escalated", "exhausted")  # timeline entries that are escalation steps


def latest_activity(session: Session, limit: int) -> list[Event]:
    """The newest `limit` pages and escalation steps as Events, newest first (two
    reads from the end of the `page` and `timeline` tables, merged)."""
    pages = session.exec(
        select(m.Page, m.Incident.service, m.Incident.severity, m.Incident.title)
        .join(m.Incident, m.Incident.id == m.Page.incident_id)
        .order_by(col(m.Page.id).desc())
        .limit(limit)
    )
    steps = session.exec(
        select(m.TimelineEntry, m.Incident.service)
        .join(m.Incident, m.Incident.id == m.TimelineEntry.incident_id)
        .where(col(m.TimelineEntry.kind).in_(STEP_KINDS))
        .order_by(col(m.TimelineEntry.id).desc())
        .limit(limit)
    )
    found: list[tuple[Event, int, int]] = []
    for p, service, severity, title in pages:
        message = PageMessage(p.user, p.incident_id, severity, service, title, p.level, p.channel)
        found.append((Event("page", p.incident_id, p.at, message.text(), user=p.user, level=p.level, page=message), 1, p.id))
    for e, service in steps:
        found.append((Event(e.kind, e.incident_id, e.at, f"{service}: {e.text}"), 0, e.id))
    # a step and the pages it caused share an instant: the step comes first
    found.sort(key=lambda item: (item[0].at, item[1], item[2]), reverse=True)
    return [event for event, _, _ in found[:limit]]
