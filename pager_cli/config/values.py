"""The value types of the config file: names, references to other sections,
zones, wall-clock times, days, times of day, delays, escalation targets,
routing keys and handoff rules, each checked with a message in the file's words.
References are checked against the names the file defines, passed as
validation context."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, NamedTuple

from dateutil.rrule import rrulestr
from pydantic import AfterValidator, PlainValidator, StrictStr, ValidationInfo

from .. import times
from ..describe import show
from ..errors import UsageError
from ..schedules.types import DAYS, ROTATIONS
from .problems import suggest

MIN_YEAR, MAX_YEAR = 1970, 9000
_DAY_NUMBERS = {**{d: i for i, d in enumerate(DAYS)},
                **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday",
                                               "friday", "saturday", "sunday"))}}
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_HHMM = re.compile(r"(\d{1,2}):(\d{2})")


def _name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise ValueError(f"bad name {show(value)}: use letters, digits, '_', '.' and '-'")
    return value


def _reference(section: str, what: str):
    def check(value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get(section)
        if known is not None and value not in known:
            raise ValueError(f"unknown {what} {show(value)}{suggest(value, known)}")
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
        raise ValueError(f"bad email address {show(value)}")
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
        raise ValueError(f"bad date-time {show(value)}: use a local time like 2026-01-05T09:00")
    if not MIN_YEAR <= result.year <= MAX_YEAR:
        raise ValueError(f"date-time {show(value)} is out of range: use years {MIN_YEAR} to {MAX_YEAR}")
    return result


def _local_start(value: Any) -> datetime:
    result = _wall_clock(value)
    if result.tzinfo is not None:
        raise ValueError("start is a wall-clock time in the schedule's zone: drop the offset")
    return result


def _rotation(value: str) -> str:
    if value.lower() not in ROTATIONS:
        raise ValueError(f"unknown rotation {show(value)}: use hourly, daily, weekly or monthly")
    return value.lower()


def _day(value: Any) -> int:
    if isinstance(value, str) and value.strip().lower() in _DAY_NUMBERS:
        return _DAY_NUMBERS[value.strip().lower()]
    raise ValueError(f"bad day {show(value)}: use mon, tue, wed, thu, fri, sat or sun")


def _hhmm(value: Any) -> time:
    match = _HHMM.fullmatch(value.strip()) if isinstance(value, str) else None
    if match and int(match[2]) < 60 and int(match[1]) < 24:
        return time(int(match[1]), int(match[2]))
    if match and value.strip() == "24:00":
        return time(0, 0)
    raise ValueError(f"bad time of day {show(value)}: use HH:MM like 09:00")


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
        raise ValueError(f"bad target {show(value)}: use schedule:NAME or user:NAME")
    known = (info.context or {}).get(kind + "s")
    if known is not None and name not in known:
        raise ValueError(f"unknown {kind} {show(name)}{suggest(name, known)}")
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
Email = Annotated[StrictStr, AfterValidator(_email)]
Rotation = Annotated[StrictStr, AfterValidator(_rotation)]
Delay = Annotated[timedelta, PlainValidator(_delay)]
TargetRef = Annotated[Target, PlainValidator(_target)]
RoutingKey = Annotated[StrictStr, AfterValidator(_routing_key)]


def check_rrule(text: str, start: datetime | None) -> None:
    """A single RRULE (optionally prefixed `RRULE:`), at most hourly, with an
    occurrence at or after `start`. Raises ValueError."""
    body = text.strip()
    body = body[6:] if body.upper().startswith("RRULE:") else body
    if not body or re.search(r"[:\r\n]", body) or not all("=" in part for part in body.split(";")):
        raise ValueError(f"bad RRULE {show(text)}: use one rule like RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9")
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
