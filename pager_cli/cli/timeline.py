"""The readable timeline of `schedules show`: a table of final shifts and one bar
per local day, an hour a cell, coloured by who is on call."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Group
from rich.text import Text

from . import output

PALETTE = ("green", "blue", "magenta", "cyan", "yellow", "bright_red", "bright_green", "bright_blue")
MAX_DAYS = 31


def _owner(shifts, at: datetime):  # noqa: ANN001, ANN202
    for s in shifts:
        if s.start <= at and (s.end is None or at < s.end):
            return s.user
    return None


def _marks(users: list[str]) -> dict[str, str]:
    """One distinct character per user (a letter of the name where possible), so
    the bars read without colour too."""
    marks: dict[str, str] = {}
    for user in users:
        pool = [ch for ch in user.lower() if ch.isalnum()] + list("abcdefghijklmnopqrstuvwxyz0123456789")
        marks[user] = next((ch for ch in pool if ch not in marks.values()), "#")
    return marks


def shifts_view(name: str, shifts, start: datetime, end: datetime, tz) -> Group:  # noqa: ANN001
    from ..times import format_duration

    users = list(dict.fromkeys(s.user for s in shifts))
    colours = {u: PALETTE[i % len(PALETTE)] for i, u in enumerate(users)}
    marks = _marks(users)
    grid = output.table("User", "From", "To", "Length", "Source", title=output.literal(f"{name} ({tz.key})"))
    for s in shifts:
        length = format_duration((s.end - s.start).total_seconds()) if s.end else "—"
        grid.add_row(output.literal(s.user, colours.get(s.user, "")), output.local_time(s.start, tz),
                     output.local_time(s.end, tz), length, output.literal(s.source))
    bars = [Text("day          " + "".join(f"{h:<3d}" if h % 3 == 0 else "" for h in range(24)), style="dim")]
    day = start.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(MAX_DAYS):
        if day.astimezone(end.tzinfo) >= end:
            break
        row = Text(day.strftime("%a %m-%d   "))
        for hour in range(24):
            at = (day.replace(tzinfo=None) + timedelta(hours=hour)).replace(tzinfo=tz)
            user = _owner(shifts, at) if start <= at < end else None
            row.append(marks[user] if user else "·", style=colours.get(user, "dim"))
        bars.append(row)
        day = (day.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
    legend = Text()
    for u in users:
        legend.append(f"{marks[u]} ", style=colours[u])
        legend.append_text(output.literal(u))
        legend.append("   ")
    if not shifts:
        return Group(output.literal(f"Nobody is on call in {name} in this window."))
    return Group(grid, Text(""), *bars, legend)
