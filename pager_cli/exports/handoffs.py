"""What a config change does to who is on call: for a window, every stretch
of time whose on-call user differs before and after the change (PRODUCT.md
§13, `schedules apply --dry-run`).

Both sides are the final shifts (overrides applied, `schedules.oncall`),
read as "who holds the pager" only: the same user from a layer or from an
override is the same hands. Nobody on call is None. The two timelines are
cut at every boundary of either; each piece whose users differ is a change,
and adjacent changes with the same (before, after) merge into one stretch.
Pure: schedules and instants in, `Handoff`s out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..schedules.oncall import final_shifts
from ..schedules.types import Schedule
from ..times import iso, to_utc, zone


@dataclass(frozen=True)
class Handoff:
    schedule: str
    timezone: str  # the schedule's zone (after the change, else before), for display
    start: datetime  # aware UTC
    end: datetime
    before: str | None  # None: nobody on call
    after: str | None

    def to_json(self) -> dict:
        return {"schedule": self.schedule, "start": iso(self.start), "end": iso(self.end),
                "before": self.before, "after": self.after}

    def line(self) -> str:
        """`2026-12-07 09:00 → 2026-12-08 09:00 CET: alice → bob`, on the schedule's wall clock."""
        tz = zone(self.timezone)
        a, b = self.start.astimezone(tz), self.end.astimezone(tz)
        first = f"{a:%Y-%m-%d %H:%M}" + (f" {a:%Z}" if a.tzname() != b.tzname() else "")
        return f"{first} → {b:%Y-%m-%d %H:%M %Z}: {self.before or 'nobody'} → {self.after or 'nobody'}"


def _timeline(schedule: Schedule | None, start: datetime, end: datetime) -> list[tuple[datetime, datetime, str]]:
    return [] if schedule is None else [(s.start, s.end, s.user) for s in final_shifts(schedule, start, end)]


def _who(timeline: list[tuple[datetime, datetime, str]], at: datetime, hint: int) -> tuple[str | None, int]:
    """Who holds [at, …) in `timeline` (sorted), scanning on from index `hint`."""
    while hint < len(timeline) and timeline[hint][1] <= at:
        hint += 1
    if hint < len(timeline) and timeline[hint][0] <= at:
        return timeline[hint][2], hint
    return None, hint


def changes(name: str, before: Schedule | None, after: Schedule | None, start: datetime,
            end: datetime) -> list[Handoff]:
    """The stretches of [start, end) in which schedule `name` puts someone else
    on call after the change than before (None: the schedule is absent)."""
    start, end = to_utc(start), to_utc(end)
    old, new = _timeline(before, start, end), _timeline(after, start, end)
    cuts = sorted({start, end, *(t for s, e, _ in old + new for t in (s, e))})
    tz = (after or before).timezone if (after or before) else "UTC"
    found: list[Handoff] = []
    i = j = 0
    for a, b in zip(cuts, cuts[1:]):
        was, i = _who(old, a, i)
        now, j = _who(new, a, j)
        if was == now:
            continue
        last = found[-1] if found else None
        if last is not None and last.end == a and (last.before, last.after) == (was, now):
            found[-1] = Handoff(name, tz, last.start, b, was, now)
        else:
            found.append(Handoff(name, tz, a, b, was, now))
    return found
