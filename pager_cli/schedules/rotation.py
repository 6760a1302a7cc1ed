"""Rotation math: who a schedule puts on call at an instant, and when that changes.

Pure functions over plain values: no database, no CLI, no clock. Every function
takes the instant it is asked about; every instant in and out is an aware UTC
`datetime` (naive ones are taken as UTC).

How a layer's shifts are laid out:

- Boundaries lie on the schedule's local wall clock, starting at the layer's
  `start` (a naive local time). `hourly`, `daily` and `weekly` step by N, 24·N and
  168·N clock hours, so a daily 09:00 handoff stays at 09:00 across DST (a 23- or
  25-hour shift). `monthly` steps by calendar months; a start on the 29th–31st
  falls on the last day of shorter months and returns to its own day when the
  month has it (start Jan 31: Feb 28, Mar 31, Apr 30).
- `handoffs` is one RFC 5545 RRULE evaluated on the same wall clock with
  dtstart = `start`. Shift 0 always begins at `start`; every occurrence after
  `start` begins the next shift. So when `start` is itself an occurrence, shift k
  begins at the k-th occurrence (k = 0 at `start`); when it is not, the span from
  `start` to the first occurrence is shift 0 and the first occurrence begins
  shift 1. A rule that ends (COUNT, UNTIL) leaves its last shift running for
  good. UNTIL must be a local time (no `Z`), like `start`.
- Shift k is held by `users[k mod len(users)]`.
- A boundary turns into an instant through `times.localize`: in a spring-forward
  gap it moves to the transition, an ambiguous time is its first occurrence. Two
  boundaries can thus land on the same instant; the shift between them lasts no
  time and its user is never on call, but it still counts in k.
- A boundary instant belongs to the shift that starts there.

Who is on call at t: the active override (start <= t < end) with the latest
start, ties to the later one in the tuple; else the last layer active at t
(on/after its start and, if it has `restrict` windows, inside one); else nobody.

A final segment is a maximal interval over which the (user, source) pair stays
the same: consecutive shifts of one layer with the same user merge, while the
same user coming from two layers, or from a layer and an override, are separate
segments. `on_call` looks at most `HORIZON` (400 days) each way: a segment that
runs on beyond `at + HORIZON` has `end` None, and one that began before
`at - HORIZON` reports `at - HORIZON` as its start.

Cost does not grow with a layer's age: the shift at t comes from the wall-clock
time arithmetically (elapsed clock hours over the period, month arithmetic, or,
for RRULEs that repeat every fixed span — WEEKLY down to SECONDLY with only
INTERVAL, BYDAY, BYHOUR, BYMINUTE, BYSECOND, WKST, COUNT, UNTIL — the occurrence
count per span) and is then nudged by the boundaries DST moved. Other rules
(MONTHLY, YEARLY, BYMONTH, BYSETPOS…) are walked once from `start` and the
occurrences kept.
"""

from __future__ import annotations

import calendar
import heapq
import math
from bisect import bisect_right
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator, NamedTuple
from zoneinfo import ZoneInfo

from ..errors import UsageError
from ..times import localize, to_utc, zone
from .types import ROTATIONS, Layer, Override, Restrict, Schedule, Shift

if TYPE_CHECKING:  # dateutil is imported where a handoffs rule is first laid out
    from dateutil.rrule import rrule

HORIZON = timedelta(days=400)

_CLOCK_HOURS = {"hourly": 1, "daily": 24, "weekly": 168}
_TICK = timedelta(microseconds=1)
_WEEK_SECONDS = 7 * 86400
# With these frequencies and only these parts, a rule's occurrences repeat every
# lcm(interval, week) until COUNT or UNTIL stops them, so they can be counted
# without walking the past.
_PERIODIC_FREQ = {"WEEKLY": _WEEK_SECONDS, "DAILY": 86400, "HOURLY": 3600, "MINUTELY": 60, "SECONDLY": 1}
_PERIODIC_PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYHOUR", "BYMINUTE", "BYSECOND", "WKST", "COUNT", "UNTIL"}
_RULE_HINT = "use one RRULE such as RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0"


