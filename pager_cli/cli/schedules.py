"""Schedule commands: validate, apply, list, show, overrides; and `oncall`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Optional

import typer

from . import output
from .context import JsonFlag, get

schedules_app = typer.Typer(no_args_is_help=True, help="Validate and apply the config file; inspect schedules and overrides.")

GAP_WINDOW = timedelta(days=28)


def _load(path: str):  # noqa: ANN202
    from ..config.load import load_config

    return load_config(path)


@schedules_app.command()
def validate(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="The YAML config file.")],
) -> None:
    """Check a config file: print every problem with its YAML path and line (exit 2).

    Also warns (exit 0) about gaps where nobody is on call in the next 4 weeks,
    and about users an escalation level can reach but no contact can.
    """
    from ..schedules.oncall import gaps

    c = get(ctx)
    config = _load(file)
    now = c.now()
    for warning in config.warnings():
        output.warn(warning)
    for name in config.schedules:
        schedule = config.to_schedule(name)
        for start, end in gaps(schedule, now, now + GAP_WINDOW):
            tz = _zone(schedule.timezone)
            output.warn(
                f"schedule {name}: nobody on call from {output.local_time(start, tz)} to {output.local_time(end, tz)}"
            )
    output.line(f"{file}: OK ({len(config.users)} users, {len(config.schedules)} schedules, "
               f"{len(config.escalation_policies)} escalation policies, {len(config.services)} services)")


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
    from ..config.apply import apply_config

    c = get(ctx, json_)
    config = _load(file)
    now = c.now()
    db = c.db()
    with db.write() as session:
        changes = apply_config(session, config, now)
        if dry_run:
            session.rollback()
    if c.json:
        output.emit_json({"dry_run": dry_run, **changes.to_json()})
        return
    verb = "would be " if dry_run else ""
    for label, names in (("created", changes.created), ("changed", changes.changed), ("removed", changes.removed)):
        for name in names:
            output.line(f"{verb}{label}: {name}")
    if not changes:
        output.line("nothing changed")


@schedules_app.command("list")
def list_(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """Schedules, their zone, who is on call now and until when."""
    from ..config import catalog
    from ..schedules.oncall import on_call

    c = get(ctx, json_)
    now = c.now()
    docs = []
    with c.db().read() as session:
        for name in catalog.schedule_names(session):
            schedule = catalog.schedule(session, name)
            shift = on_call(schedule, now)
            docs.append(_oncall_doc(name, shift, schedule.timezone))
    if c.json:
        output.emit_json(docs)
        return
    if not docs:
        output.say("No schedules yet: `pager schedules apply FILE` defines them.")
        return
    tz = c.tz()
    grid = output.table("Schedule", "Zone", "On call", "Since", "Until", fold=("Schedule", "On call"))
    for d in docs:
        grid.add_row(output.literal(d["schedule"]), d["timezone"], output.literal(d["user"] or "— nobody"),
                     _when(d["shift_start"], tz), _when(d["shift_end"], tz))
    output.show(grid)


def _oncall_doc(name: str, shift, timezone: str | None = None) -> dict:  # noqa: ANN001
    from ..times import iso

    doc = {"schedule": name, "user": shift.user if shift else None,
           "shift_start": iso(shift.start) if shift else None, "shift_end": iso(shift.end) if shift else None}
    if timezone is not None:
        doc["timezone"] = timezone
    return doc


def _when(text: str | None, tz) -> str:  # noqa: ANN001
    from ..times import parse_iso

    if text is None:
        return "—"
    return output.local_time(parse_iso(text), tz)


@schedules_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Schedule name.")],
    from_: Annotated[Optional[str], typer.Option("--from", metavar="TIME", help="Window start TIME (default: now).")] = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="TIME", help="Window end TIME (default: 14 days after the start).")] = None,
    json_: JsonFlag = False,
) -> None:
    """The final shifts in a window, overrides applied, as a table and a timeline."""
    from ..config import catalog
    from ..errors import UsageError
    from ..schedules.oncall import final_shifts
    from ..times import iso

    c = get(ctx, json_)
    start = c.time(from_) if from_ else c.now()
    end = c.time(to) if to else start + timedelta(days=14)
    if end <= start:
        raise UsageError("--to must be after --from")
    if end - start > timedelta(days=366):
        raise UsageError("the window is longer than a year", hint="narrow --from/--to")
    with c.db().read() as session:
        schedule = catalog.schedule(session, name)
    shifts = final_shifts(schedule, start, end)
    doc = {
        "schedule": name, "timezone": schedule.timezone,
        "shifts": [{"user": s.user, "start": iso(s.start), "end": iso(s.end), "source": s.source} for s in shifts],
    }
    if c.json:
        output.emit_json(doc)
        return
    from .timeline import shifts_view

    tz = c.tz_option and c.tz() or _zone(schedule.timezone)
    output.show(shifts_view(name, shifts, start, end, tz))


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
    from ..config import catalog
    from ..times import iso

    c = get(ctx, json_)
    start, end = c.time(from_), c.time(to)
    with c.db().write() as session:
        added = catalog.add_override(session, name, user, start, end, c.now())
        doc = {"id": added, "schedule": name, "user": user, "start": iso(start), "end": iso(end), "source": "cli"}
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
    from ..config import catalog
    from ..times import iso

    c = get(ctx, json_)
    with c.db().read() as session:
        rows = catalog.overrides(session, name)
    docs = [{"id": r.id, "schedule": name, "user": r.user, "start": iso(r.start), "end": iso(r.end), "source": r.source}
            for r in rows]
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
    from ..config import catalog

    c = get(ctx)
    with c.db().write() as session:
        catalog.remove_override(session, override_id)
    output.line(f"override {override_id} removed")


def oncall(
    ctx: typer.Context,
    schedules: Annotated[Optional[list[str]], typer.Argument(metavar="[SCHEDULE]...", help="Schedules (default: all).", show_default=False)] = None,
    service: Annotated[Optional[str], typer.Option("--service", "-s", metavar="SERVICE", help="The schedules that service's escalation policy pages.")] = None,
    at: Annotated[Optional[str], typer.Option("--at", metavar="TIME", help="Ask about this TIME instead of now.")] = None,
    json_: JsonFlag = False,
) -> None:
    """Who is on call, now or --at a TIME, and until when."""
    from ..config import catalog
    from ..schedules.oncall import on_call

    c = get(ctx, json_)
    when = c.time(at) if at else c.now()
    with c.db().read() as session:
        names = list(schedules or [])
        if service:
            svc = catalog.service(session, service)
            policy = catalog.policy(session, svc.escalation_policy)
            for level in policy.levels if policy else ():
                names += [t.partition(":")[2] for t in level.targets if t.startswith("schedule:")]
        if not names and not service:
            names = catalog.schedule_names(session)
        names = list(dict.fromkeys(names))
        found = [(n, catalog.schedule(session, n)) for n in names]
    docs = [_oncall_doc(n, on_call(s, when)) for n, s in found]
    if c.json:
        output.emit_json(docs)
        return
    if not docs:
        output.say("No schedules yet: `pager schedules apply FILE` defines them.")
        return
    tz = c.tz()
    grid = output.table("Schedule", "On call", "Since", "Until", fold=("Schedule", "On call"))
    for d in docs:
        grid.add_row(output.literal(d["schedule"]), output.literal(d["user"] or "— nobody"),
                     _when(d["shift_start"], tz), _when(d["shift_end"], tz))
    output.show(grid)


def register(app: typer.Typer) -> None:
    app.add_typer(schedules_app, name="schedules")
    app.command()(oncall)
