"""Schedule commands: validate, apply, list, show, overrides; and `oncall`."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import output
from .context import JsonFlag, get

schedules_app = typer.Typer(no_args_is_help=True, help="Validate and apply the config file; inspect schedules and overrides.")

@schedules_app.command()
def validate(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="The YAML config file.")],
    json_: JsonFlag = False,
) -> None:
    """Check a config file: print every problem with its YAML path and line (exit 2).

    Also warns (exit 0) about gaps where nobody is on call in the next 4 weeks,
    and about users an escalation level can reach but no contact can.
    """
    from ..app import schedules
    from ..errors import ConfigError

    c = get(ctx, json_)
    try:
        done = schedules.validate(file, c.now())
    except ConfigError as e:
        if not c.json:
            raise
        output.emit_json(e.located)
        output.error(e.message, e.hint)
        raise typer.Exit(e.exit_code) from None
    if c.json:
        from ..times import iso

        output.emit_json({"file": file, "ok": True, "users": done.users, "schedules": done.schedules,
                          "escalation_policies": done.policies, "services": done.services,
                          "warnings": done.warnings,
                          "gaps": [{"schedule": n, "start": iso(s), "end": iso(e)} for n, _z, s, e in done.gaps]})
        return
    for warning in done.warnings:
        output.warn(warning)
    for name, zone_name, start, end in done.gaps:
        tz = _zone(zone_name)
        output.warn(f"schedule {name}: nobody on call from {output.local_time(start, tz)} to {output.local_time(end, tz)}")
    output.line(f"{file}: OK ({done.users} users, {done.schedules} schedules, "
                f"{done.policies} escalation policies, {done.services} services)")


def _zone(name: str):  # noqa: ANN202
    from ..times import zone

    return zone(name)


@schedules_app.command()
def apply(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="The YAML config file.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    json_: JsonFlag = False,
) -> None:
    """Write the config into the database in one transaction (all or nothing) and
    print what was created, changed and removed. Applying the same file twice
    changes nothing; overrides added with `schedules override` are kept."""
    from ..app import schedules

    c = get(ctx, json_)
    config = schedules.load(file)
    changes = schedules.apply(c.db(), config, c.now(), dry_run)
    if c.json:
        shifts = {"shift_changes": [h.to_json() for h in changes.handoffs]} if dry_run else {}
        output.emit_json({"dry_run": dry_run, **changes.to_json(), **shifts})
        return
    verb = "would be " if dry_run else ""
    for label, names in (("created", changes.created), ("changed", changes.changed), ("removed", changes.removed)):
        for name in names:
            output.line(f"{verb}{label}: {name}")
    if not changes:
        output.line("nothing changed")
    _shift_changes(changes.handoffs)


def _shift_changes(handoffs: list) -> None:
    """A dry run's stretches that change hands, under a heading per schedule."""
    shown = None
    for h in handoffs:
        if h.schedule != shown:
            output.line(f"shifts that change hands in {h.schedule} (next 28 days):")
            shown = h.schedule
        output.line(f"  {h.line()}")


