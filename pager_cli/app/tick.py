"""One tick: everything that is due, done once — by `escalate-check` (cron),
each tick of `watch`, and later `serve`.

A tick reads its clock once (`Tick.now`) and runs the `MANAGERS` in order.
A manager is one concern: it answers "anything due?" cheaply and then does
the work in small committed pieces, yielding each piece's events (things a
person or cron should hear about: `.page`, `.line()`, `.to_json()`) right
after the piece commits. Nothing is kept across pieces.

There are the timers (`app.timers`: heartbeats gone late, auto-resolve), the
escalation engine (whose due instants also hold snooze and ack-timeout ends
and maintenance holds) and the delivery outbox (`notify.outbox.run`).

The cron fast path: with nothing due, a tick is one indexed read per manager
and loads no ORM model (`escalation.due` answers in SQLAlchemy Core), then
one small write: a whole tick stamps its instant (`store.stamps`), which
`metrics --format prometheus` exports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Manager:
    name: str
    run: Callable[[Any, datetime], Iterable[list]]  # (db, now) → each committed piece's events


def _escalation(db, now: datetime) -> Iterator[list]:  # noqa: ANN001 - a Database
    """Every escalation step due at `now`, in pieces (`escalation.engine.escalate_check`)."""
    from ..escalation.due import anything_due

    if not anything_due(db, now):
        return
    from ..escalation.engine import escalate_check

    yield from escalate_check(db, now)


def _deliveries(db, now: datetime) -> Iterator[list]:  # noqa: ANN001 - a Database
    """Every delivery due at `now`, sent (`notify.outbox.run`): one piece, the
    outcomes (`.line()`, `.problem`: failed for good or unknown)."""
    from ..notify.due import anything_due

    if not anything_due(db, now):
        return
    from ..notify import outbox

    outcomes = outbox.run(db, now)
    if outcomes:
        yield outcomes


def _timers(db, now: datetime) -> Iterator[list]:  # noqa: ANN001 - a Database
    """Heartbeats gone late and auto-resolves due at `now` (`app.timers`).
    Snooze, ack timeout and maintenance ends are escalation due instants."""
    from ..timers.due import anything_due

    if not anything_due(db, now):
        return
    from . import timers

    yield from timers.run(db, now)


MANAGERS: list[Manager] = [
    Manager("timers", _timers),  # first: an incident a late heartbeat opened at 03:00 escalates in this tick
    Manager("escalation", _escalation),
    Manager("deliveries", _deliveries),  # after escalation: the pages a step made go out in the same tick
]


class Tick:
    """One pass over MANAGERS at one instant; iterate it for the pieces' events."""

    def __init__(self, db, clock: Callable[[], datetime]):  # noqa: ANN001
        self.db = db
        self.now = clock()

    def __iter__(self) -> Iterator[list]:
        for manager in MANAGERS:
            yield from manager.run(self.db, self.now)
        _stamp(self.db, self.now)


def _stamp(db, now: datetime) -> None:  # noqa: ANN001 - a Database
    """Record that a whole tick ran at `now` (one small write, §13's
    pager_escalate_check_last_run_timestamp_seconds). A claim: one row's
    UPDATE, beside triggers and other checkers (PostgreSQL holds the write lock
    shared for it), never beside an exclusive write."""
    from ..store.stamps import stamp_tick

    db.retried(lambda session: stamp_tick(session, now), "claim")


def tick(db, clock: Callable[[], datetime]) -> Tick:  # noqa: ANN001
    """Everything due at `clock()` (read once): iterate the result to do it, piece by piece."""
    return Tick(db, clock)


def send_due(db, now: datetime) -> list:  # noqa: ANN001 - a Database
    """The deliveries due at `now`, sent: what a command that made pages or
    acknowledged something does right after its commit. Their outcomes."""
    return [outcome for piece in _deliveries(db, now) for outcome in piece]
