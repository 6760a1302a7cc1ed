"""Shift grids: where a layer's shifts begin, on the schedule's local wall clock,
and the UTC instants those boundaries become.

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
import math
from bisect import bisect_right
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Iterator, Sequence, TypeVar
from zoneinfo import ZoneInfo

from ..errors import UsageError
from ..times import localize, localize_each
from .types import ROTATIONS, Layer

if TYPE_CHECKING:  # dateutil is imported where a handoffs rule is first laid out
    from dateutil.rrule import rrule

T = TypeVar("T")
_CLOCK_HOURS = {"hourly": 1, "daily": 24, "weekly": 168}
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

    def walls(self, k: int) -> Iterator[datetime]:
        """Boundary k, then each one after it, in order (adding the period, not
        multiplying it for each)."""
        if k <= 0:
            yield self.start
            k = 1
        if not self.first:
            return
        n, i = divmod(k - self.lead, len(self.first))
        left = None if self.last is None else self.last - k + 1
        try:
            if left is None and len(self.first) == 1:  # a plain rotation
                wall, period = self.first[0] + n * self.period, self.period
                while True:
                    yield wall
                    wall += period
            span = n * self.period
            while True:
                for wall in self.first[i:]:
                    if left is not None:
                        if left <= 0:
                            return
                        left -= 1
                    yield wall + span
                i, span = 0, span + self.period
        except OverflowError:
            return


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

    def walls(self, k: int) -> Iterator[datetime]:
        return _walls(self, k)


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

    def walls(self, k: int) -> Iterator[datetime]:
        return _walls(self, k)


def _walls(grid: _MonthlyGrid | _ListedGrid, k: int) -> Iterator[datetime]:
    """Boundary k (0 at the least), then each one after it, in order."""
    k = max(k, 0)
    while (wall := grid.boundary(k)) is not None:
        yield wall
        k += 1


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
def grid(layer: Layer) -> _PeriodicGrid | _MonthlyGrid | _ListedGrid:
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
    grid(layer)


# --- from the grid to instants


_UNKNOWN = object()


class LayerClock:
    """One layer's shifts on one zone's clock: where shift k starts as an
    instant, the shift containing an instant, the handoffs.

    Each boundary is localized once and kept, and the last shift found is
    tried first, so walking a long range in order costs one localization per
    shift. What it keeps lives as long as the question it answers: `oncall`
    makes one per layer for each call."""

    def __init__(self, layer: Layer, tz: ZoneInfo):
        self.layer, self.tz, self.users, self.restrict = layer, tz, layer.users, layer.restrict
        self.grid = grid(layer)
        self._starts: dict[int, datetime | None] = {}
        self._last: tuple[int, datetime, datetime | None] | None = None

    def instant(self, k: int) -> datetime | None:
        """The UTC instant at which shift k starts; None past the last one."""
        found = self._starts.get(k, _UNKNOWN)
        if found is _UNKNOWN:
            wall = self.grid.boundary(k)
            found = self._starts[k] = None if wall is None else localize(wall, self.tz)
        return found

    def shift_at(self, at: datetime) -> tuple[int, datetime, datetime | None] | None:
        """(k, start, end) of the shift containing `at`; None before the layer starts."""
        last = self._last
        if last is not None:
            k, begin, end = last
            if begin <= at and (end is None or at < end):
                return last
            if end is not None and end <= at:  # the next shift, as a walk forward asks
                following = self._starts.get(k + 2, _UNKNOWN)
                if following is _UNKNOWN:
                    following = self.instant(k + 2)
                if following is None or at < following:
                    self._last = last = (k + 1, end, following)
                    return last
        self._last = found = self._find(at)
        return found

    def _find(self, at: datetime) -> tuple[int, datetime, datetime | None] | None:
        """k comes from the wall-clock time; DST can move boundaries past it either
        way by a few steps (a gap pushes them later, a repeated hour makes wall
        time go back), which the two loops correct."""
        wall = at.astimezone(self.tz).replace(tzinfo=None)
        k = max(self.grid.index(wall), 0)
        begin = self.instant(k)
        while k > 0 and begin > at:
            k -= 1
            begin = self.instant(k)
        if begin > at:
            return None
        end = self.instant(k + 1)
        while end is not None and end <= at:
            k, begin = k + 1, end
            end = self.instant(k + 1)
        return k, begin, end

    def user_changes(self, t: datetime, holders: Sequence[T]) -> Iterator[tuple[datetime, T]]:
        """(instant, holders[i]) at each instant after `t` at which the layer's
        user changes, in order, where users[i] holds the shift on call from
        that instant (of several that start there, the last; the others last
        no time). Walks the boundaries once each, without keeping them."""
        users = self.users
        if not users:
            return
        n, single = len(users), len(set(users)) == 1
        shift = self.shift_at(t)
        if shift is None:
            k, user = -1, None
        elif single:
            return
        else:
            k, user = shift[0], users[shift[0] % n]
        instants = localize_each(self.grid.walls(k + 1), self.tz)
        begin = next(instants, None)
        if begin is None:
            return
        for following in instants:
            k += 1
            if following != begin and users[k % n] != user:
                yield begin, holders[k % n]
                if single:  # its first shift: nothing changes after it
                    return
                user = users[k % n]
            begin = following
        k += 1
        if users[k % n] != user:  # the last shift runs on for good
            yield begin, holders[k % n]

    def handoffs(self, t: datetime, forward: bool) -> Iterator[datetime]:
        """The layer's start and the shift starts where its user changes: after `t`
        ascending (forward) or at/before `t` descending."""
        users = self.users
        if not users:
            return
        changing = len(set(users)) > 1
        shift = self.shift_at(t)
        if forward:
            k = -1 if shift is None else shift[0]
            starts = self._starts
            while k < 0 or changing:
                k += 1
                begin = starts.get(k, _UNKNOWN)
                if begin is _UNKNOWN:
                    begin = self.instant(k)
                if begin is None:
                    return
                if k == 0 or users[k % len(users)] != users[(k - 1) % len(users)]:
                    yield begin
        elif shift is not None:
            for k in range(shift[0], -1, -1) if changing else (0,):
                if k == 0 or users[k % len(users)] != users[(k - 1) % len(users)]:
                    yield self.instant(k)