@schedules_app.command("list")
def list_(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """Schedules, their zone, who is on call now and until when."""
    from ..app import oncall

    c = get(ctx, json_)
    found = oncall.schedules(c.db(), c.now())
    if c.json:
        output.emit_json([o.to_json(with_zone=True) for o in found])
        return
    docs = found
    if not docs:
        output.say("No schedules yet: `pager schedules apply FILE` defines them.")
        return
    tz = c.tz()
    grid = output.table("Schedule", "Zone", "On call", "Since", "Until", fold=("Schedule", "On call"))
    for d in docs:
        grid.add_row(output.literal(d.schedule), d.timezone, output.literal(d.user or "— nobody"),
                     output.local_time(d.start, tz), output.local_time(d.end, tz))
    output.show(grid)


@schedules_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Schedule name.")],
    from_: Annotated[Optional[str], typer.Option("--from", metavar="TIME", help="Window start TIME (default: now).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="TIME", help="Window end TIME (default: 14 days after the start).")] = None,
    json_: JsonFlag = False,
) -> None:
    """The final shifts in a window, overrides applied, as a table and a timeline."""
    from ..app import schedules

    c = get(ctx, json_)
    start = c.time(from_) if from_ else c.now()
    found = schedules.shifts(c.db(), name, start, c.time(to) if to else None)
    if c.json:
        output.emit_json(found.to_json())
        return
    from .timeline import shifts_view

    tz = c.tz_option and c.tz() or _zone(found.timezone)
    output.show(shifts_view(name, found.shifts, found.start, found.end, tz))


@schedules_app.command("ical")
def ical(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Schedule name.")],
    user: Annotated[Optional[str], typer.Option("--user", metavar="USER", help="Only this user's shifts.")] = None,
    from_: Annotated[Optional[str], typer.Option("--from", metavar="TIME", help="Shifts from TIME (default: now).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="TIME", help="Shifts until TIME (default: 90 days after the start).")] = None,
    alarm: Annotated[Optional[str], typer.Option("--alarm", metavar="DURATION", help="A reminder this long before each shift, such as 15m.")] = None,
) -> None:
    """The final shifts as an RFC 5545 calendar on stdout: one event per shift,
    overrides applied, in UTC, each with a UID that stays while the shift does.

    Example: `pager schedules ical payments-primary --user alice --alarm 1h > alice.ics`
    """
    from ..app import exports

    c = get(ctx)
    start = c.time(from_) if from_ else None
    end = c.time(to) if to else None
    output.raw(exports.ical_feed(c.db(), c.now, name, user, start, end, alarm))


@schedules_app.command("override")
def override(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Schedule name.")],
    user: Annotated[str, typer.Option("--user", metavar="USER", help="Who covers.")],
    from_: Annotated[str, typer.Option("--from", metavar="TIME", help="Start TIME.")],
    to: Annotated[str, typer.Option("--to", metavar="TIME", help="End TIME.")],
    json_: JsonFlag = False,
) -> None:
    """Add temporary cover: USER is on call in NAME from --from to --to. Kept
    across `schedules apply`."""
    from ..app import schedules

    c = get(ctx, json_)
    start, end = c.time(from_), c.time(to)
    added = schedules.add_override(c.db(), name, user, start, end, c.now())
    doc = added.to_json()
    if c.json:
        output.emit_json(doc)
    else:
        tz = c.tz()
        output.line(f"override {doc['id']}: {user} covers {name} from {output.local_time(start, tz)} "
                    f"to {output.local_time(end, tz)}")


@schedules_app.command("overrides")
def overrides(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Schedule name.")],
    json_: JsonFlag = False,
) -> None:
    """The overrides of a schedule, from the config and the command line."""
    from ..app import schedules

    c = get(ctx, json_)
    rows = schedules.overrides(c.db(), name)
    docs = [r.to_json() for r in rows]
    if c.json:
        output.emit_json(docs)
        return
    if not docs:
        output.say(f"No overrides in {name}.")
        return
    tz = c.tz()
    grid = output.table("ID", "User", "From", "To", "Source", fold=("User",))
    for r in rows:
        grid.add_row(str(r.id), output.literal(r.user), output.local_time(r.start, tz), output.local_time(r.end, tz),
                     output.literal(r.source))
    output.show(grid)


@schedules_app.command("override-remove")
def override_remove(
    ctx: typer.Context,
    override_id: Annotated[int, typer.Argument(metavar="ID", help="Override id (see `schedules overrides`).")],
) -> None:
    """Remove an override. One from the config file comes back at the next apply."""
    from ..app import schedules

    schedules.remove_override(get(ctx).db(), override_id)
    output.line(f"override {override_id} removed")


def oncall(
    ctx: typer.Context,
    schedules: Annotated[Optional[list[str]], typer.Argument(metavar="[SCHEDULE]...", help="Schedules (default: all).", show_default=False)] = None,
    service: Annotated[Optional[str], typer.Option("--service", "-s", metavar="SERVICE", help="Who that service's escalation policy pages, level by level (schedules and users).")] = None,
    at: Annotated[Optional[str], typer.Option("--at", metavar="TIME", help="Ask about this TIME instead of now.")] = None,
    json_: JsonFlag = False,
) -> None:
    """Who is on call, now or --at a TIME, and until when."""
    from ..app import oncall as app

    c = get(ctx, json_)
    when = c.time(at) if at else c.now()
    docs = app.oncall(c.db(), when, schedules or [], service)
    if c.json:
        output.emit_json([d.to_json() for d in docs])
        return
    if not docs:
        output.say(f"Service {service} has no escalation policy: nobody is paged." if service
                   else "No schedules yet: `pager schedules apply FILE` defines them.")
        return
    tz = c.tz()
    levels = ("Level",) if service else ()
    grid = output.table(*levels, "Schedule", "On call", "Since", "Until", fold=("Schedule", "On call"))
    for d in docs:
        level = (("—" if d.level is None else str(d.level)),) if service else ()
        grid.add_row(*level, output.literal(d.schedule or "— (direct)"), output.literal(d.user or "— nobody"),
                     output.local_time(d.start, tz), output.local_time(d.end, tz))
    output.show(grid)


def register(app: typer.Typer) -> None:
    app.add_typer(schedules_app, name="schedules")
    app.command()(oncall)