# --- the shift grid: boundary k as a local wall-clock time, and k from a wall time


class _PeriodicGrid:
    """Boundaries that repeat every `period` of wall-clock time.

    Boundary 0 is `start`; then come the `first` occurrences (those in
    [start, start + period)), repeated every period, up to boundary `last` when
    the rule ends. `lead` is 1 when `start` is not itself an occurrence (it then
    begins shift 0 on its own), else 0. A plain rotation is first = [start],
    lead = 0, no last.
    """

    def __init__(self, start: datetime, period: timedelta, first: list[datetime], lead: int, last: int | None = None):
        self.start, self.period, self.first, self.lead, self.last = start, period, first, lead, last

    def index(self, wall: datetime) -> int:
        if wall < self.start:
            return -1
        if not self.first:
            return 0
        n = (wall - self.start) // self.period
        count = n * len(self.first) + bisect_right(self.first, wall - n * self.period)
        k = max(count - 1 + self.lead, 0)
        return k if self.last is None else min(k, self.last)

    def boundary(self, k: int) -> datetime | None:
        if k == 0:
            return self.start
        if k < 0 or not self.first or (self.last is not None and k > self.last):
            return None
        n, i = divmod(k - self.lead, len(self.first))
        try:
            return self.first[i] + n * self.period
        except OverflowError:
            return None


class _MonthlyGrid:
    """Boundaries every `months` calendar months, the day clamped to the month."""

    def __init__(self, start: datetime, months: int):
        self.start, self.months = start, months

    def index(self, wall: datetime) -> int:
        if wall < self.start:
            return -1
        elapsed = (wall.year - self.start.year) * 12 + wall.month - self.start.month
        k = elapsed // self.months
        while k > 0 and self.boundary(k) > wall:
            k -= 1
        return k

    def boundary(self, k: int) -> datetime | None:
        if k < 0:
            return None
        years, month0 = divmod(self.start.month - 1 + k * self.months, 12)
        year = self.start.year + years
        if year > 9999:
            return None
        day = min(self.start.day, calendar.monthrange(year, month0 + 1)[1])
        return self.start.replace(year=year, month=month0 + 1, day=day)


class _ListedGrid:
    """Boundaries of a rule that cannot be jumped through: listed in order, once,
    as far as they have been asked for."""

    def __init__(self, start: datetime, rule: rrule):
        self.known = [start]
        self._rest = (o for o in rule if o > start)

    def _more(self) -> bool:
        following = next(self._rest, None)
        if following is None:
            return False
        self.known.append(following)
        return True

    def index(self, wall: datetime) -> int:
        if wall < self.known[0]:
            return -1
        while self.known[-1] <= wall and self._more():
            pass
        return bisect_right(self.known, wall) - 1

    def boundary(self, k: int) -> datetime | None:
        while len(self.known) <= k and self._more():
            pass
        return self.known[k] if 0 <= k < len(self.known) else None


