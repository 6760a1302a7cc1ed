"""Restrict windows: the weekly local spans in which a layer is active.

A window starts on each of its days at `start` on the schedule's wall clock and
ends at `end` — the next day when `end` <= `start` (20:00–08:00 belongs to the
day it starts), 24 clock hours later when they are equal. Its edges become
instants through `times.localize`, as shift boundaries do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

from ..times import localize
from .types import Restrict


def _window(r: Restrict, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC span of restrict window `r` starting on local `day`."""
    end_day = day if r.end > r.start else day + timedelta(days=1)
    return localize(datetime.combine(day, r.start), tz), localize(datetime.combine(end_day, r.end), tz)


def in_restrict(restrict: tuple[Restrict, ...], tz: ZoneInfo, at: datetime) -> bool:
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


def window_edges(r: Restrict, tz: ZoneInfo, t: datetime, forward: bool) -> Iterator[datetime]:
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


def window_end(restrict: tuple[Restrict, ...], tz: ZoneInfo, at: datetime) -> datetime | None:
    """The end of the window that `at` lies in (the latest, if several do), or
    None: `in_restrict` for a rule that holds something until its end, such as
    a maintenance window."""
    today = at.astimezone(tz).date()
    ends = [end for day in (today, today - timedelta(days=1)) for r in restrict if day.weekday() in r.days
            for begin, end in (_window(r, day, tz),) if begin <= at < end]
    return max(ends, default=None)
