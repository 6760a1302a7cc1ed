"""escalate-check (the cron job): one tick (`app.tick`), its events printed
piece by piece. `watch` runs the same tick in a loop (cli/watch.py)."""

from __future__ import annotations

import errno
import sys
from datetime import datetime
from collections.abc import Callable
from typing import Annotated

import typer

from . import output
from .context import Ctx, get

CUT = "output was cut (stdout was closed); every due step was done and is in the database"


class Printer:
    """Prints a run's pages and steps. A stdout that is closed or broken (a
    `| head -1`, a reader that went away) never stops the work: the lines that
    cannot be printed are dropped, `cut` says so, and the caller finishes the
    run and then exits 1."""

    def __init__(self, json: bool, cut: bool = False):
        self.json = json
        self.cut = cut
        self.problems = 0  # deliveries that failed for good or became unknown

    def events(self, events: list) -> None:
        self.problems += sum(1 for event in events if getattr(event, "problem", False))
        if self.cut:
            return
        try:
            for event in events:
                if hasattr(event, "problem"):  # a delivery's outcome (notify.outbox.Outcome)
                    if self.json:
                        output.emit_json({"event": "delivery", **event.to_json()})
                    else:
                        output.line("DELIVERY " + event.line())
                    continue
                if event.page is not None:
                    output.pages([event.page], self.json)
                elif not self.json:
                    output.line(event.line())
                if self.json:
                    output.emit_json(event.to_json())
        except ValueError:  # a write to a closed sys.stdout
            if not sys.stdout.closed:
                raise
            self.cut = True
        except OSError as e:  # BrokenPipeError, or a stdout that was closed under us
            if e.errno not in (errno.EPIPE, errno.EBADF):
                raise
            self.cut = True
            output.silence_stdout()


def run_tick(c: Ctx, clock: Callable[[], datetime] | None = None,
             printer: Printer | None = None) -> tuple[Printer, datetime]:
    """One tick (`app.tick`) at `clock()` (default: the command's instant);
    prints each piece's events right after the piece commits, and keeps none
    of them. Returns the printer (`cut` if stdout was closed on the way) and
    the tick's instant."""
    from ..app.tick import tick

    printer = printer or Printer(c.json)
    run = tick(c.db(), clock or c.now)
    for events in run:
        printer.events(events)
    return printer, run.now


def fail_if_cut(printer: Printer) -> None:
    if printer.cut:
        output.error(CUT, "read the run's pages and steps with `pager show ID` or `pager list`")
        raise typer.Exit(1)


def fail_on_problems(printer: Printer) -> None:
    """Exit 1 when a delivery failed for good or became unknown in the run, so
    cron mails someone."""
    if printer.problems:
        n = printer.problems
        output.error(f"{n} deliver{'ies' if n > 1 else 'y'} failed for good or became unknown in this run",
                     "`pager deliveries --state failed` and `--state unknown` list them")
        raise typer.Exit(1)


def escalate_check(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="One NDJSON line per page or escalation.")] = False,
) -> None:
    """Do every escalation step that is due, exactly once; for cron, every minute.

    Prints one line per page, escalation or delivery and nothing when nothing
    was due, so cron mails only when something happened. Sends the deliveries
    that are due (contacts, notify rules); exits 1 when one failed for good or
    became unknown. Catches up step by step after
    missed runs, committing in small pieces. Safe to run concurrently with
    itself, watch and triggers. If stdout is closed early, every due step is
    still done, and the run exits 1 saying its output was cut.

    Crontab: `* * * * * /full/path/to/pager escalate-check`
    """
    printer = run_tick(get(ctx, json_))[0]
    fail_if_cut(printer)
    fail_on_problems(printer)


def register(app: typer.Typer) -> None:
    app.command("escalate-check")(escalate_check)
