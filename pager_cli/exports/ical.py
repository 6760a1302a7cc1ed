"""A schedule's final shifts as an RFC 5545 calendar, with icalendar.

One VEVENT per final shift (overrides applied: `schedules.oncall.final_shifts`)
that overlaps the window. An event keeps its whole shift: the window picks
shifts, it does not cut them, so the shift on call at `--from` starts when it
really started (a calendar that fetches the feed every hour sees the same
event, not one that starts a little later each time).

DTSTART/DTEND are UTC instants (`…Z`): every calendar shows them on its own
wall clock, and a shift across a DST change is exactly as long as it is. The
UID is a hash of (schedule, user, start, end), so it stays the same while the
shift does: fetching twice gives the same UIDs, and a change elsewhere in the
schedule (an override next week) leaves the other shifts' UIDs alone. A
changed shift gets a new UID; the old event disappears from the feed.
DTSTAMP is the instant the feed was made (the command's clock).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event

from ..schedules.oncall import final_shifts, on_call
from ..schedules.types import Schedule, Shift
from ..times import to_utc

PRODID = "-//pager//on-call schedule//EN"
_TICK = timedelta(microseconds=1)


def uid(schedule: str, shift: Shift) -> str:
    """A shift's UID: the same for the same (schedule, user, start). Not the
    end: a shift whose end moves (an override cuts it, or a one-user rotation
    runs past the feed's window) stays the same event, updated in place."""
    key = "\x1f".join((schedule, shift.user or "", to_utc(shift.start).isoformat()))
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@pager"


def whole_shifts(schedule: Schedule, start: datetime, end: datetime, user: str | None = None) -> list[Shift]:
    """The final shifts overlapping [start, end) (of `user`, if given), the
    first and last with their real start and end, not cut at the window."""
    found = final_shifts(schedule, start, end)
    if found:
        first, last = found[0], found[-1]
        if first.start == to_utc(start):
            whole = on_call(schedule, start)
            if whole is not None and whole.user == first.user and whole.source == first.source:
                found[0] = first = Shift(first.user, whole.start, first.end, first.source)
        if last.end == to_utc(end):
            whole = on_call(schedule, to_utc(end) - _TICK)
            if whole is not None and whole.end is not None and whole.user == last.user:
                found[-1] = Shift(last.user, last.start if len(found) > 1 else first.start, whole.end, last.source)
    return [s for s in found if user is None or s.user == user]


def calendar(schedule: Schedule, shifts: list[Shift], now: datetime, alarm: timedelta | None = None) -> bytes:
    """The RFC 5545 text of `shifts` of `schedule` (CRLF lines, folded)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"On call: {schedule.name}")
    cal.add("x-wr-timezone", schedule.timezone)
    stamp = to_utc(now).replace(microsecond=0)
    for shift in shifts:
        event = Event()
        event.add("uid", uid(schedule.name, shift))
        event.add("dtstamp", stamp)
        event.add("dtstart", to_utc(shift.start))
        event.add("dtend", to_utc(shift.end))
        event.add("summary", f"On call: {schedule.name} ({shift.user})")
        event.add("description", f"{shift.user} is on call in {schedule.name} ({shift.source}).")
        event.add("transp", "TRANSPARENT")
        if alarm is not None:
            reminder = Alarm()
            reminder.add("action", "DISPLAY")
            reminder.add("trigger", -alarm)
            reminder.add("description", f"On call soon: {schedule.name} ({shift.user})")
            event.add_component(reminder)
        cal.add_component(event)
    return cal.to_ical()
