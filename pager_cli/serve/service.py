"""`pager serve` as a whole: the HTTP server, the group-commit writer and the
tick thread, started together and stopped in order.

- the server reads requests on its connection threads; their records are
  committed by the writer (`app.group_commit`), which answers PagerDuty
  events itself once committed (the others wait for it on their thread);
  it also refreshes the planner's statistics, on its own connection, when
  the tick thread says they are due;
- the tick thread runs the same tick as `watch` every `interval`
  (`on_tick`), and, when a commit made or changed deliveries (`kick`), sends
  the ones due right away (`app.tick.send_due`) so a page leaves within
  moments, not at the next tick; sending never holds up an answer;
- a stop (SIGTERM, Ctrl-C: `wait()` returns) stops accepting, closes idle
  keep-alive connections, lets the requests in flight finish (their records
  are committed and answered), then stops the writer and the tick thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..app.group_commit import Writer
from ..errors import PagerError
from .http import Server
from .routes import Context, Dispatch


STATISTICS_EVERY = 15.0  # seconds between refreshes of the planner's statistics (a few ms each)
STATISTICS_FIRST = 1.0  # seconds to the first refresh after the start; the gap doubles up to STATISTICS_EVERY


@dataclass
class Options:
    host: str
    port: int
    token: str | None
    interval: float  # seconds between ticks
    read_timeout: float  # seconds for a request's headers and body


@dataclass
class Hooks:
    """What the command supplies: how to tick, how to report, how to wait."""

    on_tick: Callable[[], None]  # one tick, its events printed
    on_batch: Callable[[object], None]  # a committed batch (its pages)
    on_sent: Callable[[list], None]  # the outcomes of deliveries sent after a commit
    say: Callable[[str], None]  # one line on stderr
    wait: Callable[[], None]  # returns when a stop is requested


class _Ticker:
    def __init__(self, db, clock: Callable[[], datetime], every: float, hooks: Hooks,  # noqa: ANN001
                 refresh_statistics: Callable[[], None]):
        self.db, self.clock, self.every, self.hooks = db, clock, every, hooks
        self.refresh_statistics = refresh_statistics
        self.kicked = threading.Event()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="pager-tick", daemon=True)

    def kick(self) -> None:
        self.kicked.set()

    def stop(self) -> None:
        self.stopping = True
        self.kicked.set()
        self.thread.join()

    def _guard(self, what: str, work: Callable[[], None]) -> None:
        try:
            work()
        except PagerError as e:
            self.hooks.say(f"Error: {what}: {e.message}; retrying at the next tick")
        except Exception as e:  # keep serving: the next tick tries again
            self.hooks.say(f"Error: {what} failed ({type(e).__name__}); retrying at the next tick")

    def _send_due(self) -> None:
        from ..app.tick import send_due

        outcomes = send_due(self.db, self.clock())
        if outcomes:
            self.hooks.on_sent(outcomes)

    def _run(self) -> None:
        # statistics at the start, then 1, 2, 4, 8 s later and every 15 s: a
        # server started on an empty database fills it fastest at first, and
        # statistics of an empty table steer SQLite's look-up of open keys to
        # a scan of every open incident of the service
        due = statistics_due = time.monotonic()
        gap = STATISTICS_FIRST
        while not self.stopping:
            if time.monotonic() >= statistics_due:
                self._guard("statistics", self.refresh_statistics)
                statistics_due, gap = time.monotonic() + gap, min(gap * 2, STATISTICS_EVERY)
            if time.monotonic() >= due:
                self._guard("tick", self.hooks.on_tick)
                due = time.monotonic() + self.every
            if self.kicked.wait(max(0.0, min(due, statistics_due) - time.monotonic())) and not self.stopping:
                self.kicked.clear()
                self._guard("sending", self._send_due)


def run(db, clock: Callable[[], datetime], options: Options, hooks: Hooks) -> None:  # noqa: ANN001
    """Serve until `hooks.wait()` returns, then drain. Raises OSError when the
    address cannot be bound."""
    def committed(batch, sends: bool) -> None:  # noqa: ANN001
        hooks.on_batch(batch)
        if sends:
            ticker.kick()

    writer = Writer(db, clock, committed, by="serve")
    ticker = _Ticker(db, clock, options.interval, hooks, writer.refresh_statistics)
    server = Server((options.host, options.port), Dispatch(Context(db, clock, writer, options.token, ticker.kick)),
                    options.read_timeout, hooks.say, arrivals=writer)
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    writer.start()
    ticker.thread.start()
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="pager-http", daemon=True)
    loop.start()
    hooks.say(f"listening on http://{shown}:{port}")
    try:
        hooks.wait()
    finally:
        server.shutdown()  # stop accepting
        server.drain()  # finish the requests in flight
        writer.stop()
        ticker.stop()
        hooks.say("stopped")
