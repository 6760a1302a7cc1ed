"""The schedule types: what the rotation math reads, the config converts into,
`schedules apply` stores and the catalog reads back. One definition each.

Instants are aware UTC datetimes; a layer's `start` is a naive wall-clock time
in the schedule's zone; a restrict window's days are 0=Mon … 6=Sun.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import NamedTuple

ROTATIONS = ("hourly", "daily", "weekly", "monthly")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Restrict:
    """A weekly local window in which a layer is active.

    The window starts on each of `days` (0=Mon … 6=Sun) at `start`. When
    `end` <= `start` it ends the next day (20:00–08:00 belongs to the day it
    starts); `end` == `start` makes it 24 clock hours long.
    """

    days: tuple[int, ...]
    start: time
    end: time

    def to_json(self) -> dict:
        """The stored form: {"days": ["mon", …], "from": "HH:MM", "to": "HH:MM"}."""
        return {"days": [DAYS[d] for d in self.days], "from": self.start.strftime("%H:%M"),
                "to": self.end.strftime("%H:%M")}

    @classmethod
    def from_json(cls, value: dict) -> Restrict:
        return cls(days=tuple(DAYS.index(d) for d in value["days"]), start=time.fromisoformat(value["from"]),
                   end=time.fromisoformat(value["to"]))


@dataclass(frozen=True)
class Layer:
    name: str
    users: tuple[str, ...]
    start: datetime  # naive local wall-clock time in the schedule's zone
    rotation: str | None = None  # hourly | daily | weekly | monthly
    shift_length: int = 1  # in units of rotation
    handoffs: str | None = None  # RRULE text, instead of rotation
    restrict: tuple[Restrict, ...] = ()


@dataclass(frozen=True)
class Override:
    user: str
    start: datetime  # aware UTC
    end: datetime  # aware UTC
    id: int | None = None


@dataclass(frozen=True)
class Schedule:
    name: str
    timezone: str  # IANA name
    layers: tuple[Layer, ...]
    overrides: tuple[Override, ...] = ()


class Shift(NamedTuple):
    """A stretch of time one user is on call from one source. A named tuple,
    not a dataclass: a year of an hourly rotation makes 8,760 of them, and a
    frozen dataclass costs three times as much to build."""

    user: str | None
    start: datetime  # aware UTC
    end: datetime | None  # aware UTC; None: no change within the search horizon
    source: str  # "layer:<name>" or "override"
