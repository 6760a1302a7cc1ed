"""`pager deliveries` and `pager notify test` (PRODUCT.md §9): parse, call
`app.notify`, render. Contacts' URLs, headers and secrets never reach this
module: rows name the user, the contact and what went wrong."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import output
from .context import get

notify_app = typer.Typer(no_args_is_help=True, help="Check that notifications reach people.")

STATE_STYLES = {"sent": "green", "failed": "bold red", "unknown": "red", "pending": "yellow", "sending": "yellow",
                "canceled": "dim", "bundled": "cyan"}


def deliveries(
    ctx: typer.Context,
    incident: Annotated[Optional[int], typer.Option("--incident", metavar="ID", help="Only this incident's deliveries.", show_default=False)] = None,
    user: Annotated[Optional[str], typer.Option("--user", metavar="U", help="Only deliveries to this user.", show_default=False)] = None,
    state: Annotated[Optional[str], typer.Option("--state", metavar="S", help="Only this state: pending, sending, sent, failed, unknown, canceled or bundled.", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", metavar="TIME", help="Only deliveries due at or after this TIME; `1d`: 1 day ago.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="At most this many (0: all).", min=0)] = 100,
    json_: Annotated[bool, typer.Option("--json", help="Print plain JSON on stdout.")] = False,
) -> None:
    """The delivery outbox, newest first: one row per message to a person
    (a page, an update, a digest or a test), with its state, attempts and
    the error of its last attempt. Due and sent times are in the display zone.

    States: pending (waiting for its time or its retry), sending (claimed,
    being sent), sent, failed (for good), unknown (its sender died; never sent
    again), canceled (acknowledged, resolved or superseded first), bundled
    (held by the contact's rate, sent in a digest).

    Exit 2 for an unknown --state, 3 for an unknown --incident or --user.

    Example: `pager deliveries --state failed --since -1d`
    """
    from ..app import notify as app

    c = get(ctx, json_)
    rows = app.deliveries(c.db(), incident=incident, user=user, state=state,
                          since=c.time(since, past=True) if since else None, limit=limit)
    if c.json:
        output.emit_json(rows)
        return
    if not rows:
        output.say("No deliveries.")
        return
    output.show(delivery_table(rows, c.tz()))


def delivery_table(rows: list[dict], tz, title: str = "Deliveries, newest first"):  # noqa: ANN001, ANN201
    """Readable at 80 columns: times as `11-23 10:00` in the display zone,
    named in the title; names and errors wrap, ids, times and states do not."""
    from datetime import datetime

    def when(text: str | None) -> str:
        if not text:
            return "—"
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(tz).strftime("%m-%d %H:%M")

    grid = output.table("ID", "Inc", "User", "Contact", "Event", "Lvl", "Due", "State", "Try", "Sent", "Error",
                        title=f"{title} (times in {tz.key})", fold=("User", "Contact", "Event"))
    grid.padding = (0, 0)  # one space between columns (the rule's), not three: eleven columns fit in 80
    for row in rows:
        grid.add_row(
            str(row["id"]), "—" if row["incident"] is None else f"#{row['incident']}",
            output.literal(row["user"]), output.literal(row["contact"]), row["event"],
            "—" if row["level"] is None else str(row["level"]), when(row["due_at"]),
            output.literal(row["state"], STATE_STYLES.get(row["state"], "")), str(row["attempts"]),
            when(row["sent_at"]), output.literal(row["error"] or ""))
    return grid


@notify_app.command("test")
def test(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(metavar="USER", help="The user whose contacts to test.", show_default=False)],
    contact: Annotated[Optional[str], typer.Option("--contact", metavar="NAME", help="Only this contact (default: each of the user's contacts).", show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print plain JSON on stdout.")] = False,
) -> None:
    """Send a test message to each of USER's contacts (or only --contact) now,
    and print one line per contact: `alice push: sent` or
    `alice hook: failed (HTTP 404)`. A test is tried once, not retried, and
    is recorded in `pager deliveries` (event `test`).

    Exit 0 when every message was sent; 1 when one failed, or USER has no
    contacts at all; 3 for an unknown user or contact.

    Example: `pager notify test alice --contact hook`
    """
    from ..app import notify as app

    c = get(ctx, json_)
    results = app.test_contacts(c.db(), user, contact, c.now())
    if c.json:
        output.emit_json(results)
    else:
        for r in results:
            output.line(f"{r['user']} {r['contact']}: {r['state']}" + (f" ({r['error']})" if r["error"] else ""))
    if any(r["state"] != "sent" for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(deliveries)
    app.add_typer(notify_app, name="notify")