def _rule_parts(text: str) -> dict[str, str]:
    """The KEY=VALUE parts of one RRULE (an `RRULE:` prefix is optional)."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    parts: dict[str, str] = {}
    for item in filter(str.strip, body.split(";")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or ":" in item or "\n" in item:
            raise UsageError(f"bad handoffs rule {text!r}", hint=_RULE_HINT)
        parts[key.strip().upper()] = value.strip().upper()
    if "FREQ" not in parts:
        raise UsageError(f"bad handoffs rule {text!r}: FREQ is missing", hint=_RULE_HINT)
    if not (parts.get("INTERVAL", "1").isascii() and parts.get("INTERVAL", "1").isdigit()) or int(parts.get("INTERVAL", "1")) < 1:
        raise UsageError(f"bad handoffs rule {text!r}: INTERVAL must be a whole number >= 1", hint=_RULE_HINT)
    return parts


def _rrule(parts: dict[str, str], start: datetime, text: str) -> rrule:
    from dateutil.rrule import rrulestr

    body = ";".join(f"{k}={v}" for k, v in parts.items())
    try:
        return rrulestr("RRULE:" + body, dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise UsageError(f"bad handoffs rule {text!r}: {exc}", hint=_RULE_HINT) from None


def _rule_grid(text: str, start: datetime) -> _PeriodicGrid | _ListedGrid:
    parts = _rule_parts(text)
    if parts.get("UNTIL", "").endswith("Z"):
        raise UsageError(
            f"bad handoffs rule {text!r}: UNTIL is in UTC",
            hint="write UNTIL as a local time without Z: the rule runs on the schedule's wall clock",
        )
    rule = _rrule(parts, start, text)
    unit = _PERIODIC_FREQ.get(parts.get("FREQ", ""))
    plain_days = all(d.strip().isalpha() for d in parts.get("BYDAY", "").split(",") if d.strip())
    if unit is None or not set(parts) <= _PERIODIC_PARTS or not plain_days:
        return _ListedGrid(start, rule)
    # Lay out the endless rule, then stop it where COUNT or UNTIL ends the real one.
    endless = _rrule({k: v for k, v in parts.items() if k not in ("COUNT", "UNTIL")}, start, text)
    period = timedelta(seconds=math.lcm(unit * int(parts.get("INTERVAL", "1")), _WEEK_SECONDS))
    first = [o for o in endless.between(start, start + period, inc=True) if o < start + period]
    lead = 0 if first and first[0] == start else 1
    grid = _PeriodicGrid(start, period, first, lead)
    if "COUNT" in parts:
        grid.last = max(int(parts["COUNT"]) - 1 + lead, 0)
    elif "UNTIL" in parts:
        from dateutil import parser as dateparser

        grid.last = max(grid.index(dateparser.parse(parts["UNTIL"])), 0)
    return grid


@lru_cache(maxsize=512)
def _grid(layer: Layer) -> _PeriodicGrid | _MonthlyGrid | _ListedGrid:
    start = layer.start
    if start.tzinfo is not None:
        raise UsageError(f"layer {layer.name!r}: start must be a local wall-clock time, without offset")
    if layer.handoffs is not None:
        if layer.rotation is not None:
            raise UsageError(f"layer {layer.name!r}: give either rotation or handoffs, not both")
        return _rule_grid(layer.handoffs, start)
    if layer.rotation not in ROTATIONS:
        raise UsageError(
            f"layer {layer.name!r}: unknown rotation {layer.rotation!r}",
            hint="use hourly, daily, weekly or monthly, or give handoffs",
        )
    if not isinstance(layer.shift_length, int) or layer.shift_length < 1:
        raise UsageError(f"layer {layer.name!r}: shift_length must be a whole number >= 1")
    if layer.rotation == "monthly":
        return _MonthlyGrid(start, layer.shift_length)
    period = timedelta(hours=_CLOCK_HOURS[layer.rotation] * layer.shift_length)
    return _PeriodicGrid(start, period, [start], 0)


def check_layer(layer: Layer) -> None:
    """Raise UsageError when the layer's rotation, shift length or rule is unusable."""
    _grid(layer)


# --- from the grid to instants


def _instant(layer: Layer, k: int, tz: ZoneInfo) -> datetime | None:
    """The UTC instant at which shift k of `layer` starts; None past the last one."""
    wall = _grid(layer).boundary(k)
    return None if wall is None else localize(wall, tz)


def _shift_at(layer: Layer, tz: ZoneInfo, at: datetime) -> tuple[int, datetime, datetime | None] | None:
    """(k, start, end) of the layer's shift containing `at`; None before the layer starts.

    k comes from the wall-clock time; DST can move boundaries past it either way
    by a few steps (a gap pushes them later, a repeated hour makes wall time go
    back), which the two loops correct."""
    wall = at.astimezone(tz).replace(tzinfo=None)
    k = max(_grid(layer).index(wall), 0)
    begin = _instant(layer, k, tz)
    while k > 0 and begin > at:
        k -= 1
        begin = _instant(layer, k, tz)
    if begin > at:
        return None
    end = _instant(layer, k + 1, tz)
    while end is not None and end <= at:
        k, begin = k + 1, end
        end = _instant(layer, k + 1, tz)
    return k, begin, end


