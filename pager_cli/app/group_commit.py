"""Group commit for `pager serve`: the records of concurrent requests,
applied by one writer thread in one transaction per batch.

A request hands its records to `Writer.submit` and waits, or to
`Writer.enqueue` with what to do once they are committed (`serve` writes the
answer of a PagerDuty event from the writer thread, so the connection's thread
goes back to reading instead of waiting to be woken). The writer takes
every request queued at that moment (up to MAX_RECORDS records), checks
each against the services configured now (a PagerDuty routing key must be a
service's `routing_key`; a `{service}` must exist), applies the admitted ones
through the same code as `pager trigger -` (`ingest.apply_groups`, each
request with its own fallback service) in ONE write transaction on the
connection it keeps (`Database.hold`), and only then answers or wakes the
requests: an answer means committed, and a burst of N requests costs a few
commits, not N. A database error (busy past the busy timeout) fails the
whole batch: each of its requests learns it and may answer 503.

Batches grow with the load. A request is counted as coming (`coming()`, from
its request line until it is queued or answered); when the queue is empty but
requests are coming, the writer waits for them, at most LINGER, before it
commits; it is woken once, when the last of them is queued or answered (or
the batch is full), not at each. Idle, a request is committed at once (nothing else is coming); under load, the
clients answered by one commit come back while it would begin the next, and
one commit takes them all instead of a few: a commit's fixed cost (begin,
look-up, commit) is shared by more events, and the answer still follows the
commit that holds the event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..alerts.record import Alert
from ..errors import PagerError
from .ingest import SENDS, Batch, Result, apply_groups

MAX_RECORDS = 2000  # records per transaction
LINGER = 0.002  # seconds the writer may wait for requests still arriving before it commits
ROUTING_TTL = 1.0  # seconds the configured services are trusted before they are read again


def _held():  # noqa: ANN202 - a lock, taken: a one-shot signal cheaper than a threading.Event
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class Job:
    """One request's records. `routing_key`: they must route by a service's
    routing key; `service`: that service must exist (and is their fallback)."""

    alerts: list[Alert]
    service: str | None = None
    routing_key: bool = False
    results: list[Result] = field(default_factory=list)
    rejected: str | None = None  # why the request was not admitted (the caller answers 4xx)
    error: PagerError | None = None  # the batch failed (the caller answers 503)
    done: Any = field(default_factory=_held)  # released by the writer once the batch is committed (or failed)
    then: Callable[[Job], None] | None = None  # `enqueue`'s: called by the writer before it releases `done`


class Writer:
    """The writer thread. `on_commit(batch)` gets each committed batch (its
    pages; `sends`: whether it made or changed deliveries), on the writer
    thread, after the requests were woken."""

    def __init__(self, db, clock: Callable[[], datetime], on_commit: Callable[[Batch, bool], None],  # noqa: ANN001
                 by: str | None = None):
        self.db = db
        self.clock = clock
        self.on_commit = on_commit
        self.by = by
        self._held = db.hold()  # the writer's connection, kept from batch to batch
        # Under _lock: the queued jobs and their records, the requests arriving
        # (between `coming()` and their submit or answer), whether stopping, and
        # what the writer sleeps until, if it does: "job" (one is queued) or
        # "arrivals" (none is arriving any more, or the batch is full). The
        # thread that makes it so wakes it (releases _wake): one wake a batch,
        # not one a request.
        self._lock = threading.Lock()
        self._jobs: list[Job] = []
        self._records = 0
        self._arriving = 0
        self._stopping = False
        self._asleep: str | None = None
        self._wake = _held()
        self._analyze = False  # refresh the planner's statistics before the next batch
        self._mine = threading.local()  # whether this thread's request is counted in _arriving
        self._routing: tuple[float, list, set[str], set[str]] | None = None  # (read at, rows, names, keys)
        self._thread = threading.Thread(target=self._run, name="pager-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def coming(self) -> None:
        """A request began to arrive on this thread (its request line is in);
        until it is queued (`submit`) or answered (`settled`), the writer may
        wait for it before committing."""
        if not getattr(self._mine, "counted", False):
            self._mine.counted = True
            with self._lock:
                self._arriving += 1

    def settled(self) -> None:
        """This thread's request will not be queued (any more): it was, or it
        was answered without it."""
        if getattr(self._mine, "counted", False):
            self._mine.counted = False
            with self._lock:
                self._arriving -= 1
                wake = self._wakes()
            if wake:
                self._wake.release()

    def submit(self, job: Job) -> Job:
        """Queue `job` and wait until its batch is committed (or failed). In a
        request counted as coming (`coming()`), it is no longer counted once queued."""
        self._queue(job)
        job.done.acquire()  # until the writer releases it
        return job

    def enqueue(self, job: Job, then: Callable[[Job], None]) -> None:
        """Queue `job` without waiting: the writer calls `then(job)` once its
        batch is committed (or failed), on the writer thread (so it must be
        quick: `serve` writes the answer), then releases `job.done`."""
        job.then = then
        self._queue(job)

    def _queue(self, job: Job) -> None:
        counted = getattr(self._mine, "counted", False)
        self._mine.counted = False
        with self._lock:  # queued and no longer arriving at once: the writer never sees it as neither
            self._jobs.append(job)
            self._records += len(job.alerts)
            if counted:
                self._arriving -= 1
            wake = self._wakes()
        if wake:
            self._wake.release()

    def refresh_statistics(self) -> None:
        """Refresh the planner's statistics, on the writer's connection (the
        one whose look-ups need them: `Held.analyze`), before its next batch."""
        self._analyze = True

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        with self._lock:
            self._stopping = True
            wake = self._wakes()
        if wake:
            self._wake.release()
        self._thread.join()

    def _wakes(self) -> bool:
        """Under _lock: whether the sleeping writer is to be woken now (it is
        then no longer counted as asleep)."""
        if self._asleep is None:
            return False
        if not self._stopping:
            if self._asleep == "job" and not self._jobs:
                return False
            if self._asleep == "arrivals" and self._arriving > 0 and self._records < MAX_RECORDS:
                return False
        self._asleep = None
        return True

    def _next(self) -> list[Job] | None:
        """The next batch: once a job is queued, it and every queued job, and
        those still arriving (LINGER at most); None once stopped with nothing queued."""
        deadline = None
        while True:
            with self._lock:
                if self._jobs:
                    if self._arriving <= 0 or self._records >= MAX_RECORDS or self._stopping:
                        return self._taken()
                    deadline = deadline or time.monotonic() + LINGER
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return self._taken()
                    self._asleep = "arrivals"
                elif self._stopping:
                    return None
                else:
                    self._asleep, left = "job", -1
            if not self._wake.acquire(timeout=left):
                with self._lock:
                    woken, self._asleep = self._asleep is None, None
                if woken:  # woken as the time ran out: take that wake, so the next sleep waits
                    self._wake.acquire()

    def _taken(self) -> list[Job]:
        """Under _lock: the queued jobs, up to MAX_RECORDS records (at least one)."""
        count, taken = 0, 0
        for job in self._jobs:
            if count >= MAX_RECORDS:
                break
            count, taken = count + len(job.alerts), taken + 1
        jobs = self._jobs[:taken]
        del self._jobs[:taken]
        self._records -= count
        return jobs

    def _run(self) -> None:
        try:
            self._serve()
        finally:
            self._held.close()

    def _serve(self) -> None:
        while True:
            jobs = self._next()
            if jobs is None:
                return
            batch = None
            try:
                if self._analyze:
                    self._analyze = False
                    self._refresh()
                batch = self._apply(jobs)
            except PagerError as e:
                for job in jobs:
                    job.error = e
            except Exception as e:  # a bug: answer 500, keep serving
                for job in jobs:
                    job.error = PagerError(f"internal error ({type(e).__name__})")
            finally:
                for job in jobs:
                    if job.then is not None:
                        try:
                            job.then(job)
                        except Exception:  # noqa: S110 - the caller's trouble must not stop the writer
                            pass
                    job.done.release()
            if batch is not None:
                try:
                    self.on_commit(batch, any(r.action in SENDS for r in batch.results))
                except Exception:  # noqa: S110 - reporting must not stop the writer
                    pass

    def _refresh(self) -> None:
        try:
            self._held.analyze()  # a few ms
        except PagerError:  # noqa: S110 - the batch goes on; the next refresh tries again
            pass

    def _services(self) -> tuple[list, set[str], set[str]]:
        """The services (rows, names, routing keys), read again after
        ROUTING_TTL: a `schedules apply` counts within a second."""
        from .serve import services

        now = time.monotonic()
        if self._routing is None or now - self._routing[0] > ROUTING_TTL:
            rows = services(self.db)
            self._routing = (now, rows, {s.name for s in rows}, {s.routing_key for s in rows if s.routing_key})
        return self._routing[1:]

    def _apply(self, jobs: list[Job]) -> Batch:
        rows, names, keys = self._services()
        admitted = []
        for job in jobs:
            job.rejected = _rejected(job, names, keys)
            if job.rejected is None:
                admitted.append(job)
        groups: dict[str | None, list[Job]] = {}
        for job in admitted:
            groups.setdefault(job.service, []).append(job)
        plan = [(fallback, members) for fallback, members in groups.items()]
        batches = apply_groups(self._held, self.clock(), [([a for j in members for a in j.alerts], fallback)
                                                       for fallback, members in plan], by=self.by, services=rows)
        out = Batch([], [])
        for (_, members), batch in zip(plan, batches):
            start = 0
            for job in members:
                job.results = batch.results[start:start + len(job.alerts)]
                start += len(job.alerts)
            out.results += batch.results
            out.pages += batch.pages
        return out


def _rejected(job: Job, names: set[str], keys: set[str]) -> str | None:
    if job.service is not None and job.service not in names:
        return f"unknown service {job.service!r}"
    if job.routing_key:
        for alert in job.alerts:
            if alert.error is None and alert.routing_key not in keys:
                return "unknown routing key"
    return None
