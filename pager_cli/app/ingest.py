"""Batch ingest: the records of an alert stream, routed to their services and
committed into the database a batch at a time.

`Ingest` takes records one at a time (`add`) and commits them in batches:

- when `batch_size` records are pending;
- when the first pending record is `latency` seconds old. `add` checks this as
  each record arrives; a caller that blocks on a quiet input asks `due_in()`
  how long it may wait and calls `commit()` itself when that runs out;
- at `close()`, with whatever is left.

A batch is one write transaction holding database work only: its records
were read before it began, so concurrent writers wait milliseconds for the
lock, never for the input. Where the engine has row locks (PostgreSQL) it is
a `claim`: batches of several streams (and `serve`'s group commits, and
`pager trigger`) run beside each other and beside escalation checkers, each
locking the incidents of its own keys; on SQLite it begins IMMEDIATE, the
one writer. The batch's outcomes and the pages it decided reach `on_commit`
after the commit: a crash loses at most the batch in flight, never a record
already reported.

What each record does within its batch, in stream order, is `batch.py`'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Row

from ..alerts.record import Alert
from ..config import catalog
from ..severity import DEFAULT_SEVERITY
from ..store.db import Transaction
from .batch import Apply, Batch, Result, apply_all, unapplied

__all__ = ["ACTIONS", "SENDS", "Batch", "Defaults", "Ingest", "Result", "apply_batch", "apply_groups", "feed",
           "for_stream"]

DEFAULT_BATCH_SIZE = 500
DEFAULT_LATENCY = 1.0  # seconds
ACTIONS = ("created", "deduplicated", "acknowledged", "resolved", "ignored", "error")

SENDS = ("created", "acknowledged", "resolved")  # outcomes that can make deliveries


class Ingest:
    """Records in, committed batches out (see the module docstring).

    `clock` gives the instant stamped on a batch (read once per batch);
    `fallback` is the service of records that cannot be routed; `by` is who
    acknowledges and resolves; `on_commit` receives each committed `Batch`.
    """

    def __init__(self, db, clock: Callable[[], datetime], on_commit: Callable[[Batch], None], *,  # noqa: ANN001
                 fallback: str | None = None, by: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 latency: float = DEFAULT_LATENCY, monotonic: Callable[[], float] = time.monotonic):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.db = db
        self.clock = clock
        self.on_commit = on_commit
        self.fallback = fallback
        self.by = by
        self.batch_size = batch_size
        self.latency = max(0.0, latency)
        self._monotonic = monotonic
        self._pending: list[Alert] = []
        self._first_at = 0.0
        self._warned: set[str] = set()  # the routing warnings given so far in this stream

    def add(self, alert: Alert) -> None:
        """Queue one record; commit when the batch is full or due."""
        pending = self._pending
        arrived = self._monotonic()
        if not pending:
            self._first_at = arrived
        pending.append(alert)
        if len(pending) >= self.batch_size or arrived - self._first_at >= self.latency:
            self.commit()

    def due_in(self) -> float | None:
        """Seconds until the pending batch must be committed; None when nothing is pending."""
        if not self._pending:
            return None
        return max(0.0, self._first_at + self.latency - self._monotonic())

    def commit(self) -> None:
        """Commit the pending records (if any) and hand their outcomes on."""
        if not self._pending:
            return
        alerts, self._pending = self._pending, []
        now = self.clock()
        batch = apply_batch(self.db, now, alerts, fallback=self.fallback, by=self.by, warned=self._warned)
        if any(r.action in SENDS for r in batch.results):
            from .tick import send_due

            batch.deliveries = send_due(self.db, now)
        self.on_commit(batch)

    def close(self) -> None:
        self.commit()


def for_stream(db, clock: Callable[[], datetime], on_commit: Callable[[Batch], None], service: str | None,  # noqa: ANN001
               **options) -> Ingest:  # noqa: ANN003 - by, batch_size, latency
    """The `Ingest` of a stream whose records without a service take `service`
    (NotFound when it does not exist), else the config's `default_service`."""
    with db.read() as session:
        if service:
            catalog.service(session, service)
        fallback = service or catalog.setting(session, "default_service") or None
    return Ingest(db, clock, on_commit, fallback=fallback, **options)


@dataclass(frozen=True)
class Defaults:
    """`trigger -` options for the trigger records that lack the field (checked
    before the stream is read: `app.incidents.stream_defaults`)."""

    severity: str = DEFAULT_SEVERITY
    dedup_key: str | None = None
    details: dict | None = None


def feed(ingest: Ingest, stream, input_format: str, defaults: Defaults = Defaults()) -> None:  # noqa: ANN001, B008
    """Every record of `stream` (`alerts.stream.read_alerts`) into `ingest`, then the last batch."""
    from ..alerts.record import UNSET_SEVERITY
    from ..alerts.stream import read_alerts

    add = ingest.add
    severity, key, details = defaults.severity, defaults.dedup_key, defaults.details
    for alert in read_alerts(stream, input_format, ingest.fallback):
        if alert.severity is UNSET_SEVERITY:
            alert.severity = severity
        if alert.action == "trigger" and alert.error is None:
            if key is not None and (alert.dedup_key is None or alert.generated_key):
                alert.dedup_key, alert.generated_key = key, False
            if details and not alert.details:
                alert.details = dict(details)
        add(alert)
    ingest.close()


def apply_batch(db, now: datetime, alerts: list[Alert], *, fallback: str | None = None,  # noqa: ANN001
                by: str | None = None, warned: set[str] | None = None) -> Batch:
    """Apply `alerts` in order in one write transaction (a `claim`); their outcomes, once
    committed. `warned` holds the routing warnings already given in the
    stream: they are not repeated (the set grows with the new ones)."""
    if all(a.error is not None for a in alerts):
        return unapplied(alerts)
    def work(session):  # noqa: ANN001, ANN202 - run again from the start on a conflict the engine gave up on
        batch, given = unapplied(alerts), set() if warned is None else set(warned)
        apply_all([(Apply(Transaction(session.connection(), session), now, fallback, by, batch, given), alerts)])
        return batch, given

    batch, given = db.retried(work, "claim")
    if warned is not None:
        warned |= given  # only once the batch is committed
    return batch


def apply_groups(held, now: datetime, groups: list[tuple[list[Alert], str | None]], *,  # noqa: ANN001
                 by: str | None = None, services: list[Row] | None = None) -> list[Batch]:
    """Several streams' records (each with its own fallback service) applied
    in ONE write transaction (a `claim`) on `held` (a `Database.hold()`), each
    group as `apply_batch` would: `serve`'s group commit. `services`: the
    service rows (`catalog.services`) when the caller holds them already. The
    batches, once committed."""
    def work(tx):  # noqa: ANN001, ANN202 - run again from the start on a conflict the engine gave up on
        batches = [unapplied(alerts) for alerts, _ in groups]
        if tx is not None:
            apply_all([(Apply(tx, now, fallback, by, batch, set(), services), alerts)
                       for (alerts, fallback), batch in zip(groups, batches) if any(a.error is None for a in alerts)])
        return batches

    return held.retried(work, "claim") if any(a.error is None for alerts, _ in groups for a in alerts) else work(None)
