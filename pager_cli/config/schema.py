"""The config file's models (PRODUCT §1): the shape and values of every
section, and their conversion into the schedule and policy types
(`to_domain`).

References between sections (users, schedules, policies, services, routing
keys) are checked by the same validators, against the names the file defines
(passed as validation context), so all problems come out of one pass
(`load.load_config`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import combinations
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, StrictBool, StrictInt, StrictStr, ValidationInfo,
                      field_validator, model_validator)

from .. import times
from .contacts import Contact, NotifyRule, Smtp, unreachable_users
from .serve import Serve
from ..errors import NotFound, UsageError
from ..escalation.policy import Level as PolicyLevel, Policy
from ..schedules import types as domain
from ..schedules.types import DAYS
from .problems import problems as _problems
from .values import (MAX_YEAR, MIN_YEAR, ClockTime, Day, Delay, Email, Instant, LocalStart, Name, PolicyRef,
                     Rotation, RoutingKey, ServiceRef, Target, TargetRef, UserRef, Zone, check_rrule)

__all__ = ["Config", "Target", "check_rrule"]

_WEEK = 7 * 1440


# -- models -----------------------------------------------------------------------

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(_Model):
    """A `restrict` window: starts on each of `days` at `start`, ends at `end`
    (the next day when `end <= start`; 24 hours when equal)."""

    days: tuple[Day, ...] = Field(min_length=1)
    start: ClockTime = Field(alias="from")
    end: ClockTime = Field(alias="to")

    @field_validator("days")
    @classmethod
    def _no_repeats(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        repeated = [i for i, d in enumerate(days) if d in days[:i]]
        if repeated:
            raise _problems(*(((i,), f"{DAYS[days[i]]} is listed twice") for i in repeated))
        return days

    def spans(self) -> list[tuple[int, int, int]]:
        """(first minute, end minute, day) in the week (0 = Monday 00:00), wrapping
        the end of Sunday onto Monday."""
        begin = self.start.hour * 60 + self.start.minute
        length = (self.end.hour * 60 + self.end.minute - begin) % 1440 or 1440
        out = []
        for day in self.days:
            first = day * 1440 + begin
            out.append((first, min(first + length, _WEEK), day))
            if first + length > _WEEK:
                out.append((0, first + length - _WEEK, day))
        return out

    def describe(self, day: int) -> str:
        return f"{DAYS[day]} {self.start:%H:%M}-{self.end:%H:%M}"

    def to_domain(self) -> domain.Restrict:
        return domain.Restrict(days=self.days, start=self.start, end=self.end)


class User(_Model):
    name: StrictStr | None = None
    email: Email | None = None
    contacts: dict[Name, Contact] = {}
    notify: tuple[NotifyRule, ...] = ()
    timezone: Zone | None = None  # for off-hours load (PRODUCT.md §13); None: the config's
    working_hours: Window | None = None  # None: WORKING_HOURS

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({} if k == "contacts" and v is None else () if k == "notify" and v is None else v)
                    for k, v in value.items()}
        return {} if value is None else value


# A user's working hours when the config gives none: Monday to Friday, 09:00-18:00.
WORKING_HOURS = {"days": list(DAYS[:5]), "from": "09:00", "to": "18:00"}


_MAX_SHIFT = {  # in units of the rotation: the span of years the calendar holds
    "hourly": (MAX_YEAR - MIN_YEAR) * 365 * 24, "daily": (MAX_YEAR - MIN_YEAR) * 365,
    "weekly": (MAX_YEAR - MIN_YEAR) * 365 // 7, "monthly": (MAX_YEAR - MIN_YEAR) * 12,
}
_UNIT_HOURS = {"hourly": 1, "daily": 24, "weekly": 168}


def _shift_end(start: datetime, rotation: str, length: int) -> datetime:
    """Where the first shift of a rotation ends (a year past MAX_YEAR if beyond)."""
    if rotation == "monthly":
        months = start.month - 1 + length
        return datetime(min(start.year + months // 12, MAX_YEAR + 1), months % 12 + 1, 1)
    try:
        return start + timedelta(hours=_UNIT_HOURS[rotation] * length)
    except OverflowError:
        return datetime(MAX_YEAR + 1, 1, 1)


class Layer(_Model):
    # Field order matters: validators of later fields read earlier ones.
    name: Name
    rotation: Rotation | None = None
    shift_length: Annotated[StrictInt, Field(ge=1)] = 1
    start: LocalStart
    handoffs: StrictStr | None = Field(None, validate_default=True)
    users: tuple[UserRef, ...] = Field(min_length=1)
    restrict: tuple[Window, ...] = ()

    @field_validator("shift_length")
    @classmethod
    def _shift_fits_the_calendar(cls, value: int, info: ValidationInfo) -> int:
        rotation = info.data.get("rotation") or "hourly"
        most = _MAX_SHIFT[rotation]
        if value > most:
            raise ValueError(f"shift_length {value} is too long: a {rotation} rotation takes at most {most}"
                             f" (a shift must fit in years {MIN_YEAR} to {MAX_YEAR})")
        return value

    @field_validator("start")
    @classmethod
    def _shift_ends_in_range(cls, value: datetime, info: ValidationInfo) -> datetime:
        rotation, length = info.data.get("rotation"), info.data.get("shift_length")
        if rotation is None or length is None or _shift_end(value, rotation, length).year <= MAX_YEAR:
            return value
        raise _problems((("..", "shift_length"), f"shift_length {length} is too long: the first {rotation} shift"
                                                 f" from {value:%Y-%m-%d} would end after year {MAX_YEAR}"))

    @field_validator("handoffs")
    @classmethod
    def _rotation_or_handoffs(cls, value: str | None, info: ValidationInfo) -> str | None:
        if "rotation" not in info.data:
            return value  # rotation itself is wrong, and said so
        rotation = info.data["rotation"]
        if value is None and rotation is None:
            raise _problems((("..",), "give either rotation (hourly, daily, weekly, monthly)"
                                      " or handoffs (an RRULE)"))
        if value is not None and rotation is not None:
            raise ValueError("give rotation or handoffs, not both")
        if value is not None:
            if info.data.get("shift_length", 1) != 1:
                raise ValueError("shift_length applies to rotation only, not to handoffs")
            check_rrule(value, info.data.get("start"))
        return value

    @field_validator("restrict")
    @classmethod
    def _no_overlap(cls, windows: tuple[Window, ...]) -> tuple[Window, ...]:
        spans = [(a, b, day, i) for i, w in enumerate(windows) for a, b, day in w.spans()]
        found, seen = [], set()
        for (a1, b1, d1, i), (a2, b2, d2, j) in combinations(spans, 2):
            if i != j and a1 < b2 and a2 < b1 and (i, j) not in seen:
                seen.add((i, j))
                found.append(((j,), f"{windows[j].describe(d2)} overlaps restrict[{i}]"
                                    f" {windows[i].describe(d1)}"))
        if found:
            raise _problems(*found)
        return windows

    def to_domain(self) -> domain.Layer:
        """The layer for the rotation math: `start` stays a naive wall-clock time."""
        return domain.Layer(name=self.name, users=self.users, start=self.start, rotation=self.rotation,
                            shift_length=self.shift_length, handoffs=self.handoffs,
                            restrict=tuple(w.to_domain() for w in self.restrict))


class Override(_Model):
    """Cover from `start` to `end`: local wall clock in the schedule's zone, or with an offset."""

    user: UserRef
    start: Instant
    end: Instant

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and (start.tzinfo is None) == (end.tzinfo is None) and end <= start:
            raise ValueError("end must be after start")
        return end


