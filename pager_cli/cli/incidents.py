"""Incident commands: trigger, ack, resolve, escalate, note, list, show, services."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from . import output
from .context import JsonFlag, get, who

ByOption = Annotated[Optional[str], typer.Option("--by", metavar="WHO", help="Who does it (default: $PAGER_USER, then the login name).")]
KeyOption = Annotated[Optional[str], typer.Option("--key", metavar="KEY", help="Find the open incident with this dedup key instead of an id.")]
ServiceFilter = Annotated[Optional[str], typer.Option("--service", "-s", metavar="SERVICE", help="Only this service.")]


def trigger(
    ctx: typer.Context,
    title: Annotated[Optional[str], typer.Argument(metavar="TITLE", help="What is wrong. `-` (or no title with stdin piped) reads alerts from stdin.", show_default=False)] = None,
    service: Annotated[Optional[str], typer.Option("--service", "-s", metavar="SERVICE", help="The service the alert is for (stdin: the default service).")] = None,
    severity: Annotated[Optional[str], typer.Option("--severity", metavar="SEV", help="critical, error (default), warning or info (aliases such as p1 or high work); stdin: for records without one.", show_default=False)] = None,
    dedup_key: Annotated[Optional[str], typer.Option("--dedup-key", metavar="KEY", help="Alerts with the same key go into one open incident (default: auto: + sha256 of the title); stdin: for triggers without one.")] = None,
    details: Annotated[Optional[str], typer.Option("--details", metavar="JSON", help="A JSON object stored with the incident; stdin: for triggers without details.")] = None,
    input_format: Annotated[str, typer.Option("--input-format", metavar="FORMAT", help="stdin: auto, json or text.")] = "auto",
    batch_size: Annotated[int, typer.Option("--batch-size", metavar="N", help="stdin: records per committed batch.", min=1)] = 500,
    batch_latency: Annotated[str, typer.Option("--batch-latency", metavar="DURATION", help="stdin: commit a partial batch after this long.")] = "1s",
    json_: JsonFlag = False,
) -> None:
    """Open an incident, or add an alert to the open one with the same dedup key.

    Prints the incident id, and pages level 0 of the service's policy.
    With `-` (or a pipe and no title) reads a stream of alerts: JSON objects,
    PagerDuty Events v2 bodies, Alertmanager webhooks or plain text lines.
    """
    c = get(ctx, json_)
    if title == "-" or (title is None and _stdin_piped()):
        from ..app.incidents import stream_defaults
        from .ingest import run_stdin

        defaults = stream_defaults(severity, dedup_key, details)  # checked before stdin is read
        raise typer.Exit(run_stdin(c, service, input_format, batch_size, batch_latency, defaults))
    if title is None:
        from ..errors import UsageError

        raise UsageError("trigger needs a TITLE (or `-` to read alerts from stdin)", hint='pager trigger --service payments "DB down"')
    from ..app import incidents

    done = incidents.trigger(c.db(), c.now(), service, title, severity or "error", dedup_key, details)
    for warning in done.warnings:
        output.warn(warning)
    output.pages(done.pages, c.json)
    output.deliveries(done.deliveries)
    if c.json:
        output.emit_json(done.incident.to_json())
    else:
        extra = f" ({done.incident.alert_count} alerts)" if done.action == "deduplicated" else ""
        output.line(f"#{done.incident.id} {done.action}{extra}")


def _stdin_piped() -> bool:
    try:
        return sys.stdin is not None and not sys.stdin.isatty()
    except (ValueError, OSError):  # closed
        return False


def _transition(ctx: typer.Context, action: str, ids: list[int], key: str | None, service: str | None,
                by: str | None, as_json: bool) -> None:
    """Run `action` on each incident (each in its own transaction); report each; exit
    with the worst code."""
    from ..app import incidents

    c = get(ctx, as_json)
    actor = who(by) if ids or key else ""
    done = incidents.transition(c.db(), c.now(), action, list(ids) + ([key] if key else []), service, actor)
    for r in done.results:
        if r.error is not None:
            output.error(r.error.message, r.error.hint)
            continue
        if r.message is not None:
            output.say(r.message)
        elif not c.json:
            output.line(f"#{r.incident.id} {r.action} by {actor}")
        output.pages(r.pages, c.json)
        for warning in r.warnings:
            output.warn(warning)
    output.deliveries(done.deliveries)
    if c.json:
        output.emit_json([r.incident.to_json() for r in done.done])
    if done.exit_code:
        raise typer.Exit(done.exit_code)


def ack(
    ctx: typer.Context,
    ids: Annotated[Optional[list[int]], typer.Argument(metavar="ID", help="Incident ids.", show_default=False)] = None,
    key: KeyOption = None,
    service: ServiceFilter = None,
    by: ByOption = None,
    json_: JsonFlag = False,
) -> None:
    """Acknowledge incidents: stops their escalation. Repeating it is a no-op."""
    _transition(ctx, "acknowledge", ids or [], key, service, by, json_)


def resolve(
    ctx: typer.Context,
    ids: Annotated[Optional[list[int]], typer.Argument(metavar="ID", help="Incident ids.", show_default=False)] = None,
    key: KeyOption = None,
    service: ServiceFilter = None,
    by: ByOption = None,
    json_: JsonFlag = False,
) -> None:
    """Resolve incidents (final). A triggered one needs an ack first where the
    service sets require_ack_before_resolve (exit 4)."""
    _transition(ctx, "resolve", ids or [], key, service, by, json_)


def escalate(
    ctx: typer.Context,
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="Incident id.")],
    by: ByOption = None,
    json_: JsonFlag = False,
) -> None:
    """Move an incident to its next escalation level now and page it. An
    acknowledged incident goes back to triggered; after the last level it starts
    again at level 0."""
    _transition(ctx, "escalate", [incident_id], None, None, by, json_)


def note(
    ctx: typer.Context,
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="Incident id.")],
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The note.")],
    by: ByOption = None,
    json_: JsonFlag = False,
) -> None:
    """Add a note to an incident's timeline."""
    from ..app import incidents

    c = get(ctx, json_)
    actor = who(by)
    incident = incidents.note(c.db(), c.now(), incident_id, text, actor)
    if c.json:
        output.emit_json(incident.to_json())
    else:
        output.line(f"#{incident_id} note added by {actor}")


