"""The config file (PRODUCT §1): load it, validate it, convert a schedule.

`load_config(path)` returns a `Config` or raises `ConfigError` listing every problem
as `file:line: yaml.path: message`. Shape and values are checked by the models
below; references between sections (users, schedules, policies, services, routing
keys) are checked by the same validators, against the names the file defines
(passed as validation context), so all problems come out of one pass.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import date, datetime, time, timedelta
from itertools import combinations
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, NamedTuple

from dateutil.rrule import rrulestr
from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, PrivateAttr, StrictBool,
                      StrictInt, StrictStr, ValidationError, ValidationInfo, field_validator, model_validator)
from pydantic_core import PydanticCustomError

from .. import times
from . import yaml_lines
from .contacts import Contact, NotifyRule, Smtp, rule_problems, unreachable_users
from ..describe import show as _show, yaml_kind_of
from ..errors import ConfigError, NotFound, UsageError
from ..escalation.policy import Level as PolicyLevel, Policy
from ..schedules import types as domain
from ..schedules.types import DAYS, ROTATIONS

MAX_BYTES = 256 * 1024  # a real config is a few KB; the YAML loader and the checks are pure Python
MIN_YEAR, MAX_YEAR = 1970, 9000
_DAY_NUMBERS = {**{d: i for i, d in enumerate(DAYS)},
                **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday",
                                               "friday", "saturday", "sunday"))}}
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")
_WEEK = 7 * 1440


# -- value types ------------------------------------------------------------------

def _problems(*items: tuple[tuple, str]) -> PydanticCustomError:
    """Several problems from one validator, each at a path relative to the field
    (`".."` steps up to the parent)."""
    return PydanticCustomError("pager_problems", "{first}", {"first": items[0][1], "items": items})


def _suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"bad name {_show(value)}: use letters, digits, '_', '.' and '-'")
    return value


def _reference(section: str, what: str):
    def check(value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get(section)
        if known is not None and value not in known:
            raise ValueError(f"unknown {what} {_show(value)}{_suggest(value, known)}")
        return value

    return AfterValidator(check)


def _zone(value: str) -> str:
    try:
        times.zone(value)
    except UsageError as exc:
        raise ValueError(f"{exc.message}: {exc.hint}") from None
    return value


def _email(value: str) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        raise ValueError(f"bad email address {_show(value)}")
    return value


def _wall_clock(value: Any) -> datetime:
    """A local wall-clock time: YAML hands over a datetime, a date or a string."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, time())
    elif isinstance(value, str) and (parsed := times.parse_iso(value)) is not None:
        result = parsed
    else:
        raise ValueError(f"bad date-time {_show(value)}: use a local time like 2026-01-05T09:00")
    if not MIN_YEAR <= result.year <= MAX_YEAR:
        raise ValueError(f"date-time {_show(value)} is out of range: use years {MIN_YEAR} to {MAX_YEAR}")
    return result


def _local_start(value: Any) -> datetime:
    result = _wall_clock(value)
    if result.tzinfo is not None:
        raise ValueError("start is a wall-clock time in the schedule's zone: drop the offset")
    return result


def _rotation(value: str) -> str:
    if value.lower() not in ROTATIONS:
        raise ValueError(f"unknown rotation {_show(value)}: use hourly, daily, weekly or monthly")
    return value.lower()


