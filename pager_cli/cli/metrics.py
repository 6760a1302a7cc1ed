"""`pager metrics`: MTTA, MTTR and counts over a window of incidents, as a
report for people (Rich, readable at 80 columns) or as plain JSON."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import output
from .context import get

# The eighths of a block, for bars with sub-character resolution.
_BLOCKS = " ▏▎▍▌▋▊▉█"


def metrics(
    ctx: typer.Context,
    since: Annotated[Optional[str], typer.Option("--since", help="Incidents created at or after this TIME; `7d`: 7 days ago (default: 30 days before --until).", show_default=False)] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Incidents created before this TIME (default: now).", show_default=False)] = None,
    service: Annotated[Optional[str], typer.Option("--service", "-s", help="Only this service.", show_default=False)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print plain JSON on stdout.")] = False,
    format_: Annotated[Optional[str], typer.Option("--format", metavar="FORMAT", help="`prometheus`: the Prometheus text exposition format on stdout.", show_default=False)] = None,
    textfile: Annotated[Optional[str], typer.Option("--textfile", metavar="PATH", help="Write the Prometheus exposition to PATH atomically (mode 0644), for node_exporter's textfile collector.", show_default=False)] = None,
) -> None:
    """MTTA, MTTR (mean, p50, p90, max), counts by status, service and severity,
    pages per user and incidents per day, over the incidents created in a
    window (default: the last 30 days). Days are in the display zone.

    Example: `pager metrics --since 2026-11-01 --until 2026-12-01 --service payments`;
    `pager metrics --textfile /var/lib/prometheus/node-exporter/pager.prom` from cron.
    """
    from ..app import metrics as app

    c = get(ctx, json_)
    if format_ is not None or textfile is not None:
        _prometheus(c, since, until, service, format_, textfile)
        return
    end = c.time(until) if until else c.now()
    tz = c.tz()
    report = app.report(c.db(), c.time(since, past=True) if since else None, end, tz, service)
    if c.json:
        output.emit_json(report.to_json())
        return
    output.show(render(report, tz, output.console().width))


def _prometheus(c, since: str | None, until: str | None, service: str | None, format_: str | None,  # noqa: ANN001
                textfile: str | None) -> None:
    """`--format prometheus` / `--textfile PATH`: the exposition, on stdout or into PATH."""
    from ..app import exports
    from ..errors import UsageError

    if format_ is not None and format_.lower() != "prometheus":
        raise UsageError(f"unknown --format {format_!r}", hint="the one format is prometheus; --json gives JSON")
    if c.json:
        raise UsageError("--json and the Prometheus format exclude each other")
    text = exports.prometheus_text(c.db(), c.now, c.time(since, past=True) if since else None,
                                   c.time(until) if until else None, service)
    if textfile is not None:
        exports.write_textfile(textfile, text)
    else:
        output.raw(text)


def render(report, tz, width: int):  # noqa: ANN001, ANN201 - a metrics.Report, a zone; a Rich renderable
    """The report for people: a summary, the counts, the on-call load and a
    chart of incidents per day, each fitting in `width` columns."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from ..times import format_duration

    head = Text()
    head.append("Incidents created ", style="bold")
    head.append(f"{output.local_time(report.since, tz)} → {output.local_time(report.until, tz)}")
    if report.service is not None:
        head.append(" · service ")
        head.append_text(output.literal(report.service, "bold"))

    summary = _table("", "Count", "Mean", "p50", "p90", "Max")
    summary.add_row("Incidents", _n(report.incidents), "", "", "", "")
    for name, d in (("MTTA (to first ack)", report.mtta), ("MTTR (to resolve)", report.mttr)):
        summary.add_row(name, _n(d.count), *(format_duration(v) for v in (d.mean, d.p50, d.p90, d.max)))
    summary.add_row("Escalated", _n(report.escalated), "", "", "", "")
    summary.add_row("Resolved without ack", _n(report.resolved_without_ack), "", "", "", "")

    counts = Table.grid(padding=(0, 3))
    counts.add_column(vertical="top")
    counts.add_column(vertical="top")
    counts.add_row(_counts("Status", report.by_status, output.STATUS_STYLES),
                   _counts("Severity", report.by_severity, output.SEVERITY_STYLES))
    # Service names are free text of any length: a table of their own, full width.
    services = _counts("Service", dict(sorted(report.by_service.items(), key=lambda kv: (-kv[1], kv[0]))))

    load = _table("User", "Pages", "Share", "Off hours")
    total_pages = sum(report.pages_by_user.values())
    ranked = sorted(report.pages_by_user.items(), key=lambda kv: (-kv[1], kv[0]))
    for user, n in ranked:
        off = report.pages_off_hours_by_user.get(user, 0)
        load.add_row(output.literal(user), _n(n), f"{100 * n / total_pages:.0f}%", f"{_n(off)} ({100 * off / n:.0f}%)")
    if not ranked:
        load.add_row("—", "0", "", "")

    return Group(
        head, Text(), summary, Text(), counts, Text(), services, Text(),
        Text("On-call load: pages per user", style="bold"), load, Text(),
        Text("Incidents per day", style="bold"), _chart(report.per_day, width),
    )


def _n(value: int) -> str:
    return f"{value:,}"


def _table(label: str, *numbers: str):  # noqa: ANN202
    """A table of a text column (folding: names are free text of any length)
    and number columns (right-aligned, never broken)."""
    grid = output.table(label, *numbers)
    grid.columns[0].no_wrap, grid.columns[0].overflow = False, "fold"
    for column in grid.columns[1:]:
        column.justify, column.no_wrap = "right", True
    return grid


def _counts(title: str, counts: dict[str, int], styles: dict[str, str] | None = None):  # noqa: ANN202
    grid = _table(title, "Count")
    for name, n in counts.items():
        grid.add_row(output.literal(name, (styles or {}).get(name, "")), _n(n))
    if not counts:
        grid.add_row("—", "0")
    return grid


def _chart(per_day, width: int):  # noqa: ANN001, ANN202
    """One line per day: `Mon 2026-11-23 ████▌ 12`, the longest bar filling
    what the width leaves."""
    from rich.text import Text

    chart = Text()
    if not per_day:
        return chart
    most = max(n for _, n in per_day)
    digits = len(_n(most))
    room = max(1, min(width, 120) - len("Mon 2026-11-23 ") - digits - 2)
    for i, (day, n) in enumerate(per_day):
        eighths = max(1, round(8 * room * n / most)) if n else 0  # any incident shows
        full, part = divmod(eighths, 8)
        bar = "█" * full + (_BLOCKS[part] if part else "")
        chart.append(f"{day:%a %Y-%m-%d} ")
        chart.append(bar.ljust(room), style="cyan")
        chart.append(f" {_n(n):>{digits}}")
        if i < len(per_day) - 1:
            chart.append("\n")
    return chart


def register(app: typer.Typer) -> None:
    app.command()(metrics)