def _window(r: Restrict, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC span of restrict window `r` starting on local `day`."""
    end_day = day if r.end > r.start else day + timedelta(days=1)
    return localize(datetime.combine(day, r.start), tz), localize(datetime.combine(end_day, r.end), tz)


def _in_restrict(restrict: tuple[Restrict, ...], tz: ZoneInfo, at: datetime) -> bool:
    """Whether `at` lies in one of the windows (always, when there are none)."""
    if not restrict:
        return True
    today = at.astimezone(tz).date()
    for day in (today, today - timedelta(days=1)):  # a window is at most 24 clock hours
        for r in restrict:
            if day.weekday() in r.days:
                begin, end = _window(r, day, tz)
                if begin <= at < end:
                    return True
    return False


def layer_user_at(layer: Layer, tz: ZoneInfo, at: datetime) -> str | None:
    """Who `layer` puts on call at `at`; None before its start or outside its windows."""
    at = to_utc(at)
    if not layer.users:
        return None
    shift = _shift_at(layer, tz, at)
    if shift is None or not _in_restrict(layer.restrict, tz, at):
        return None
    return layer.users[shift[0] % len(layer.users)]


# --- the whole schedule at one instant


def _override_at(overrides: tuple[Override, ...], at: datetime) -> Override | None:
    best = None
    for o in overrides:
        if o.start <= at < o.end and (best is None or o.start >= best.start):
            best = o
    return best


class _Owner(NamedTuple):
    """Who is on call, and from which level: the layer's index, or
    len(layers) for an override."""

    user: str
    source: str
    level: int


def _owner(schedule: Schedule, tz: ZoneInfo, at: datetime) -> _Owner | None:
    """Who is on call at `at`, or None."""
    override = _override_at(schedule.overrides, at)
    if override is not None:
        return _Owner(override.user, "override", len(schedule.layers))
    for level in range(len(schedule.layers) - 1, -1, -1):
        layer = schedule.layers[level]
        user = layer_user_at(layer, tz, at)
        if user is not None:
            return _Owner(user, f"layer:{layer.name}", level)
    return None


def _same_segment(a: _Owner | None, b: _Owner | None) -> bool:
    """Whether two owners make one final segment: same user, same source."""
    return a is b or (a is not None and b is not None and a[:2] == b[:2])


# --- candidate change points: every instant at which the owner may change


def _handoffs(layer: Layer, tz: ZoneInfo, t: datetime, forward: bool) -> Iterator[datetime]:
    """The layer's start and the shift starts where its user changes: after `t`
    ascending (forward) or at/before `t` descending."""
    users = layer.users
    if not users:
        return
    changing = len(set(users)) > 1
    shift = _shift_at(layer, tz, t)
    if forward:
        k = -1 if shift is None else shift[0]
        while k < 0 or changing:
            k += 1
            instant = _instant(layer, k, tz)
            if instant is None:
                return
            if k == 0 or users[k % len(users)] != users[(k - 1) % len(users)]:
                yield instant
    elif shift is not None:
        for k in range(shift[0], -1, -1) if changing else (0,):
            if k == 0 or users[k % len(users)] != users[(k - 1) % len(users)]:
                yield _instant(layer, k, tz)


def _window_edges(r: Restrict, tz: ZoneInfo, t: datetime, forward: bool) -> Iterator[datetime]:
    """Starts and ends of window `r`: after `t` ascending, or at/before `t` descending."""
    if not any(0 <= d <= 6 for d in r.days):
        return
    today = t.astimezone(tz).date()
    day, step = (today - timedelta(days=1), timedelta(days=1)) if forward else (today, timedelta(days=-1))
    while True:
        if day.weekday() in r.days:
            begin, end = _window(r, day, tz)
            for edge in (begin, end) if forward else (end, begin):
                if (edge > t) if forward else (edge <= t):
                    yield edge
        try:
            day += step
        except OverflowError:
            return


def _override_edges(overrides: tuple[Override, ...], t: datetime, forward: bool) -> list[datetime]:
    edges = [x for o in overrides for x in (o.start, o.end)]
    if forward:
        return sorted(x for x in edges if x > t)
    return sorted((x for x in edges if x <= t), reverse=True)


def _changes(schedule: Schedule, tz: ZoneInfo, t: datetime, level: int, forward: bool) -> Iterator[datetime]:
    """Every instant where overrides or the layers from `level` up may change:
    after `t` ascending (forward), or at/before `t` descending. Layers below the
    current owner's cannot change who is on call while it stays, so they are
    left out: an old busy layer under a steady one costs nothing."""
    streams: list = [_override_edges(schedule.overrides, t, forward)]
    for layer in schedule.layers[level:]:
        streams.append(_handoffs(layer, tz, t, forward))
        streams.extend(_window_edges(r, tz, t, forward) for r in layer.restrict)
    return heapq.merge(*streams, reverse=not forward)


def _level(owner: _Owner | None) -> int:
    return 0 if owner is None else owner.level


def _forward(
    schedule: Schedule, tz: ZoneInfo, t: datetime, limit: datetime
) -> Iterator[tuple[datetime, _Owner | None]]:
    """(c, owner from c) for each instant t < c < limit at which the owner changes, in order."""
    owner = _owner(schedule, tz, t)
    while True:
        for c in _changes(schedule, tz, t, _level(owner), forward=True):
            if c >= limit:
                return
            now = _owner(schedule, tz, c)
            if now != owner:
                break
        else:
            return
        yield c, now
        owner, t = now, c


def _backward(
    schedule: Schedule, tz: ZoneInfo, t: datetime, limit: datetime
) -> Iterator[tuple[datetime, _Owner | None]]:
    """(c, owner just before c) for each instant limit <= c <= t at which the owner
    changes, latest first."""
    owner = _owner(schedule, tz, t)
    while True:
        for c in _changes(schedule, tz, t, _level(owner), forward=False):
            if c < limit:
                return
            before = _owner(schedule, tz, c - _TICK)
            if before != owner:
                break
        else:
            return
        yield c, before
        owner, t = before, c - _TICK


def _segments(schedule: Schedule, start: datetime, end: datetime) -> Iterator[tuple[_Owner | None, datetime, datetime]]:
    """(owner or None, from, to) covering [start, end), one per final segment."""
    if start >= end:
        return
    tz = zone(schedule.timezone)
    owner, since = _owner(schedule, tz, start), start
    for c, now in _forward(schedule, tz, start, end):
        if not _same_segment(now, owner):
            yield owner, since, c
            since = c
        owner = now
    yield owner, since, end


# --- public answers


def on_call(schedule: Schedule, at: datetime) -> Shift | None:
    """The final segment containing `at` (start <= at < end), or None when nobody
    is on call. Looks at most HORIZON each way for the segment's ends."""
    at = to_utc(at)
    tz = zone(schedule.timezone)
    owner = _owner(schedule, tz, at)
    if owner is None:
        return None
    changes = _forward(schedule, tz, at, at + HORIZON)
    end = next((c for c, now in changes if not _same_segment(now, owner)), None)
    changes = _backward(schedule, tz, at, at - HORIZON)
    start = next((c for c, before in changes if not _same_segment(before, owner)), at - HORIZON)
    return Shift(owner.user, start, end, owner.source)


def final_shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The final segments overlapping [start, end), overrides applied, clipped to
    the window, gaps (nobody on call) left out."""
    return [
        Shift(owner.user, since, until, owner.source)
        for owner, since, until in _segments(schedule, to_utc(start), to_utc(end))
        if owner is not None
    ]


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The intervals of [start, end) in which nobody is on call."""
    return [(since, until) for owner, since, until in _segments(schedule, to_utc(start), to_utc(end)) if owner is None]
