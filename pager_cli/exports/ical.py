"""A schedule's final shifts as an RFC 5545 calendar, with icalendar.

One VEVENT per final shift (overrides applied: `schedules.oncall.final_shifts`)
that overlaps the window. An event keeps its whole shift: the window picks
shifts, it does not cut them, so the shift on call at `--from` starts when it
really started (a calendar that fetches the feed every hour sees the same
event, not one that starts a little later each time).

DTSTART/DTEND are UTC instants (`…Z`): every calendar shows them on its own
wall clock, and a shift across a DST change is exactly as long as it is. The
UID is a hash of (schedule, user, start), so it stays the same while the
shift does: fetching twice gives the same UIDs, and a change elsewhere in the
schedule (an override next week) leaves the other shifts' UIDs alone. A shift
whose end moves keeps its UID (the event is updated in place); one that starts
elsewhere or changes hands gets a new UID, and the old event disappears from
the feed. DTSTAMP is the instant the feed was made (the command's clock).

icalendar writes the envelope and the lines that hold text; `calendar` says
why the rest of each event is written from a template.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta

from icalendar import Calendar
from icalendar.parser import Contentline, Parameters
from icalendar.prop import vDuration, vText

from ..schedules.oncall import final_shifts, on_call
from ..schedules.types import Schedule, Shift
from ..times import UTC, to_utc

PRODID = "-//pager//on-call schedule//EN"
_TICK = timedelta(microseconds=1)


def uid(schedule: str, shift: Shift) -> str:
    """A shift's UID: the same for the same (schedule, user, start). Not the
    end: a shift whose end moves (an override cuts it, or a one-user rotation
    runs past the feed's window) stays the same event, updated in place."""
    return _uid(schedule, shift.user, to_utc(shift.start).isoformat())


def _uid(schedule: str, user: str | None, start: str) -> str:
    return f"{hashlib.sha256(_uid_key(schedule, user, start)).hexdigest()[:32]}@pager"


def _uid_key(schedule: str, user: str | None, start: str) -> bytes:
    return "\x1f".join((schedule, user or "", start)).encode()


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
    return found if user is None else [s for s in found if s.user == user]


def calendar(schedule: Schedule, shifts: list[Shift], now: datetime, alarm: timedelta | None = None) -> bytes:
    """The RFC 5545 text of `shifts` of `schedule` (CRLF lines, folded).

    icalendar makes the VCALENDAR envelope and every line that holds our text
    (its TEXT escaping and 75-octet folding, `Contentline`); the events are
    then written line by line, not built as one icalendar object each, which
    costs about 0.2 ms an event (two seconds for a year of hourly shifts).
    The lines that carry names (SUMMARY, DESCRIPTION, the alarm) are made
    once per (user, source); the rest are fixed-width ASCII, shorter than 75
    octets, with nothing to escape: UID, DTSTAMP, DTSTART, DTEND (UTC, `Z`)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", vText(f"On call: {schedule.name}"))  # TEXT: escaped
    cal.add("x-wr-timezone", schedule.timezone)
    head, tail = cal.to_ical().rsplit(b"END:VCALENDAR", 1)
    stamp = f"DTSTAMP:{_utc_text(to_utc(now))}\r\n"
    trigger = _line("TRIGGER", vDuration(-alarm)) if alarm is not None else ""
    # per user: (source, the UID's key without the start, what precedes DTSTART's value,
    # what follows DTEND's); a user with shifts from several sources has each in `others`
    people: dict[str | None, tuple[str, bytes, str, str]] = {}
    others: dict[tuple[str | None, str], tuple[str, bytes, str, str]] = {}
    texts = _InstantTexts().texts
    sha256 = hashlib.sha256
    out = [head.decode()]
    until = until_texts = None  # a shift's end is mostly the next one's start
    for user, start, end, source in shifts:
        person = people.get(user)
        if person is None or person[0] is not source:
            person = others.get((user, source))
            if person is None:
                named = _named_lines(schedule.name, user, source, trigger)
                person = others[user, source] = (source, _uid_key(schedule.name, user, ""),
                                                 f"@pager\r\n{stamp}DTSTART:", f"\r\n{named}END:VEVENT\r\n")
                people.setdefault(user, person)
        begin = until_texts if start is until else texts(start)
        until, until_texts = end, texts(end)
        out += ("BEGIN:VEVENT\r\nUID:", sha256(person[1] + begin[1]).hexdigest()[:32], person[2], begin[0],
                "\r\nDTEND:", until_texts[0], person[3])
    out.append("END:VCALENDAR" + tail.decode())
    return "".join(out).encode()


def _named_lines(schedule: str, user: str | None, source: str, trigger: str) -> str:
    """The lines of a shift's event that depend only on its user and source."""
    lines = [
        _line("SUMMARY", f"On call: {schedule} ({user})"),
        _line("DESCRIPTION", f"{user} is on call in {schedule} ({source})."),
        _line("TRANSP", "TRANSPARENT"),
    ]
    if trigger:
        lines += ["BEGIN:VALARM\r\n", _line("ACTION", "DISPLAY"), trigger,
                  _line("DESCRIPTION", f"On call soon: {schedule} ({user})"), "END:VALARM\r\n"]
    return "".join(lines)


def _line(name: str, value: object) -> str:
    """One content line as icalendar writes it: a TEXT value escaped, folded
    at 75 octets between characters, CRLF."""
    return Contentline.from_parts(name, Parameters(), value).to_ical().decode() + "\r\n"


class _InstantTexts:
    """An instant's two texts, its RFC 5545 form (to the second, as icalendar
    writes it) and its ISO form as the UID has it: `20261207T090000Z`,
    `2026-12-07T09:00:00+00:00`. The date's part is made once a day, the
    time of day's once each."""

    def __init__(self) -> None:
        self.days: dict[int, tuple[str, bytes]] = {}
        self.clocks: dict[time, tuple[str, bytes]] = {}

    def texts(self, instant: datetime) -> tuple[str, bytes]:
        if instant.tzinfo is not UTC:
            instant = to_utc(instant)
        day = self.days.get(instant.toordinal())
        if day is None:
            fields = (instant.year, instant.month, instant.day)
            day = self.days[instant.toordinal()] = ("%04d%02d%02dT" % fields, b"%04d-%02d-%02dT" % fields)
        clock = self.clocks.get(instant.time())
        if clock is None:
            at = instant.time()
            clock = self.clocks[at] = ("%02d%02d%02dZ" % (at.hour, at.minute, at.second),
                                       at.isoformat().encode() + b"+00:00")  # as datetime.isoformat() ends
        return day[0] + clock[0], day[1] + clock[1]


def _utc_text(instant: datetime) -> str:
    """An aware UTC instant as RFC 5545 writes it, to the second as icalendar
    does: `20261207T090000Z`."""
    return "%04d%02d%02dT%02d%02d%02dZ" % (instant.year, instant.month, instant.day, instant.hour,
                                           instant.minute, instant.second)
