"""escalate-check (the cron job) and watch (the loop in the foreground)."""

from __future__ import annotations

import errno
import sys
from datetime import datetime
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

    def events(self, events: list) -> None:
        from ..notify.console import deliver

        if self.cut:
            return
        try:
            for event in events:
                if event.page is not None:
                    deliver([event.page], quiet=self.json)
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


def run_check(c: Ctx, now: datetime | None = None, printer: Printer | None = None) -> Printer:
    """One pass of the escalation engine at `now` (default `c.now()`); prints
    each piece's pages and steps right after the piece commits, and keeps none
    of them. Returns the printer (`cut` if stdout was closed on the way)."""
    from ..escalation.due import anything_due

    printer = printer or Printer(c.json)
    now = now or c.now()
    if not anything_due(c.db(), now):
        return printer
    from ..escalation.engine import escalate_check

    for piece in escalate_check(c.db(), now):
        printer.events(piece)
    return printer


def fail_if_cut(printer: Printer) -> None:
    if printer.cut:
        output.error(CUT, "read the run's pages and steps with `pager show ID` or `pager list`")
        raise typer.Exit(1)


def escalate_check(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="One NDJSON line per page or escalation.")] = False,
) -> None:
    """Do every escalation step that is due, exactly once; for cron, every minute.

    Prints one line per page or escalation and nothing when nothing was due, so
    cron mails only when something happened. Catches up step by step after
    missed runs, committing in small pieces. Safe to run concurrently with
    itself, watch and triggers. If stdout is closed early, every due step is
    still done, and the run exits 1 saying its output was cut.

    Crontab: `* * * * * /full/path/to/pager escalate-check`
    """
    fail_if_cut(run_check(get(ctx, json_)))


def register(app: typer.Typer) -> None:
    from .watch import watch

    app.command("escalate-check")(escalate_check)
    app.command()(watch)
