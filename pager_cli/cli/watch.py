"""`pager watch`: the escalation loop in the foreground, with a live view.

Each tick does what `escalate-check` does (`run_check`), then reads a
`Snapshot` — who is on call, the open incidents, the latest pages and
escalations — on the main thread and hands Rich's Live view a finished
renderable. Live never queries the database: nothing it renders is lazy.

Not on a terminal (or with `--json`) there is no view: the loop prints what
`escalate-check` prints, one plain line (or NDJSON event) per page or escalation.

Stopping: SIGINT and SIGTERM only set a flag. A tick in progress finishes — its
transactions commit and its pages are delivered — and the loop stops before the
next one; the sleep between ticks runs in short slices, so it notices within
`SLICE` seconds. A second SIGINT (Ctrl-C twice) stops at once with
KeyboardInterrupt: a write in flight is rolled back by its transaction (never
half-done), and committed pages not yet printed are still in the `page` table.
Further SIGTERMs are absorbed (a service manager may send several), and, in a
real process, both signals stay ignored while it shuts down after a stop.
Either way: exit 0.

A reader that goes away (a closed or broken stdout) does not stop a tick: its
work is finished, then watch exits 1 saying its output was cut.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import output
from .context import Ctx, get
from .escalation import Printer, fail_if_cut, run_check

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..escalation.engine import Event
    from ..schedules.types import Shift

MIN_INTERVAL = timedelta(seconds=1)
SLICE = 0.1  # seconds: how soon a stop request ends the sleep between ticks
INCIDENT_ROWS = 20  # open incidents shown in the view; the rest are counted
ACTIVITY_ROWS = 10  # latest pages and escalations shown
PLAIN_WIDTH = 100  # width of a plain-text frame when COLUMNS is not set


# --- time ------------------------------------------------------------------


class TickClock:
    """Each tick's `now`.

    Ctx reads the clock once per command; a loop needs a fresh instant every
    tick. Live, the clock is read afresh each tick (`times.current_time`), so a
    machine that slept catches up at once. In a replay (`--now T` / PAGER_NOW),
    the first tick is at T exactly and each later one at T plus the real time
    elapsed since the first, measured on the monotonic clock
    (`start_now + (monotonic() - started)`): the replay keeps moving at real
    speed, and escalations fall due as they would have.
    """

    def __init__(self, start: datetime, replay: bool, monotonic: Callable[[], float] = time.monotonic):
        self.start = start
        self.replay = replay
        self._monotonic = monotonic
        self._started: float | None = None

    def __call__(self) -> datetime:
        if self.replay:
            if self._started is None:
                self._started = self._monotonic()
                return self.start
            return self.start + timedelta(seconds=self._monotonic() - self._started)
        from ..times import current_time

        return current_time(None)


def parse_interval(text: str) -> timedelta:
    from ..errors import UsageError
    from ..times import parse_duration

    every = parse_duration(text)
    if every < MIN_INTERVAL:
        raise UsageError(f"--interval {text!r} is too short", hint="at least 1s, e.g. --interval 15s")
    return every


# --- stopping ----------------------------------------------------------------


class StopSignals:
    """SIGINT and SIGTERM set `requested`; the loop checks it between ticks and
    `sleep` checks it every SLICE seconds. After that, a second SIGINT raises
    KeyboardInterrupt wherever the main thread is; a second SIGTERM is absorbed.
    On exit the previous handlers come back — unless a stop was requested and
    `ignore_after_stop` is set (a real process, about to end): then both signals
    stay ignored, so that one arriving during the shutdown cannot kill it. (No
    threading.Event: setting one from a signal handler can deadlock on its own
    lock.)"""

    NAMES = ("SIGINT", "SIGTERM")

    def __init__(self, ignore_after_stop: bool = False) -> None:
        self.requested = False
        self.ignore_after_stop = ignore_after_stop
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            return  # SIGTERM again: already stopping
        self.requested = True

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for name in self.NAMES:
                number = getattr(signal, name, None)
                if number is not None:
                    self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        stopping = self.requested and self.ignore_after_stop
        for number, previous in self._previous.items():
            if stopping:
                signal.signal(number, signal.SIG_IGN)
            else:
                signal.signal(number, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def sleep(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early once a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self.requested:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, SLICE))


# --- what a frame shows --------------------------------------------------------


@dataclass
class Snapshot:
    at: datetime
    on_call: list[tuple[str, "Shift | None"]]
    incidents: list[Any]  # models.Incident, newest first, at most INCIDENT_ROWS
    open_total: int
    activity: list["Event"]  # newest first

    def to_json(self) -> dict:
        from ..incidents import lifecycle as incidents
        from ..times import iso

        return {
            "at": iso(self.at),
            "on_call": [{"schedule": name, "user": s.user if s else None, "shift_start": iso(s.start) if s else None,
                         "shift_end": iso(s.end) if s else None} for name, s in self.on_call],
            "open_incidents": self.open_total,
            "incidents": [incidents.to_json(i) for i in self.incidents],
            "latest": [a.to_json() for a in self.activity],
        }


def snapshot(c: Ctx, now: datetime) -> Snapshot:
    """Everything a frame shows, read in one transaction on the calling thread."""
    from ..config import catalog
    from ..incidents import lifecycle as incidents
    from ..escalation.engine import latest_activity
    from ..schedules.oncall import on_call

    with c.db().read() as session:
        on_call_now = [(name, on_call(catalog.schedule(session, name), now)) for name in catalog.schedule_names(session)]
        rows = incidents.listing(session, "open", limit=INCIDENT_ROWS)
        total = sum(incidents.open_counts(session).values())
        activity = latest_activity(session, ACTIVITY_ROWS)
    return Snapshot(now, on_call_now, rows, total, activity)


def render(snap: Snapshot, tz: "ZoneInfo", every: timedelta | None = None, replay: bool = False):  # noqa: ANN201
    """The frame: a header, who is on call, open incidents, latest pages and
    escalations. Every piece of alert text goes through `output.literal`."""
    from rich.console import Group
    from rich.text import Text

    from ..times import format_duration
    from .incidents import incident_table

    head = Text()
    head.append("pager watch", style="bold")
    head.append(f"  {output.local_time(snap.at, tz)}")
    if replay:
        head.append("  (replay)", style="yellow")
    if every is not None:
        head.append(f"  every {format_duration(every.total_seconds())} · Ctrl-C to stop", style="dim")

    parts: list[Any] = [head, Text()]
    if snap.on_call:
        grid = output.table("Schedule", "On call", "Until", title="On call")
        for name, shift in snap.on_call:
            user = shift.user if shift else None
            grid.add_row(output.literal(name), output.literal(user or "— nobody", "" if user else "dim"),
                         output.local_time(shift.end if shift else None, tz))
        parts.append(grid)
    else:
        parts.append(Text("No schedules yet: `pager schedules apply FILE` defines them.", style="dim"))
    parts.append(Text())

    if snap.incidents:
        grid = incident_table(snap.incidents, snap.at, tz)
        grid.title = f"Open incidents ({snap.open_total})"
        parts.append(grid)
        if snap.open_total > len(snap.incidents):
            more = snap.open_total - len(snap.incidents)
            parts.append(Text(f"… and {more} more: `pager list`", style="dim"))
    else:
        parts.append(Text("No open incidents.", style="green"))
    parts.append(Text())

    if snap.activity:
        grid = output.table("At", "Page or escalation", title="Latest pages and escalations")
        for a in snap.activity:
            style = "bold" if a.kind == "page" else ("red" if a.kind == "exhausted" else "yellow")
            what = output.literal(a.line())
            what.stylize(style, 0, len(a.kind))
            grid.add_row(output.local_time(a.at, tz), what)
        parts.append(grid)
    else:
        parts.append(Text("Nothing paged yet.", style="dim"))
    return Group(*parts)


# --- the command ------------------------------------------------------------------


def _is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _plain_console():  # noqa: ANN202
    """A frame as plain text for a pipe or file: no colour, no escape sequences."""
    from rich.console import Console

    columns = os.environ.get("COLUMNS", "")
    width = int(columns) if columns.isascii() and columns.isdigit() and int(columns) > 0 else PLAIN_WIDTH
    return Console(file=sys.stdout, force_terminal=False, no_color=True, color_system=None, width=width,
                   highlight=False, soft_wrap=False, markup=False, emoji=False)


def _retry_later(error: Exception) -> None:
    """In the loop a database error (say, a lock held past the busy timeout) is
    reported and the tick tried again at the next one."""
    output.error(f"{error}; retrying at the next tick", getattr(error, "hint", None))


def _once(c: Ctx, clock: TickClock, plain: bool) -> None:
    now = clock()
    printer = run_check(c, now)
    fail_if_cut(printer)
    snap = snapshot(c, now)
    try:
        if c.json:
            output.emit_json({"event": "frame", **snap.to_json()})
            return
        console = _plain_console() if plain else output.console()
        console.print(render(snap, c.tz(), replay=clock.replay))
    except BrokenPipeError:
        output.silence_stdout()
        fail_if_cut(Printer(c.json, cut=True))


def _loop_plain(c: Ctx, clock: TickClock, every: timedelta, stop: StopSignals) -> None:
    from ..errors import DatabaseError

    while not stop.requested:
        try:
            printer = run_check(c, clock())
        except DatabaseError as e:
            _retry_later(e)
            printer = None
        if printer is not None:
            fail_if_cut(printer)  # the tick's work is done; nobody reads what comes next
        stop.sleep(every.total_seconds())


def _loop_live(c: Ctx, clock: TickClock, every: timedelta, stop: StopSignals) -> None:
    from rich.live import Live

    from ..errors import DatabaseError

    # No auto refresh: the view changes only when a tick hands it a new frame,
    # so Rich's refresh thread never runs and never touches the database.
    with Live(console=output.console(), auto_refresh=False, screen=False, transient=False) as live:
        while not stop.requested:
            now = clock()
            try:
                run_check(c, now)
                live.update(render(snapshot(c, now), c.tz(), every, clock.replay), refresh=True)
            except DatabaseError as e:
                _retry_later(e)
            stop.sleep(every.total_seconds())


def watch(
    ctx: typer.Context,
    interval: Annotated[str, typer.Option("--interval", metavar="DURATION", help="Time between ticks, at least 1s.")] = "15s",
    once: Annotated[bool, typer.Option("--once", help="Do one tick, print one frame, exit.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="NDJSON events, one per page or escalation; with --once, then the frame as one JSON line.")] = False,
) -> None:
    """The escalation loop in the foreground, with a live view.

    Every tick does what escalate-check does, then redraws who is on call, the
    open incidents and the latest pages and escalations. Not on a terminal it
    prints one plain line per page or escalation instead. With --now the replay
    keeps moving at real speed. Ctrl-C or SIGTERM stops it (exit 0).
    """
    c = get(ctx, json_)
    every = parse_interval(interval)
    plain = c.json or not _is_terminal()
    clock = TickClock(c.now(), replay=bool(c.now_option))
    c.db()  # a database that cannot be opened fails now, not at every tick
    try:
        with StopSignals(ignore_after_stop=c.process_ends_after) as stop:
            if once:
                _once(c, clock, plain)
            elif plain:
                _loop_plain(c, clock, every, stop)
            else:
                _loop_live(c, clock, every, stop)
    except KeyboardInterrupt:
        pass
