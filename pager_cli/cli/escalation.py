"""escalate-check (the cron job) and watch (the loop in the foreground)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from . import output
from .context import Ctx, get


def run_check(c: Ctx, now: datetime | None = None) -> list:
    """One pass of the escalation engine at `now` (default `c.now()`); prints
    each page and step as its batch commits. Returns the events."""
    from ..escalation.due import anything_due

    now = now or c.now()
    if not anything_due(c.db(), now):
        return []
    from ..escalation.engine import escalate_check
    from ..notify.console import deliver

    done = []
    for event in escalate_check(c.db(), now):
        done.append(event)
        if event.page is not None:
            deliver([event.page], quiet=c.json)
        elif not c.json:
            output.line(event.line())
        if c.json:
            output.emit_json(event.to_json())
    return done


def escalate_check(
    ctx: typer.Context,
    json_: Annotated[bool, typer.Option("--json", help="One NDJSON line per page or escalation.")] = False,
) -> None:
    """Do every escalation step that is due, exactly once; for cron, every minute.

    Prints one line per page or escalation and nothing when nothing was due, so
    cron mails only when something happened. Catches up step by step after
    missed runs. Safe to run concurrently with itself, watch and triggers.

    Crontab: `* * * * * /full/path/to/pager escalate-check`
    """
    run_check(get(ctx, json_))


def register(app: typer.Typer) -> None:
    from .watch import watch

    app.command("escalate-check")(escalate_check)
    app.command()(watch)
