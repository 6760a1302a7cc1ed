"""The timer commands (PRODUCT.md §12): heartbeat, heartbeats, maintenance
start/list/end, snooze. Each parses, calls one function of the application
layer, renders."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import output
from .context import JsonFlag, get, who

maintenance_app = typer.Typer(no_args_is_help=True, help="Maintenance windows: alerts recorded, nobody paged, escalation held until the end.")


def heartbeat(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The heartbeat (config `heartbeats:`).")],
    json_: JsonFlag = False,
) -> None:
    """Record a ping of heartbeat NAME (exit 3 if unknown); resolves its incident.

    At the end of a cron job: `0 2 * * * backup.sh && /full/path/pager heartbeat nightly-backup`.
    Prints nothing unless it resolved an incident (or --json).
    """
    from ..app.heartbeats import ping

    c = get(ctx, json_)
    pinged = ping(c.db(), c.now, name)
    for event in pinged.events:
        if event.page is not None:
            output.pages([event.page], c.json)
    if c.json:
        output.emit_json(pinged.to_json())
    elif pinged.resolved is not None:
        output.line(f"#{pinged.resolved} resolved by heartbeat {name}")


def heartbeats(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """Each heartbeat: service, interval, last ping and state (ok, late, never)."""
    from ..app.heartbeats import listing
    from ..times import format_duration

    c = get(ctx, json_)
    rows = listing(c.db(), c.now())
    if c.json:
        output.emit_json([r.to_json() for r in rows])
        return
    if not rows:
        output.say("No heartbeats: the config's `heartbeats:` defines them.")
        return
    tz = c.tz()
    styles = {"ok": "green", "late": "bold red", "never": "yellow"}
    grid = output.table("Heartbeat", "Service", "Interval", "Last ping", "State", fold=("Heartbeat", "Service"))
    for r in rows:
        state = f"late (#{r.incident})" if r.incident is not None else r.state
        grid.add_row(output.literal(r.name), output.literal(r.service), format_duration(r.interval_s),
                     output.local_time(r.last_ping_at, tz), output.literal(state, styles[r.state]))
    output.show(grid)


@maintenance_app.command("start")
def maintenance_start(
    ctx: typer.Context,
    services: Annotated[list[str], typer.Argument(metavar="SERVICE...", help="Services to put in maintenance.")],
    for_: Annotated[Optional[str], typer.Option("--for", metavar="DURATION", help="How long, such as 30m or 2h.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", metavar="TIME", help="Until this TIME.")] = None,
    comment: Annotated[Optional[str], typer.Option("--comment", metavar="TEXT", help="Why (shown in the list).")] = None,
    json_: JsonFlag = False,
) -> None:
    """Put services in maintenance from now, with an end (--for or --until).

    Their alerts are still recorded (incidents, dedup, timeline `held`), but
    nobody is paged and nothing escalates; what is still triggered at the end
    starts escalating at level 0.
    """
    from ..app.maintenance import start
    from ..errors import UsageError
    from ..times import parse_duration

    c = get(ctx, json_)
    if (for_ is None) == (until is None):
        raise UsageError("give --for DURATION or --until TIME (every window has an end)",
                         hint="pager maintenance start payments --for 1h")
    end = c.now() + parse_duration(for_) if for_ is not None else c.time(until)
    window = start(c.db(), c.now(), services, end, comment)
    if c.json:
        output.emit_json(window.to_json(c.now()))
    else:
        output.line(f"maintenance {window.id}: {', '.join(window.services)} until {output.local_time(window.end, c.tz())}")


@maintenance_app.command("list")
def maintenance_list(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """Windows not over yet: started here, and the config's recurring ones (current or next)."""
    from ..app.maintenance import listing

    c = get(ctx, json_)
    now = c.now()
    rows = listing(c.db(), now)
    if c.json:
        output.emit_json([r.to_json(now) for r in rows])
        return
    if not rows:
        output.say("No maintenance windows.")
        return
    tz = c.tz()
    grid = output.table("ID", "Services", "From", "Until", "Comment", fold=("Services", "Comment"))
    for r in rows:
        rule = r.rule.split(" ", 1)[1] if r.rule else ""  # the services are in their own column
        grid.add_row(str(r.id) if r.id is not None else "-", output.literal(", ".join(r.services)),
                     output.local_time(r.start, tz) + (" (now)" if r.active(now) else ""),
                     output.local_time(r.end, tz), output.literal(r.comment or f"config: {rule}"))
    output.show(grid)


@maintenance_app.command("end")
def maintenance_end(
    ctx: typer.Context,
    window_id: Annotated[int, typer.Argument(metavar="ID", help="The window (`maintenance list`).")],
    json_: JsonFlag = False,
) -> None:
    """End a maintenance window now; the next escalate-check starts its held
    incidents at level 0, reached now. Ending an ended one is a no-op."""
    from ..app.maintenance import end

    c = get(ctx, json_)
    window, ended = end(c.db(), c.now(), window_id)
    if not ended:
        output.say(f"maintenance {window_id} had already ended")
    if c.json:
        output.emit_json(window.to_json(c.now()))
    elif ended:
        output.line(f"maintenance {window_id} ended")


def snooze(
    ctx: typer.Context,
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="Incident id (acknowledged).")],
    for_: Annotated[str, typer.Option("--for", metavar="DURATION", help="How long, such as 30m or 2h.")],
    by: Annotated[Optional[str], typer.Option("--by", metavar="WHO", help="Who does it (default: $PAGER_USER, then the login name).")] = None,
    json_: JsonFlag = False,
) -> None:
    """Snooze an acknowledged incident: triggered again at its current level
    when the snooze runs out. Any other status: exit 4."""
    from ..app.incidents import snooze as snooze_

    c = get(ctx, json_)
    incident = snooze_(c.db(), c.now(), incident_id, for_, who(by))
    if c.json:
        output.emit_json({**incident.to_json(), "snoozed_until": _iso(incident.snoozed_until)})
    else:
        output.line(f"#{incident_id} snoozed until {output.local_time(incident.snoozed_until, c.tz())}")


def _iso(value):  # noqa: ANN001, ANN202
    from ..times import iso

    return iso(value)


def register(app: typer.Typer) -> None:
    app.command()(heartbeat)
    app.command()(heartbeats)
    app.add_typer(maintenance_app, name="maintenance")
    app.command()(snooze)