class Schedule(_Model):
    timezone: Zone | None = None  # the config's `timezone` once loaded
    layers: tuple[Layer, ...] = Field(min_length=1)
    overrides: tuple[Override, ...] = ()

    @field_validator("layers")
    @classmethod
    def _unique_layer_names(cls, layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
        names = [layer.name for layer in layers]
        repeated = [i for i, name in enumerate(names) if name in names[:i]]
        if repeated:
            raise _problems(*(((i, "name"), f"layer name {names[i]!r} is used twice") for i in repeated))
        return layers

    @field_validator("overrides")
    @classmethod
    def _mixed_offsets(cls, overrides: tuple[Override, ...], info: ValidationInfo) -> tuple[Override, ...]:
        """end after start when only one of them has an offset (that needs the zone)."""
        if "timezone" not in info.data:
            return overrides  # the zone itself is wrong, and said so
        mixed = [i for i, o in enumerate(overrides) if (o.start.tzinfo is None) != (o.end.tzinfo is None)]
        try:
            tz = times.zone(info.data["timezone"] or (info.context or {}).get("timezone", "UTC"))
        except UsageError:
            return overrides
        late = [((i, "end"), "end must be after start") for i in mixed
                if _to_utc(overrides[i].end, tz) <= _to_utc(overrides[i].start, tz)]
        if late:
            raise _problems(*late)
        return overrides

    def to_domain(self, name: str) -> domain.Schedule:
        """The schedule for the rotation math: overrides become UTC instants (ids
        None, file order). `timezone` is filled in once the config is loaded."""
        tz = times.zone(self.timezone)
        overrides = tuple(domain.Override(user=o.user, start=_to_utc(o.start, tz), end=_to_utc(o.end, tz))
                          for o in self.overrides)
        return domain.Schedule(name=name, timezone=self.timezone,
                               layers=tuple(layer.to_domain() for layer in self.layers), overrides=overrides)


class Level(_Model):
    targets: tuple[TargetRef, ...] = Field(min_length=1)
    delay: Delay


class EscalationPolicy(_Model):
    repeat: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    levels: tuple[Level, ...] = Field(min_length=1)

    def to_domain(self, name: str) -> Policy:
        return Policy(name=name, repeat=self.repeat, levels=tuple(
            PolicyLevel(delay=lv.delay, targets=tuple(f"{k}:{n}" for k, n in lv.targets)) for lv in self.levels))


class Service(_Model):
    escalation_policy: PolicyRef | None = None
    routing_key: RoutingKey | None = None
    dedup: Literal["key", "service"] = "key"
    require_ack_before_resolve: StrictBool = False
    ack_timeout: Delay | None = None  # acknowledged, not resolved this long: triggered again (§12)
    auto_resolve: Delay | None = None  # open this long after the last alert: resolved (§12)

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


class Heartbeat(_Model):
    """A dead-man switch: late when no ping came for `interval` (PRODUCT §12)."""

    service: ServiceRef
    interval: Delay
    severity: Literal["critical", "error", "warning", "info"] = "error"


class Maintenance(_Model):
    """A recurring maintenance window: on each of `days` from `from` to `to` on
    `timezone`'s wall clock (the config's zone by default), edges as for a
    `restrict` window (the next day when `to <= from`). Every window has an end:
    `to` is required."""

    services: tuple[ServiceRef, ...] = Field(min_length=1)
    days: tuple[Day, ...] = Field(min_length=1)
    start: ClockTime = Field(alias="from")
    end: ClockTime = Field(alias="to")
    timezone: Zone | None = None

    def name(self, default_zone: str) -> str:
        """What the window says, which names it: `payments tue 22:00-23:00 Europe/Berlin`."""
        days = ",".join(DAYS[d] for d in self.days)
        return f"{','.join(self.services)} {days} {self.start:%H:%M}-{self.end:%H:%M} {self.timezone or default_zone}"


class Config(BaseModel):
    """A validated config file. Every schedule's `timezone` is filled in."""

    model_config = ConfigDict(extra="forbid")

    timezone: Zone = "UTC"
    default_service: ServiceRef | None = None
    smtp: Smtp | None = None
    serve: Serve | None = None
    users: dict[Name, User] = {}
    schedules: dict[Name, Schedule] = {}
    escalation_policies: dict[Name, EscalationPolicy] = {}
    services: dict[Name, Service] = {}
    heartbeats: dict[Name, Heartbeat] = {}
    maintenance: tuple[Maintenance, ...] = ()
    _source: str = PrivateAttr("<string>")
    _lines: dict = PrivateAttr(default_factory=dict)

    @field_validator("users", "schedules", "escalation_policies", "services", "heartbeats", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("maintenance", mode="before")
    @classmethod
    def _null_is_none(cls, value: Any) -> Any:
        return () if value is None else value

    @model_validator(mode="after")
    def _schedule_zones(self) -> Config:
        for name, schedule in self.schedules.items():
            if schedule.timezone is None:
                self.schedules[name] = schedule.model_copy(update={"timezone": self.timezone})
        return self

    @property
    def source(self) -> str:
        """The file this config was loaded from (`<string>` for text)."""
        return self._source

    def warnings(self) -> list[str]:
        """What is allowed but probably a mistake, as `file:line: path: message`:
        every user an escalation level can reach whom no contact can."""
        out = []
        for user, why in unreachable_users(self):
            line = self._lines.get(("users", user), 1)
            out.append(f"{self._source}:{line}: users.{user}: can be paged by {why} but has no notify rule:"
                       " pages reach the console line only")
        return out

    def to_schedule(self, name: str) -> domain.Schedule:
        """The schedule `name` (`Schedule.to_domain`)."""
        if name not in self.schedules:
            raise NotFound(f"unknown schedule {name!r}", hint=f"schedules in {self._source}: "
                           + (", ".join(self.schedules) or "none"))
        return self.schedules[name].to_domain(name)


def _to_utc(value: datetime, tz) -> datetime:
    return times.localize(value, tz) if value.tzinfo is None else value.astimezone(times.UTC)