def list_(
    ctx: typer.Context,
    status: Annotated[str, typer.Option("--status", metavar="STATUS", help="open, triggered, acknowledged, resolved or all.")] = "open",
    service: ServiceFilter = None,
    since: Annotated[Optional[str], typer.Option("--since", metavar="TIME", help="Only incidents created at or after this TIME; `7d`: 7 days ago.")] = None,
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="At most this many (0: all).", min=0)] = 100,
    json_: JsonFlag = False,
) -> None:
    """List incidents, newest first (default: the open ones)."""
    from ..app import incidents

    c = get(ctx, json_)
    start = c.time(since, past=True) if since else None
    rows = incidents.listing(c.db(), status, service, start, limit)
    if c.json:
        shown = [0]

        def counted():  # noqa: ANN202
            for r in rows:
                shown[0] += 1
                yield r.to_json()

        output.emit_json_array(counted())  # streamed, row by row
        _say_hidden(c, shown[0], limit, status, service, start)
        return
    rows = list(rows)
    if not rows:
        output.say(f"No {status if status != 'all' else ''} incidents.".replace("  ", " "))
        return
    output.show(incident_table(rows, c.now(), c.tz()))
    _say_hidden(c, len(rows), limit, status, service, start)


def _say_hidden(c, shown: int, limit: int, status: str, service: str | None, start) -> None:  # noqa: ANN001
    """`100 of 112 shown; --limit 0 for all` on stderr when --limit cut the list."""
    if not limit or shown < limit:
        return
    from ..app import incidents

    total = incidents.listing_total(c.db(), status, service, start)
    if total > shown:
        output.say(f"{shown} of {total} shown; --limit 0 for all")


def incident_table(rows, now, tz):  # noqa: ANN001, ANN201
    from ..times import format_duration

    grid = output.table("ID", "Age", "Severity", "Service", "Status", "Lvl", "Assignees", "Alerts", "Title",
                        fold=("Service", "Assignees"))
    for r in rows:
        grid.add_row(
            str(r.id),
            format_duration((now - r.created_at).total_seconds()),
            output.literal(r.severity, output.SEVERITY_STYLES.get(r.severity, "")),
            output.literal(r.service),
            output.literal(r.status, output.STATUS_STYLES.get(r.status, "")),
            str(r.escalation_level),
            output.literal(", ".join(r.assignees or []) or "—"),
            str(r.alert_count),
            output.literal(r.title),
        )
    return grid


