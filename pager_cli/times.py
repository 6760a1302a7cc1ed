"""Time: the one clock read, parsing of TIME and DURATION strings, and local
wall-clock → UTC with the DST rules of the product contract.

Every instant leaving this module is an aware `datetime` in UTC.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UsageError

UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)

MAX_DURATION_SECONDS = 10 * 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_DURATION_WHOLE = re.compile(r"^\s*(?:\d+\s*[smhdw]\s*)+$", re.IGNORECASE)
_RELATIVE = re.compile(r"^\s*([+-]?)\s*((?:\d+\s*[smhdw]\s*)+)$", re.IGNORECASE)


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`, or a UsageError naming it."""
    return _zone(name)


@lru_cache(maxsize=None)
def _zone(name: str) -> ZoneInfo:
    if not isinstance(name, str) or not name or name.startswith(("/", ".")) or ".." in name:
        raise UsageError(f"unknown time zone {name!r}", hint="use an IANA name such as Europe/Berlin")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    spelled = _zone_names().get(name.lower())  # `utc`, `europe/berlin`: the name in any case
    if spelled is not None:
        return ZoneInfo(spelled)
    raise UsageError(f"unknown time zone {name!r}", hint="use an IANA name such as Europe/Berlin")


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Every IANA name by its lower case (read only when a name is not found as given)."""
    from zoneinfo import available_timezones

    names = {n.lower(): n for n in sorted(available_timezones())}
    for n in ("UTC", "GMT"):
        names.setdefault(n.lower(), n)
    return names


def parse_duration(text: str | int | float) -> timedelta:
    """`30s`, `5m`, `2h`, `1d`, `1w`, combined as `1h30m`; a bare number is seconds."""
    given = text  # messages show the value as given, never a form of it: it may be a secret from ${ENV}
    if isinstance(text, bool):
        raise UsageError(f"bad duration {given!r}", hint="use a form like 30s, 5m, 2h or 1h30m")
    if isinstance(text, str) and text.strip().isascii() and text.strip().isdigit():
        text = int(text.strip())
    if isinstance(text, (int, float)):
        if not (0 <= text <= MAX_DURATION_SECONDS):  # also NaN and infinity
            raise UsageError(f"bad duration {given!r}: not between 0 and ten years")
        return timedelta(seconds=text)
    if not isinstance(text, str) or not _DURATION_WHOLE.match(text):
        raise UsageError(f"bad duration {text!r}", hint="use a form like 30s, 5m, 2h or 1h30m")
    seconds = sum(int(n) * _UNITS[u.lower()] for n, u in _DURATION.findall(text))
    if seconds > MAX_DURATION_SECONDS:
        raise UsageError(f"bad duration {text!r}: longer than ten years")
    return timedelta(seconds=seconds)


def format_duration(seconds: float | None) -> str:
    """A short human form: `45s`, `4m`, `1h05m`, `2d3h`, `1d0h30m` (minutes kept
    past a day: a 24h30m shift is not `1d`)."""
    if seconds is None:
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        m, r = divmod(s, 60)
        return f"{m}m{r:02d}s" if r else f"{m}m"
    if s < 86400:
        h, r = divmod(s, 3600)
        return f"{h}h{r // 60:02d}m" if r >= 60 else f"{h}h"
    d, r = divmod(s, 86400)
    h, m = r // 3600, r % 3600 // 60
    if m:
        return f"{d}d{h}h{m:02d}m"
    return f"{d}d{h}h" if h else f"{d}d"


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant of local wall-clock time `naive` in `tz`.

    A time in a spring-forward gap becomes the instant of the transition (02:30 on
    a 02:00→03:00 night is 03:00 new time); an ambiguous (fall-back) time is its
    first occurrence. zoneinfo alone would put 02:30 at 03:30.
    """
    if naive.tzinfo is not None or naive.fold:
        naive = naive.replace(tzinfo=None, fold=0)
    # The offset of `naive`'s first occurrence (of the time before the transition, in
    # a gap). Outside a gap it is also the offset at the instant it gives: done, by
    # arithmetic alone (`replace` with keywords costs more than the rest together).
    before = tz.utcoffset(naive)
    instant = naive - before - _NAIVE_EPOCH + _EPOCH
    if instant.astimezone(tz).utcoffset() == before:
        return instant
    first = naive.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    # In a gap: fold=1 gives the offset after the transition, fold=0 the one before.
    early = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    late = utc
    if early > late:
        early, late = late, early
    after = late.astimezone(tz).utcoffset()
    lo, hi = early, late  # the transition is in (lo, hi]; find it to the second
    while (hi - lo) > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            break
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi


