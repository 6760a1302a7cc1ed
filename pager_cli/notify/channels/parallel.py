"""`send_many`: many sends at once, each under its contact's timeout, all
under one deadline (PRODUCT.md §9: a slow contact holds up no other).

A bounded set of worker threads takes jobs in order. When the deadline comes,
`send_many` returns at once: a job never started is `retry`, not attempted
(the outbox may simply leave it due); a job started but not finished is
`retry` with a "deadline" error and `attempted=True` — it may still reach
its receiver, so the outbox decides (at most once: record it `unknown`). Its
thread is a daemon and goes on until its own timeout; what it finds is
dropped, since the result was already given.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from .model import RETRY, Job, Result, show_seconds
from .one import send

DEFAULT_PARALLEL = 16  # with 20 ms answers: at most 800 deliveries a second
DEFAULT_DEADLINE = 20.0


def send_many(jobs: Iterable[Job], deadline_s: float = DEFAULT_DEADLINE, parallel: int = DEFAULT_PARALLEL,
              on_result: Callable[[int, Result], None] | None = None) -> list[Result]:
    """Send every job, `parallel` at a time; one Result per job, in the jobs'
    order. `on_result(index, result)` is called from the worker thread as each
    send finishes before the deadline (to record outcomes as they come); it may
    run just after `send_many` has returned, if the deadline fell in between:
    the returned list is what counts."""
    jobs = list(jobs)
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    results: list[Result | None] = [None] * len(jobs)
    started = [False] * len(jobs)
    state = {"next": 0, "open": len(jobs), "closed": False}
    done = threading.Condition()

    def worker() -> None:
        while True:
            with done:
                if state["closed"] or state["next"] >= len(jobs):
                    return
                index = state["next"]
                state["next"] += 1
                started[index] = True
            job = jobs[index]
            result = send(job.contact, job.message, job.smtp)
            with done:
                if state["closed"]:
                    return
                results[index] = result
                state["open"] -= 1
                done.notify_all()
            if on_result is not None:
                on_result(index, result)

    began = time.monotonic()
    for n in range(min(parallel, len(jobs))):
        threading.Thread(target=worker, name=f"pager-send-{n}", daemon=True).start()
    with done:
        done.wait_for(lambda: state["open"] == 0, timeout=max(0.0, deadline_s))
        state["closed"] = True
        elapsed = time.monotonic() - began
        for index, result in enumerate(results):
            if result is None:
                results[index] = (
                    Result(RETRY, f"deadline: no answer within {show_seconds(deadline_s)}", True, elapsed)
                    if started[index] else Result(RETRY, "deadline: not attempted", False, 0.0))
        return list(results)  # type: ignore[arg-type]