def _day(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() in _DAY_NUMBERS:
        return _DAY_NUMBERS[value.strip().lower()]
    raise ValueError(f"bad day {_show(value)}: use mon, tue, wed, thu, fri, sat or sun")


def _hhmm(value: Any) -> time:
    match = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match and int(match[2]) < 60 and int(match[1]) < 24:
        return time(int(match[1]), int(match[2]))
    if match and value.strip() == "24:00":
        return time(0, 0)
    raise ValueError(f"bad time of day {_show(value)}: use HH:MM like 09:00")


def _delay(value: Any) -> timedelta:
    try:
        delay = times.parse_duration(value)
    except UsageError as exc:
        raise ValueError(f"{exc.message}: {exc.hint}" if exc.hint else exc.message) from None
    if delay <= timedelta(0):
        raise ValueError("delay must be longer than 0s")
    return delay


class Target(NamedTuple):
    """An escalation target: kind is "schedule" or "user"."""

    kind: str
    name: str


def _target(value: Any, info: ValidationInfo) -> Target:
    kind, _, name = value.partition(":") if isinstance(value, str) else ("", "", "")
    kind, name = kind.strip(), name.strip()
    if kind not in ("schedule", "user") or not name:
        raise ValueError(f"bad target {_show(value)}: use schedule:NAME or user:NAME")
    known = (info.context or {}).get(kind + "s")
    if known is not None and name not in known:
        raise ValueError(f"unknown {kind} {_show(name)}{_suggest(name, known)}")
    return Target(kind, name)


def _routing_key(value: str, info: ValidationInfo) -> str:
    # Never show the value: it may come from a secret in the environment.
    if not value.strip():
        raise ValueError("routing key must not be empty")
    owners = (info.context or {}).get("routing_keys", {}).get(value, [])
    if len(owners) > 1:
        raise ValueError(f"the same routing key is used by services {', '.join(owners)}")
    return value


Name = Annotated[StrictStr, AfterValidator(_name)]
UserRef = Annotated[StrictStr, _reference("users", "user")]
PolicyRef = Annotated[StrictStr, _reference("policies", "escalation policy")]
ServiceRef = Annotated[StrictStr, _reference("services", "service")]
Zone = Annotated[StrictStr, AfterValidator(_zone)]
LocalStart = Annotated[datetime, PlainValidator(_local_start)]
Instant = Annotated[datetime, PlainValidator(_wall_clock)]
Day = Annotated[int, PlainValidator(_day)]
ClockTime = Annotated[time, PlainValidator(_hhmm)]


# -- models -----------------------------------------------------------------------

class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class User(_Model):
    name: StrictStr | None = None
    email: Annotated[StrictStr, AfterValidator(_email)] | None = None
    contacts: dict[Name, Contact] = {}
    notify: tuple[NotifyRule, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({} if k == "contacts" and v is None else () if k == "notify" and v is None else v)
                    for k, v in value.items()}
        return {} if value is None else value


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
    rotation: Annotated[StrictStr, AfterValidator(_rotation)] | None = None
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


def check_rrule(text: str, start: datetime | None) -> None:
    """A single RRULE (optionally prefixed `RRULE:`), at most hourly, with an
    occurrence at or after `start`. Raises ValueError."""
    body = text.strip()
    body = body[6:] if body.upper().startswith("RRULE:") else body
    if not body or re.search(r"[:\r\n]", body) or not all("=" in part for part in body.split(";")):
        raise ValueError(f"bad RRULE {_show(text)}: use one rule like RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9")
    if re.search(r"(?:^|;)\s*UNTIL=[^;]*Z\s*(?:;|$)", body.upper()):
        raise ValueError("UNTIL is in UTC: write it as a local time without Z, like start")
    interval = re.search(r"(?:^|;)\s*INTERVAL=([^;]*)", body.upper())
    if interval and not (interval[1].strip().isascii() and interval[1].strip().isdigit() and int(interval[1]) >= 1):
        raise ValueError("bad RRULE: INTERVAL must be a whole number of at least 1")
    freq = re.search(r"(?:^|;)\s*FREQ=([A-Z]+)", body.upper())
    if freq and freq[1] in ("MINUTELY", "SECONDLY"):
        raise ValueError("handoffs at most hourly: FREQ must be HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY")
    try:
        rule = rrulestr(body, dtstart=start or datetime(2026, 1, 1))
        if start is None:
            return
        # dateutil searches up to year 9999 for a rule that never matches (minutes for
        # a daily rule). The Gregorian calendar repeats every 400 years, weekdays
        # included, so ask the same question a whole number of cycles later, where
        # the search ends after 200-600 years.
        shift = 400 * ((9999 - 200 - start.year) // 400)
        until = getattr(rule, "_until", None)
        if until is not None:
            until = until.replace(year=until.year + shift) if until.year + shift <= 9999 else None
        probe_start = start.replace(year=start.year + shift)
        first = rule.replace(dtstart=probe_start, until=until).after(probe_start, inc=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ValueError(f"bad RRULE: {exc}") from None
    if first is None:
        raise ValueError("the RRULE has no occurrence after start")


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
    targets: tuple[Annotated[Target, PlainValidator(_target)], ...] = Field(min_length=1)
    delay: Annotated[timedelta, PlainValidator(_delay)]


class EscalationPolicy(_Model):
    repeat: Annotated[StrictInt, Field(ge=0, le=1000)] = 0
    levels: tuple[Level, ...] = Field(min_length=1)

    def to_domain(self, name: str) -> Policy:
        return Policy(name=name, repeat=self.repeat, levels=tuple(
            PolicyLevel(delay=lv.delay, targets=tuple(f"{k}:{n}" for k, n in lv.targets)) for lv in self.levels))


class Service(_Model):
    escalation_policy: PolicyRef | None = None
    routing_key: Annotated[StrictStr, AfterValidator(_routing_key)] | None = None
    dedup: Literal["key", "service"] = "key"
    require_ack_before_resolve: StrictBool = False

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value


class Config(BaseModel):
    """A validated config file. Every schedule's `timezone` is filled in."""

    model_config = ConfigDict(extra="forbid")

    timezone: Zone = "UTC"
    default_service: ServiceRef | None = None
    smtp: Smtp | None = None
    users: dict[Name, User] = {}
    schedules: dict[Name, Schedule] = {}
    escalation_policies: dict[Name, EscalationPolicy] = {}
    services: dict[Name, Service] = {}
    _source: str = PrivateAttr("<string>")
    _lines: dict = PrivateAttr(default_factory=dict)

    @field_validator("users", "schedules", "escalation_policies", "services", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

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


# -- loading and reporting --------------------------------------------------------

def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file at `path`."""
    shown = os.fspath(path)
    file = Path(path)
    try:
        if not file.exists():
            raise ConfigError(f"cannot read {shown}", [f"{shown}: no such file"])
        if not file.is_file():
            raise ConfigError(f"cannot read {shown}", [f"{shown}: not a regular file"])
        if file.stat().st_size > MAX_BYTES:
            raise ConfigError(f"cannot read {shown}", [f"{shown}: larger than {MAX_BYTES // 1024} KB"])
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}", [f"{shown}: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"cannot read {shown}", [f"{shown}:{line}: not UTF-8 text"]) from None
    return load_config_text(text, shown, env=env)


def load_config_text(text: str, path: str = "<string>", *, env: Mapping[str, str] | None = None) -> Config:
    """Validate config text; `path` names it in problems. `env` (default: the process
    environment) supplies `${NAME}` values."""
    doc = yaml_lines.load(text, env=os.environ if env is None else env)
    problems = [(p.line, yaml_lines.format_path(p.path), p.message) for p in doc.problems]
    config = None
    if not doc.fatal and not isinstance(doc.data, dict):
        message = ("the file is empty" if doc.data is None
                   else f"the top level must be a mapping, not {yaml_kind_of(doc.data)}")
        problems.append((doc.line_of(()), "", message + " (timezone:, users:, schedules:, ...)"))
    elif not doc.fatal:
        try:
            config = Config.model_validate(doc.data, context=_context(doc.data))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                problems.extend(_from_pydantic(error, doc))
        for where, message in rule_problems(doc.data):
            problems.append((doc.line_of(where), yaml_lines.format_path(where), message))
    if problems:
        unique = sorted(dict.fromkeys(problems), key=lambda p: p[0])
        lines = [f"{path}:{line}: {where + ': ' if where else ''}{doc.conceal(message)}"
                 for line, where, message in unique]
        raise ConfigError(f"{len(lines)} problem{'s' if len(lines) != 1 else ''} in {path}", lines)
    config._source = path
    config._lines = doc.lines
    return config


def _context(data: dict) -> dict[str, Any]:
    """The names the file defines, for the reference checks."""
    def names(section: str) -> set[str]:
        value = data.get(section)
        return {k for k in value if isinstance(k, str)} if isinstance(value, dict) else set()

    routing_keys: dict[str, list[str]] = {}
    services = data.get("services")
    for name, service in (services.items() if isinstance(services, dict) else ()):
        if isinstance(service, dict) and isinstance(service.get("routing_key"), str):
            routing_keys.setdefault(service["routing_key"], []).append(name)
    zone = data.get("timezone")
    return {"users": names("users"), "schedules": names("schedules"),
            "policies": names("escalation_policies"), "services": names("services"),
            "routing_keys": routing_keys, "timezone": zone if isinstance(zone, str) else "UTC",
            "smtp": data.get("smtp") is not None}


_TYPE_MESSAGES = {
    "string_type": "a string", "int_type": "a whole number", "bool_type": "true or false",
    "dict_type": "a mapping", "model_type": "a mapping", "list_type": "a list", "tuple_type": "a list",
}


def _from_pydantic(error: dict, doc: yaml_lines.Document) -> list[tuple[int, str, str]]:
    if error["type"] == "too_short" and error["input"]:
        return []  # pydantic counts only the items that validated; the others are reported
    if error["type"] == "pager_problems":
        items = [(tuple(error["loc"]) + sub, message) for sub, message in error["ctx"]["items"]]
    else:
        items = [(tuple(error["loc"]), _message(error))]
    out = []
    for loc, message in items:
        parts: list = []
        for part in loc:
            if part == "..":
                parts = parts[:-1]
            elif part != "[key]":  # "[key]": an error about a mapping key, shown at its entry
                parts.append(part)
        path, existing = doc.resolve(parts)
        if not doc.is_broken(existing):
            out.append((doc.line_of(existing), yaml_lines.format_path(path), message))
    return out


def _message(error: dict) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return f"unknown key{_suggest(str(loc[-1]), _known_keys())}"
    if kind == "too_short":
        return "must not be empty"
    if kind in ("greater_than_equal", "greater_than"):
        return error["msg"].replace("Input should be", "must be")
    if kind in _TYPE_MESSAGES:
        hint = " (quote it to make it a string)" if isinstance(error["input"], bool) else ""
        return f"expected {_TYPE_MESSAGES[kind]}, not {yaml_kind_of(error['input'])}{hint}"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    message = error["msg"].replace("Input should be", "expected")
    return message[:1].lower() + message[1:]


def _known_keys() -> set[str]:
    models = (Config, User, Window, Layer, Override, Schedule, Level, EscalationPolicy, Service, Smtp, Contact,
              NotifyRule)
    return {field.alias or name for model in models for name, field in model.model_fields.items()}