def localize_each(walls: Iterable[datetime], tz: ZoneInfo) -> Iterator[datetime]:
    """`localize(wall, tz)` for each of `walls` (naive, increasing), in turn,
    with the same answers for less work. The instant is the wall minus its
    first occurrence's offset (for a wall with the same offset as the one
    before it: that one's instant plus the step between them); it stands when
    the zone's offset at that instant is the same (not in a gap), read with
    `fromutc` alone, without `astimezone`. A wall in a gap, or one with a
    tzinfo or fold=1, goes through `localize`."""
    utcoffset, fromutc, zone_epoch = tz.utcoffset, tz.fromutc, _NAIVE_EPOCH.replace(tzinfo=tz)
    last = last_offset = instant = as_zone = None  # the previous wall, its offset, its instant twice
    for wall in walls:
        offset = utcoffset(wall)
        if offset == last_offset and wall.tzinfo is None and not wall.fold:
            step = wall - last
            instant, as_zone = instant + step, as_zone + step
        elif wall.tzinfo is None and not wall.fold:
            since = wall - offset - _NAIVE_EPOCH
            instant, as_zone = _EPOCH + since, zone_epoch + since  # as_zone: the UTC fields, labelled tz
        else:
            offset = None
        # fromutc's local time minus the UTC fields (same tzinfo: a plain difference) is
        # the offset at the instant: equal to `offset`, the instant shows `wall`
        if offset is not None and fromutc(as_zone) - as_zone == offset:
            last, last_offset = wall, offset
            yield instant
        else:
            last = last_offset = None
            yield localize(wall, tz)


def to_utc(value: datetime) -> datetime:
    """An aware datetime in UTC (naive values are taken as UTC)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_iso(text: str) -> datetime | None:
    """ISO 8601 (date, date-time, optional offset, `Z`, `+0000`); naive if no offset.
    None when `text` is not ISO 8601."""
    s = text.strip()
    if not s or len(s) > 64:
        return None
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    m = re.match(r"^(.*[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)([+-]\d{2})(\d{2})$", s)
    if m:
        s = f"{m.group(1)}{m.group(2)}:{m.group(3)}"
    try:
        value = datetime.fromisoformat(s)
    except ValueError:
        return None
    return value


def parse_time(text: str, now: datetime, tz: ZoneInfo | Callable[[], ZoneInfo] | None = None,
               past: bool = False) -> datetime:
    """A TIME argument: ISO 8601 with or without offset (without: `tz`, default
    UTC; a callable is asked only then), `now`, or relative `-15m`, `+2h`, `3d`
    (from `now`; unsigned is later, or with `past` — a `--since` — that long ago).
    Returns UTC."""
    if not isinstance(text, str):
        raise UsageError(f"bad time {text!r}")
    s = text.strip()
    if s.lower() == "now":
        return to_utc(now)
    rel = _RELATIVE.match(s)
    if rel:
        delta = parse_duration(rel.group(2))
        try:
            earlier = rel.group(1) == "-" or (past and not rel.group(1))
            return to_utc(now) - delta if earlier else to_utc(now) + delta
        except OverflowError:
            raise UsageError(f"bad time {text!r}: out of range") from None
    value = parse_iso(s)
    if value is None:
        raise UsageError(
            f"bad time {text!r}",
            hint="use ISO 8601 (2026-11-23T09:00, with or without an offset), now, or -15m / +2h / 3d",
        )
    try:
        if value.tzinfo is None:
            if callable(tz):
                tz = tz()
            return localize(value, tz) if tz is not None else value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise UsageError(f"bad time {text!r}: out of range") from None


def current_time(now_option: str | None = None, tz: ZoneInfo | Callable[[], ZoneInfo] | None = None) -> datetime:
    """The one place that reads the clock. `--now` (or PAGER_NOW) replaces it."""
    real = datetime.now(UTC)
    spec = now_option if now_option is not None else os.environ.get("PAGER_NOW")
    if spec:
        return parse_time(spec, real, tz)
    return real


def iso(value: datetime | None) -> str | None:
    """`2026-11-23T09:00:00Z` for JSON output; None stays None."""
    if value is None:
        return None
    value = to_utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "Z"