def show(
    ctx: typer.Context,
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="Incident id.")],
    json_: JsonFlag = False,
) -> None:
    """One incident with its full timeline."""
    from ..app import incidents

    c = get(ctx, json_)
    incident = incidents.show(c.db(), incident_id)
    if c.json:
        output.emit_json(incident.to_json())
        return
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    tz = c.tz()
    # the title in a column of its own: where a long one wraps, the next line
    # starts indented, never at the left margin where it could pass for a page
    head = Table.grid(padding=(0, 1))
    head.add_column(no_wrap=True)
    head.add_column(overflow="fold")
    head.add_row(Text(f"#{incident.id}", style="bold"), output.literal(incident.title, "bold"))
    facts = output.table("Field", "Value")
    for name, value in (
        ("service", incident.service), ("status", incident.status), ("severity", incident.severity),
        ("dedup key", incident.dedup_key), ("alerts", incident.alert_count),
        ("assignees", ", ".join(incident.assignees or []) or "—"), ("level", incident.escalation_level),
        ("created", output.local_time(incident.created_at, tz)),
        ("last alert", output.local_time(incident.last_alert_at, tz)),
        ("acknowledged", _by(incident.acknowledged_at, incident.acknowledged_by, tz)),
        ("resolved", _by(incident.resolved_at, incident.resolved_by, tz)),
        *((("held until", output.local_time(incident.held_until, tz) + " (maintenance)"),) if incident.held_until else ()),
        *((("snoozed until", output.local_time(incident.snoozed_until, tz)),) if incident.snoozed_until else ()),
    ):
        facts.add_row(name, output.literal(value))
    if incident.details:
        facts.add_row("details", output.literal(output.dumps(incident.details)))
    steps = output.table("At", "Event", "By", "Text", title="Timeline", fold=("By",))
    for e in incident.timeline:
        steps.add_row(output.local_time(e.at, tz), e.kind, output.literal(e.by or ""), output.literal(e.text))
    parts = [head, facts, steps]
    if incident.deliveries:
        from .notify import delivery_table

        parts.append(delivery_table(incident.deliveries, tz, title="Deliveries"))
    output.show(Group(*parts))


def _by(at, by, tz) -> str:  # noqa: ANN001
    if at is None:
        return "—"
    return output.local_time(at, tz) + (f" by {by}" if by else "")


def services(ctx: typer.Context, json_: JsonFlag = False) -> None:
    """Each service: healthy or not (open incidents), its escalation policy."""
    from ..app import incidents

    c = get(ctx, json_)
    docs = incidents.services(c.db(), c.now())
    if c.json:
        output.emit_json(docs)
        return
    if not docs:
        output.say("No services yet: `pager schedules apply FILE` defines them.")
        return
    tz = c.tz()
    grid = output.table("Service", "Health", "Open", "Policy", "Dedup", "Timers", fold=("Service", "Policy", "Timers"))
    for d in docs:
        health = output.literal("healthy", "green") if d["healthy"] else output.literal("unhealthy", "bold red")
        notes = [f"maintenance until {output.local_time(_instant(d['maintenance_until']), tz)}"] if d["maintenance_until"] else []
        notes += [f"heartbeat {name} late" for name in d["late_heartbeats"]]
        grid.add_row(output.literal(d["service"]), health, str(d["open_incidents"]),
                     output.literal(d["escalation_policy"] or "— (unassigned)"), d["dedup"],
                     output.literal("; ".join(notes)))
    output.show(grid)


def _instant(text: str):  # noqa: ANN202
    from ..times import parse_iso

    return parse_iso(text)


def register(app: typer.Typer) -> None:
    app.command()(trigger)
    app.command()(ack)
    app.command()(resolve)
    app.command()(escalate)
    app.command()(note)
    app.command("list")(list_)
    app.command()(show)
    app.command()(services)
