"""Rotation math against real zones: DST in both directions, restrict windows,
layer and override precedence, gaps, monthly clamping, and old rotations."""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime, time, timedelta

import pytest
from dateutil.rrule import rrulestr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pager_cli.errors import UsageError
from pager_cli.schedules.oncall import HORIZON, check_layer, final_shifts, gaps, layer_user_at, on_call
from pager_cli.schedules.types import Layer, Override, Restrict, Schedule, Shift
from pager_cli.times import UTC, localize, zone

MINUTE = timedelta(minutes=1)
TICK = timedelta(microseconds=1)


def utc(y, mo, d, h=0, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def one_layer(tz: str, layer: Layer, overrides=()) -> Schedule:
    return Schedule("s", tz, (layer,), tuple(overrides))


# --- DST, by hand ------------------------------------------------------------
# Each case: a layer, then its handoffs as (UTC instant, user) worked out by hand
# from the zone's offsets. Chicago: CST -6 / CDT -5, spring 2026-03-08 02:00→03:00,
# fall 2026-11-01 02:00→01:00. Berlin: CET +1 / CEST +2, spring 2026-03-29
# 02:00→03:00, fall 2026-10-25 03:00→02:00. Lord Howe: +10:30 / +11, spring
# 2026-10-04 02:00→02:30, fall 2026-04-05 02:00→01:30.

ABC = ("a", "b", "c")
AB = ("a", "b")

DST_CASES = [
    pytest.param(
        "America/Chicago", Layer("l", ABC, datetime(2026, 3, 8, 0, 0), "hourly"),
        # 00:00 CST, 01:00 CST, 02:00 is in the gap → 03:00 CDT (c's shift lasts no time), 03:00 CDT, 04:00 CDT
        [(utc(2026, 3, 8, 6), "a"), (utc(2026, 3, 8, 7), "b"), (utc(2026, 3, 8, 8), "a"), (utc(2026, 3, 8, 9), "b")],
        id="chicago-hourly-spring",
    ),
    pytest.param(
        "America/Chicago", Layer("l", ABC, datetime(2026, 11, 1, 0, 0), "hourly"),
        # 00:00 CDT, 01:00 first (CDT), 02:00 CST, 03:00 CST: b holds two real hours
        [(utc(2026, 11, 1, 5), "a"), (utc(2026, 11, 1, 6), "b"), (utc(2026, 11, 1, 8), "c"), (utc(2026, 11, 1, 9), "a")],
        id="chicago-hourly-fall",
    ),
    pytest.param(
        "America/Chicago", Layer("l", AB, datetime(2026, 3, 6, 2, 30), "daily"),
        # 02:30 CST, 02:30 CST, 02:30 in the gap → 08:00Z, 02:30 CDT, 02:30 CDT
        [(utc(2026, 3, 6, 8, 30), "a"), (utc(2026, 3, 7, 8, 30), "b"), (utc(2026, 3, 8, 8), "a"),
         (utc(2026, 3, 9, 7, 30), "b"), (utc(2026, 3, 10, 7, 30), "a")],
        id="chicago-daily-spring",
    ),
    pytest.param(
        "America/Chicago", Layer("l", AB, datetime(2026, 10, 31, 1, 30), "daily"),
        # 01:30 CDT; 11-01 01:30 is ambiguous → first (CDT); 01:30 CST: b's shift is 25 h
        [(utc(2026, 10, 31, 6, 30), "a"), (utc(2026, 11, 1, 6, 30), "b"), (utc(2026, 11, 2, 7, 30), "a")],
        id="chicago-daily-fall",
    ),
    pytest.param(
        "America/Chicago", Layer("l", AB, datetime(2026, 10, 30, 9, 0), "daily"),
        # a 09:00 handoff stays 09:00: 14:00Z in CDT, 15:00Z in CST
        [(utc(2026, 10, 30, 14), "a"), (utc(2026, 10, 31, 14), "b"), (utc(2026, 11, 1, 15), "a"), (utc(2026, 11, 2, 15), "b")],
        id="chicago-daily-0900-fall",
    ),
    pytest.param(
        "America/Chicago", Layer("l", AB, datetime(2026, 3, 1, 2, 0), handoffs="RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=0"),
        # Sundays 02:00: CST, the gap → 03:00 CDT = 08:00Z, CDT
        [(utc(2026, 3, 1, 8), "a"), (utc(2026, 3, 8, 8), "b"), (utc(2026, 3, 15, 7), "a")],
        id="chicago-rrule-spring",
    ),
    pytest.param(
        "America/Chicago", Layer("l", AB, datetime(2026, 10, 30, 12, 0), handoffs="FREQ=DAILY;BYHOUR=1;BYMINUTE=30"),
        # start is not an occurrence: shift 0 runs from it to the first 01:30
        [(utc(2026, 10, 30, 17), "a"), (utc(2026, 10, 31, 6, 30), "b"), (utc(2026, 11, 1, 6, 30), "a"),
         (utc(2026, 11, 2, 7, 30), "b")],
        id="chicago-rrule-fall",
    ),
    pytest.param(
        "Europe/Berlin", Layer("l", AB, datetime(2026, 3, 22, 2, 30), "weekly"),
        # Sundays 02:30: CET, the gap → 01:00Z, CEST
        [(utc(2026, 3, 22, 1, 30), "a"), (utc(2026, 3, 29, 1), "b"), (utc(2026, 4, 5, 0, 30), "a")],
        id="berlin-weekly-spring",
    ),
    pytest.param(
        "Europe/Berlin", Layer("l", AB, datetime(2026, 10, 18, 2, 30), "weekly"),
        # Sundays 02:30: CEST, ambiguous → first (CEST), CET
        [(utc(2026, 10, 18, 0, 30), "a"), (utc(2026, 10, 25, 0, 30), "b"), (utc(2026, 11, 1, 1, 30), "a")],
        id="berlin-weekly-fall",
    ),
    pytest.param(
        "Europe/Berlin", Layer("l", ABC, datetime(2026, 1, 29, 2, 30), "monthly"),
        # 29th 02:30: Jan CET, Feb has 28 days → 28th, Mar 29th in the gap → 01:00Z, Apr CEST
        [(utc(2026, 1, 29, 1, 30), "a"), (utc(2026, 2, 28, 1, 30), "b"), (utc(2026, 3, 29, 1), "c"), (utc(2026, 4, 29, 0, 30), "a")],
        id="berlin-monthly-spring",
    ),
    pytest.param(
        "Europe/Berlin", Layer("l", ABC, datetime(2026, 8, 25, 2, 30), "monthly"),
        # 25th 02:30: CEST, CEST, ambiguous → first (CEST), CET
        [(utc(2026, 8, 25, 0, 30), "a"), (utc(2026, 9, 25, 0, 30), "b"), (utc(2026, 10, 25, 0, 30), "c"), (utc(2026, 11, 25, 1, 30), "a")],
        id="berlin-monthly-fall",
    ),
    pytest.param(
        "Europe/Berlin", Layer("l", AB, datetime(2026, 3, 27, 12, 0), handoffs="RRULE:FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=2;BYMINUTE=30"),
        # Fri noon start (no occurrence), Sat 02:30 CET, Sun in the gap → 01:00Z, then CEST
        [(utc(2026, 3, 27, 11), "a"), (utc(2026, 3, 28, 1, 30), "b"), (utc(2026, 3, 29, 1), "a"),
         (utc(2026, 4, 4, 0, 30), "b"), (utc(2026, 4, 5, 0, 30), "a")],
        id="berlin-rrule-spring",
    ),
    pytest.param(
        "Europe/Berlin", Layer("l", AB, datetime(2026, 10, 24, 2, 30), handoffs="RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30"),
        [(utc(2026, 10, 24, 0, 30), "a"), (utc(2026, 10, 25, 0, 30), "b"), (utc(2026, 10, 26, 1, 30), "a")],
        id="berlin-rrule-fall",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", ABC, datetime(2026, 10, 4, 0, 0), "hourly"),
        # 00:00 and 01:00 at +10:30, 02:00 in the gap → 02:30 (+11) = 15:30Z: c holds 30 min; 03:00 +11
        [(utc(2026, 10, 3, 13, 30), "a"), (utc(2026, 10, 3, 14, 30), "b"), (utc(2026, 10, 3, 15, 30), "c"),
         (utc(2026, 10, 3, 16), "a"), (utc(2026, 10, 3, 17), "b")],
        id="lordhowe-hourly-spring",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", ABC, datetime(2026, 4, 5, 0, 45), "hourly"),
        # 00:45 +11, 01:45 ambiguous → first (+11), 02:45 +10:30: b holds 90 min
        [(utc(2026, 4, 4, 13, 45), "a"), (utc(2026, 4, 4, 14, 45), "b"), (utc(2026, 4, 4, 16, 15), "c"), (utc(2026, 4, 4, 17, 15), "a")],
        id="lordhowe-hourly-fall",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", AB, datetime(2026, 10, 3, 2, 15), "daily"),
        # 02:15 +10:30, 02:15 in the gap → 15:30Z, 02:15 +11
        [(utc(2026, 10, 2, 15, 45), "a"), (utc(2026, 10, 3, 15, 30), "b"), (utc(2026, 10, 4, 15, 15), "a")],
        id="lordhowe-daily-spring",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", AB, datetime(2026, 4, 4, 1, 30), "daily"),
        # 01:30 +11, ambiguous → first (+11), 01:30 +10:30: b's shift is 24.5 h
        [(utc(2026, 4, 3, 14, 30), "a"), (utc(2026, 4, 4, 14, 30), "b"), (utc(2026, 4, 5, 15), "a")],
        id="lordhowe-daily-fall",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", AB, datetime(2026, 9, 27, 2, 15), "weekly"),
        [(utc(2026, 9, 26, 15, 45), "a"), (utc(2026, 10, 3, 15, 30), "b"), (utc(2026, 10, 10, 15, 15), "a")],
        id="lordhowe-weekly-spring",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", ABC, datetime(2026, 7, 4, 2, 15), "monthly"),
        # 4th 02:15: +10:30 ×3, the gap → 15:30Z, +11
        [(utc(2026, 7, 3, 15, 45), "a"), (utc(2026, 8, 3, 15, 45), "b"), (utc(2026, 9, 3, 15, 45), "c"),
         (utc(2026, 10, 3, 15, 30), "a"), (utc(2026, 11, 3, 15, 15), "b")],
        id="lordhowe-monthly-spring",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", AB, datetime(2026, 4, 3, 1, 45), handoffs="RRULE:FREQ=DAILY;BYHOUR=1;BYMINUTE=45"),
        # start is an occurrence (shift 0 there); 04-05 01:45 ambiguous → first (+11)
        [(utc(2026, 4, 2, 14, 45), "a"), (utc(2026, 4, 3, 14, 45), "b"), (utc(2026, 4, 4, 14, 45), "a"), (utc(2026, 4, 5, 15, 15), "b")],
        id="lordhowe-rrule-fall",
    ),
    pytest.param(
        "Australia/Lord_Howe", Layer("l", AB, datetime(2026, 10, 1, 0, 0), handoffs="RRULE:FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=10"),
        # Thu start, Sunday 10-04 02:10 is in the gap → 15:30Z, then +11
        [(utc(2026, 9, 30, 13, 30), "a"), (utc(2026, 10, 3, 15, 30), "b"), (utc(2026, 10, 10, 15, 10), "a")],
        id="lordhowe-rrule-spring",
    ),
]


@pytest.mark.parametrize("tz, layer, handoffs", DST_CASES)
def test_dst_handoffs(tz, layer, handoffs):
    schedule = one_layer(tz, layer)
    window_end = handoffs[-1][0] + timedelta(minutes=1)
    expected = [
        Shift(user, at, handoffs[i + 1][0] if i + 1 < len(handoffs) else window_end, "layer:l")
        for i, (at, user) in enumerate(handoffs)
    ]
    assert final_shifts(schedule, handoffs[0][0], window_end) == expected
    assert layer_user_at(layer, zone(tz), handoffs[0][0] - TICK) is None  # not active before its start
    for i, (at, user) in enumerate(handoffs):
        assert layer_user_at(layer, zone(tz), at) == user  # the boundary belongs to the new shift
        shift = on_call(schedule, at)
        assert (shift.user, shift.start) == (user, at)
        if i + 1 < len(handoffs):
            assert shift.end == handoffs[i + 1][0]
            assert on_call(schedule, handoffs[i + 1][0] - TICK).user == user


# --- minute-by-minute sweeps ---------------------------------------------------


def observed_changes(layer: Layer, tz: str, start: datetime, end: datetime) -> list[tuple[datetime, str | None]]:
    """Every minute in [start, end) at which the layer's user differs from the minute before."""
    zi = zone(tz)
    changes, previous, at = [], layer_user_at(layer, zi, start - MINUTE), start
    while at < end:
        user = layer_user_at(layer, zi, at)
        if user != previous:
            changes.append((at, user))
            previous = user
        at += MINUTE
    return changes


def test_sweep_daily_0230_berlin_spring():
    users = ("a", "b", "c")
    layer = Layer("l", users, datetime(2026, 3, 25, 2, 30), "daily")
    start, end = utc(2026, 3, 24), utc(2026, 4, 3)
    # 02:30 local is 01:30Z under CET, 00:30Z under CEST; on 03-29 it is in the gap → 01:00Z.
    instants = [utc(2026, 3, d, 1, 30) for d in (25, 26, 27, 28)] + [utc(2026, 3, 29, 1)]
    instants += [utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)] + [utc(2026, 4, d, 0, 30) for d in (1, 2)]
    expected = [(at, users[k % 3]) for k, at in enumerate(instants)]
    assert observed_changes(layer, "Europe/Berlin", start, end) == expected
    assert [(s.start, s.user) for s in final_shifts(one_layer("Europe/Berlin", layer), start, end)] == expected


def test_sweep_hourly_berlin_spring():
    users = ("a", "b", "c", "d")
    layer = Layer("l", users, datetime(2026, 3, 24, 0, 0), "hourly")
    start, end = utc(2026, 3, 23, 20), utc(2026, 4, 2, 20)
    transition = utc(2026, 3, 29, 1)
    expected, at = [], utc(2026, 3, 23, 23)  # the layer starts at 00:00 CET
    while at < end:
        offset = timedelta(hours=1 if at < transition else 2)
        k = int((at + offset - utc(2026, 3, 24)) / timedelta(hours=1))  # elapsed wall-clock hours
        expected.append((at, users[k % 4]))
        at += timedelta(hours=1)
    # 02:00 and 03:00 both land on 01:00Z: the 02:00 shift lasts no time and its user is skipped.
    assert (transition, "d") in expected and (transition - timedelta(hours=1), "b") in expected
    assert observed_changes(layer, "Europe/Berlin", start, end) == expected


def test_sweep_hourly_lord_howe_fall():
    users = ("a", "b", "c")
    layer = Layer("l", users, datetime(2026, 4, 1, 0, 0), "hourly")
    start, end = utc(2026, 3, 31, 12), utc(2026, 4, 10, 12)
    # Under +11 every wall hour is a whole UTC hour, up to 04-05 01:00 local = 04-04 14:00Z;
    # 02:00 is then +10:30 = 15:30Z (the 01:00 shift lasts 90 minutes), and :30Z after that.
    instants, at = [], utc(2026, 3, 31, 13)
    while at <= utc(2026, 4, 4, 14):
        instants.append(at)
        at += timedelta(hours=1)
    at = utc(2026, 4, 4, 15, 30)
    while at < end:
        instants.append(at)
        at += timedelta(hours=1)
    expected = [(at, users[k % 3]) for k, at in enumerate(instants)]
    assert observed_changes(layer, "Australia/Lord_Howe", start, end) == expected


# --- restrict windows ------------------------------------------------------------


def test_restrict_window_across_midnight():
    tz = zone("America/Chicago")
    nights = Restrict((0, 1, 2, 3, 4), time(20, 0), time(8, 0))  # Mon–Fri 20:00 → next day 08:00
    layer = Layer("night", ("n",), datetime(2026, 1, 1), "daily", restrict=(nights,))

    def local(*wall):
        return localize(datetime(*wall), tz)

    assert layer_user_at(layer, tz, local(2026, 11, 6, 19, 59)) is None  # Fri before 20:00
    assert layer_user_at(layer, tz, local(2026, 11, 6, 20, 0)) == "n"
    assert layer_user_at(layer, tz, local(2026, 11, 7, 7, 59)) == "n"  # Sat morning: Friday's window
    assert layer_user_at(layer, tz, local(2026, 11, 7, 8, 0)) is None
    assert layer_user_at(layer, tz, local(2026, 11, 7, 21, 0)) is None  # no window starts on Saturday
    assert layer_user_at(layer, tz, local(2026, 11, 9, 7, 0)) is None  # nor on Sunday
    schedule = one_layer("America/Chicago", layer)
    # Sat 2026-10-31 … Tue 11-03: Friday's window ends Sat 08:00 CDT, Monday's starts 20:00 CST
    assert gaps(schedule, utc(2026, 10, 31, 12), utc(2026, 11, 3, 12)) == [
        (utc(2026, 10, 31, 13), utc(2026, 11, 3, 2)),  # Sat 08:00 CDT → Mon 20:00 CST
    ]
    spans = [(s.start, s.end) for s in final_shifts(schedule, utc(2026, 10, 30, 12), utc(2026, 11, 4, 12))]
    assert spans == [
        (utc(2026, 10, 30, 12), utc(2026, 10, 30, 13)),  # clipped → Fri 08:00 CDT (Thursday's window)
        (utc(2026, 10, 31, 1), utc(2026, 10, 31, 13)),  # Fri 20:00 CDT → Sat 08:00 CDT
        (utc(2026, 11, 3, 2), utc(2026, 11, 3, 14)),  # Mon 20:00 CST → Tue 08:00 CST
        (utc(2026, 11, 4, 2), utc(2026, 11, 4, 12)),  # Tue 20:00 CST → clipped
    ]


def test_restrict_window_across_a_dst_change_keeps_its_wall_clock_ends():
    nights = Restrict(tuple(range(7)), time(20, 0), time(8, 0))
    layer = Layer("night", ("n",), datetime(2026, 1, 1), "daily", restrict=(nights,))
    schedule = one_layer("America/Chicago", layer)
    # Sat 03-07 20:00 CST → Sun 08:00 CDT: 11 real hours
    assert final_shifts(schedule, utc(2026, 3, 7, 18), utc(2026, 3, 8, 18)) == [
        Shift("n", utc(2026, 3, 8, 2), utc(2026, 3, 8, 13), "layer:night")
    ]
    # Sat 10-31 20:00 CDT → Sun 08:00 CST: 13 real hours
    assert final_shifts(schedule, utc(2026, 10, 31, 18), utc(2026, 11, 1, 18)) == [
        Shift("n", utc(2026, 11, 1, 1), utc(2026, 11, 1, 14), "layer:night")
    ]


def test_restrict_from_equals_to_is_24_clock_hours():
    tz = zone("Europe/Berlin")
    saturday = Restrict((5,), time(9, 0), time(9, 0))
    layer = Layer("weekend", ("w",), datetime(2026, 1, 1), "weekly", restrict=(saturday,))
    schedule = one_layer("Europe/Berlin", layer)
    # Sat 03-28 09:00 CET = 08:00Z → Sun 03-29 09:00 CEST = 07:00Z: 23 real hours
    assert final_shifts(schedule, utc(2026, 3, 27), utc(2026, 3, 31)) == [
        Shift("w", utc(2026, 3, 28, 8), utc(2026, 3, 29, 7), "layer:weekend")
    ]
    assert gaps(schedule, utc(2026, 3, 27), utc(2026, 3, 31)) == [
        (utc(2026, 3, 27), utc(2026, 3, 28, 8)),
        (utc(2026, 3, 29, 7), utc(2026, 3, 31)),
    ]
    assert layer_user_at(layer, tz, utc(2026, 3, 29, 6, 59)) == "w"
    every_day = Restrict(tuple(range(7)), time(9, 0), time(9, 0))
    always = Layer("always", ("w",), datetime(2026, 1, 1), "weekly", restrict=(every_day,))
    assert gaps(one_layer("Europe/Berlin", always), utc(2026, 3, 1, 12), utc(2026, 4, 1)) == []


def test_restrict_windows_show_in_final_shifts_over_a_base_layer():
    weekdays = Restrict((0, 1, 2, 3, 4), time(9, 0), time(17, 0))
    schedule = Schedule(
        "s",
        "UTC",
        (
            Layer("base", ("a",), datetime(2026, 1, 1), "weekly"),
            Layer("office", ("o1", "o2"), datetime(2026, 3, 2, 9), "daily", restrict=(weekdays,)),
        ),
    )
    shifts = final_shifts(schedule, utc(2026, 3, 2), utc(2026, 3, 4))
    assert [(s.user, s.start, s.end, s.source) for s in shifts] == [
        ("a", utc(2026, 3, 2), utc(2026, 3, 2, 9), "layer:base"),
        ("o1", utc(2026, 3, 2, 9), utc(2026, 3, 2, 17), "layer:office"),
        ("a", utc(2026, 3, 2, 17), utc(2026, 3, 3, 9), "layer:base"),
        ("o2", utc(2026, 3, 3, 9), utc(2026, 3, 3, 17), "layer:office"),
        ("a", utc(2026, 3, 3, 17), utc(2026, 3, 4), "layer:base"),
    ]


# --- precedence, overrides, gaps, merging --------------------------------------------


def test_later_layer_wins_where_active():
    schedule = Schedule(
        "payments",
        "America/New_York",
        (
            Layer("weekly", ("alice", "bob", "carol"), datetime(2026, 1, 5, 9), "weekly"),
            Layer(
                "weekend", ("dave", "erin"), datetime(2026, 1, 3, 9),
                handoffs="RRULE:FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=9;BYMINUTE=0",
                restrict=(Restrict((5, 6), time(9), time(21)),),
            ),
        ),
    )
    # Sat 01-03 09:00 EST = 14:00Z: dave (shift 0 at start, which is an occurrence)
    assert on_call(schedule, utc(2026, 1, 3, 14)) == Shift("dave", utc(2026, 1, 3, 14), utc(2026, 1, 4, 2), "layer:weekend")
    # Sat 21:00 → the weekly layer has not started yet: nobody
    assert on_call(schedule, utc(2026, 1, 4, 3)) is None
    # Sunday 09:00: erin
    assert on_call(schedule, utc(2026, 1, 4, 15)).user == "erin"
    # Monday 09:00 the weekly layer starts with alice; the next Saturday dave covers 09–21
    assert on_call(schedule, utc(2026, 1, 5, 14)) == Shift("alice", utc(2026, 1, 5, 14), utc(2026, 1, 10, 14), "layer:weekly")
    assert on_call(schedule, utc(2026, 1, 10, 20)).user == "dave"
    assert on_call(schedule, utc(2026, 1, 11, 2)) == Shift("alice", utc(2026, 1, 11, 2), utc(2026, 1, 11, 14), "layer:weekly")


def test_busy_layer_under_a_steady_one():
    busy = Layer("busy", ABC, datetime(2016, 1, 1), "hourly")
    steady = Layer("steady", ("solo",), datetime(2016, 1, 1), "weekly", restrict=(Restrict((0,), time(9), time(17)),))
    schedule = Schedule("s", "UTC", (busy, steady))
    # Mon 2026-05-04: the steady layer covers 09–17; the hourly one shows through around it
    assert on_call(schedule, utc(2026, 5, 4, 12)) == Shift("solo", utc(2026, 5, 4, 9), utc(2026, 5, 4, 17), "layer:steady")
    assert on_call(schedule, utc(2026, 5, 4, 17, 30)) == Shift("c", utc(2026, 5, 4, 17), utc(2026, 5, 4, 18), "layer:busy")
    always = Schedule("s", "UTC", (busy, Layer("steady", ("solo",), datetime(2016, 1, 1), "hourly")))
    at = utc(2026, 5, 4, 12)
    assert on_call(always, at) == Shift("solo", at - HORIZON, None, "layer:steady")


def test_override_latest_start_wins_ties_go_to_the_later_one():
    base = Layer("base", ("a",), datetime(2026, 1, 1), "daily")
    overrides = (
        Override("frank", utc(2026, 5, 1, 10), utc(2026, 5, 1, 14), id=1),
        Override("grace", utc(2026, 5, 1, 11), utc(2026, 5, 1, 12), id=2),
        Override("heidi", utc(2026, 5, 1, 13), utc(2026, 5, 1, 15), id=3),
        Override("ivan", utc(2026, 5, 1, 13), utc(2026, 5, 1, 14), id=4),
    )
    schedule = one_layer("UTC", base, overrides)
    assert on_call(schedule, utc(2026, 5, 1, 11, 30)).user == "grace"
    assert on_call(schedule, utc(2026, 5, 1, 12)) == Shift("frank", utc(2026, 5, 1, 12), utc(2026, 5, 1, 13), "override")
    assert on_call(schedule, utc(2026, 5, 1, 13)).user == "ivan"  # same start as heidi, later in the tuple
    shifts = final_shifts(schedule, utc(2026, 5, 1, 9), utc(2026, 5, 1, 16))
    assert [(s.user, s.start.hour, s.end.hour, s.source) for s in shifts] == [
        ("a", 9, 10, "layer:base"),
        ("frank", 10, 11, "override"),
        ("grace", 11, 12, "override"),
        ("frank", 12, 13, "override"),
        ("ivan", 13, 14, "override"),
        ("heidi", 14, 15, "override"),
        ("a", 15, 16, "layer:base"),
    ]


def test_override_fills_a_gap_and_gaps_are_left_out():
    nights = Restrict((0, 1, 2, 3, 4, 5, 6), time(20), time(8))
    layer = Layer("night", ("n",), datetime(2026, 5, 1), "daily", restrict=(nights,))
    schedule = one_layer("UTC", layer, [Override("o", utc(2026, 5, 2, 12), utc(2026, 5, 2, 14))])
    assert on_call(schedule, utc(2026, 5, 2, 10)) is None
    assert gaps(schedule, utc(2026, 5, 2), utc(2026, 5, 3)) == [
        (utc(2026, 5, 2, 8), utc(2026, 5, 2, 12)),
        (utc(2026, 5, 2, 14), utc(2026, 5, 2, 20)),
    ]
    assert [(s.user, s.start, s.end) for s in final_shifts(schedule, utc(2026, 5, 2), utc(2026, 5, 3))] == [
        ("n", utc(2026, 5, 2), utc(2026, 5, 2, 8)),
        ("o", utc(2026, 5, 2, 12), utc(2026, 5, 2, 14)),
        ("n", utc(2026, 5, 2, 20), utc(2026, 5, 3)),
    ]
    # before a layer's start nobody is on call
    assert gaps(schedule, utc(2026, 4, 30), utc(2026, 5, 1)) == [(utc(2026, 4, 30), utc(2026, 5, 1))]


def test_same_user_in_consecutive_shifts_merges_and_sources_stay_apart():
    schedule = Schedule(
        "s",
        "UTC",
        (Layer("l", ("a", "a", "b"), datetime(2026, 5, 1), "daily"),),
        (Override("a", utc(2026, 5, 3), utc(2026, 5, 3, 6)),),
    )
    shifts = final_shifts(schedule, utc(2026, 5, 1), utc(2026, 5, 5))
    assert [(s.user, s.start, s.end, s.source) for s in shifts] == [
        ("a", utc(2026, 5, 1), utc(2026, 5, 3), "layer:l"),
        ("a", utc(2026, 5, 3), utc(2026, 5, 3, 6), "override"),
        ("b", utc(2026, 5, 3, 6), utc(2026, 5, 4), "layer:l"),
        ("a", utc(2026, 5, 4), utc(2026, 5, 5), "layer:l"),
    ]
    assert on_call(schedule, utc(2026, 5, 1, 12)) == Shift("a", utc(2026, 5, 1), utc(2026, 5, 3), "layer:l")


def test_on_call_horizon():
    at = utc(2026, 5, 1, 12)
    lone = one_layer("UTC", Layer("l", ("solo",), datetime(2020, 1, 1), "hourly"))
    assert on_call(lone, at) == Shift("solo", at - HORIZON, None, "layer:l")
    recent = one_layer("UTC", Layer("l", ("solo",), datetime(2026, 4, 1), "hourly"))
    assert on_call(recent, at) == Shift("solo", utc(2026, 4, 1), None, "layer:l")
    assert on_call(recent, utc(2026, 3, 1)) is None


def test_window_is_clipped_and_empty_window_is_empty():
    schedule = one_layer("UTC", Layer("l", AB, datetime(2026, 5, 1), "daily"))
    assert final_shifts(schedule, utc(2026, 5, 1, 6), utc(2026, 5, 2, 6)) == [
        Shift("a", utc(2026, 5, 1, 6), utc(2026, 5, 2), "layer:l"),
        Shift("b", utc(2026, 5, 2), utc(2026, 5, 2, 6), "layer:l"),
    ]
    assert final_shifts(schedule, utc(2026, 5, 2), utc(2026, 5, 2)) == []
    assert gaps(schedule, utc(2026, 5, 2), utc(2026, 5, 1)) == []


# --- monthly clamping ---------------------------------------------------------------


@pytest.mark.parametrize(
    "start, days",
    [
        (datetime(2026, 1, 31, 9), [(1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30)]),
        (datetime(2027, 12, 31, 9), [(12, 31), (1, 31), (2, 29), (3, 31), (4, 30)]),  # 2028 is a leap year
        (datetime(2026, 1, 29, 9), [(1, 29), (2, 28), (3, 29), (4, 29)]),
    ],
)
def test_monthly_clamps_to_month_end_and_returns(start, days):
    layer = Layer("m", ("a", "b", "c", "d", "e", "f"), start, "monthly")
    schedule = one_layer("UTC", layer)
    shifts = final_shifts(schedule, localize(start, UTC), localize(start, UTC) + timedelta(days=31 * len(days) - 20))
    assert [(s.start.month, s.start.day) for s in shifts] == days
    assert all(s.start.hour == 9 for s in shifts)
    assert [s.user for s in shifts] == list("abcdef")[: len(days)]


def test_monthly_shift_length_two():
    layer = Layer("m", AB, datetime(2026, 1, 31, 9), "monthly", shift_length=2)
    shifts = final_shifts(one_layer("UTC", layer), utc(2026, 1, 31, 9), utc(2026, 8, 1))
    assert [(s.user, s.start.month, s.start.day) for s in shifts] == [("a", 1, 31), ("b", 3, 31), ("a", 5, 31), ("b", 7, 31)]


# --- old rotations agree with a brute-force walk -------------------------------------------


def brute_boundaries(layer: Layer, tz, until: datetime) -> list[datetime]:
    """Every shift start up to `until`, walked one by one from the layer's start."""
    if layer.handoffs:
        walls = [layer.start]
        for o in rrulestr(layer.handoffs, dtstart=layer.start):
            if o <= layer.start:
                continue
            if localize(o, tz) > until:
                break
            walls.append(o)
    else:
        step = {"hourly": 1, "daily": 24, "weekly": 168}[layer.rotation] * layer.shift_length
        walls, k = [], 0
        while True:
            wall = layer.start + timedelta(hours=step * k)
            if localize(wall, tz) > until:
                break
            walls.append(wall)
            k += 1
    return [localize(w, tz) for w in walls]


def brute_user(layer: Layer, boundaries: list[datetime], at: datetime) -> str | None:
    k = bisect_right(boundaries, at) - 1
    return None if k < 0 else layer.users[k % len(layer.users)]


AT_INSTANTS = [utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 1), utc(2026, 7, 14, 9, 30), utc(2026, 10, 25, 0, 59),
               utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2), utc(2026, 12, 31, 23, 59)]


@pytest.mark.parametrize(
    "layer",
    [
        Layer("h", ("a", "b", "c", "d", "e"), datetime(2016, 3, 29, 2, 30), "hourly"),
        Layer("h3", ("a", "b", "c", "d"), datetime(2016, 10, 30, 2, 15), "hourly", shift_length=3),
        Layer("w", ("a", "b", "c"), datetime(2016, 1, 1, 12), handoffs="RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"),
        Layer("r", ("a", "b", "c"), datetime(2016, 3, 27, 2, 30), handoffs="FREQ=DAILY;INTERVAL=3;BYHOUR=2,14;BYMINUTE=30"),
        Layer("m", ("a", "b"), datetime(2016, 1, 31), handoffs="FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=2;BYMINUTE=30"),
        Layer("u", ("a", "b", "c"), datetime(2016, 1, 1, 12), handoffs="FREQ=DAILY;BYHOUR=2;BYMINUTE=30;UNTIL=20261025T023000"),
        Layer("n", ("a", "b"), datetime(2016, 1, 1, 12), handoffs="FREQ=HOURLY;INTERVAL=7;COUNT=23000"),
    ],
    ids=lambda layer: layer.name,
)
def test_ten_year_old_rotation_matches_brute_force(layer):
    tz = zone("Europe/Berlin")
    boundaries = brute_boundaries(layer, tz, max(AT_INSTANTS))
    for at in AT_INSTANTS:
        assert layer_user_at(layer, tz, at) == brute_user(layer, boundaries, at), at


WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@settings(max_examples=60, deadline=None, database=None)
@given(
    freq=st.sampled_from(["WEEKLY", "DAILY", "HOURLY"]),
    interval=st.integers(1, 5),
    byday=st.lists(st.sampled_from(WEEKDAYS), min_size=0, max_size=3, unique=True),
    byhour=st.lists(st.integers(0, 23), min_size=0, max_size=2, unique=True),
    minute=st.sampled_from([0, 15, 30]),
    count=st.one_of(st.none(), st.integers(0, 400)),
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    offset_hours=st.integers(0, 24 * 200),
    zone_name=st.sampled_from(["Europe/Berlin", "Australia/Lord_Howe", "America/Chicago"]),
)
def test_rrule_jumps_agree_with_walking(freq, interval, byday, byhour, minute, count, start, offset_hours, zone_name):
    rule = f"FREQ={freq};INTERVAL={interval};BYMINUTE={minute}"
    if byday:
        rule += ";BYDAY=" + ",".join(byday)
    if byhour:
        rule += ";BYHOUR=" + ",".join(map(str, byhour))
    if count is not None:
        rule += f";COUNT={count}"
    layer = Layer("r", ("a", "b", "c", "d", "e"), start, handoffs=rule)
    try:
        check_layer(layer)
    except UsageError:  # a rule that can never match, e.g. HOURLY;INTERVAL=2;BYHOUR=0 from 01:00
        assume(False)
    tz = zone(zone_name)
    at = localize(start, tz) + timedelta(hours=offset_hours, minutes=7)
    boundaries = brute_boundaries(layer, tz, at + timedelta(days=40))  # past the longest period, 5 weeks
    assert layer_user_at(layer, tz, at) == brute_user(layer, boundaries, at)
    shift = on_call(one_layer(zone_name, layer), at)
    if shift is not None and shift.end is not None and len(set(layer.users)) == len(layer.users):
        assert shift.end == next(b for b in boundaries if b > at)


# --- finite rules and bad input ---------------------------------------------------------


def test_rule_with_count_keeps_its_last_shift():
    layer = Layer("c", AB, datetime(2026, 5, 1, 9), handoffs="RRULE:FREQ=DAILY;COUNT=3")
    schedule = one_layer("UTC", layer)
    shifts = final_shifts(schedule, utc(2026, 5, 1), utc(2026, 5, 10))
    assert [(s.user, s.start, s.end) for s in shifts] == [
        ("a", utc(2026, 5, 1, 9), utc(2026, 5, 2, 9)),
        ("b", utc(2026, 5, 2, 9), utc(2026, 5, 3, 9)),
        ("a", utc(2026, 5, 3, 9), utc(2026, 5, 10)),
    ]
    assert on_call(schedule, utc(2026, 6, 1)).end is None


@pytest.mark.parametrize(
    "layer",
    [
        Layer("x", AB, datetime(2026, 1, 1), "fortnightly"),
        Layer("x", AB, datetime(2026, 1, 1)),
        Layer("x", AB, datetime(2026, 1, 1), "daily", shift_length=0),
        Layer("x", AB, datetime(2026, 1, 1), "daily", handoffs="FREQ=DAILY"),
        Layer("x", AB, datetime(2026, 1, 1), handoffs="FREQ=SOMETIMES"),
        Layer("x", AB, datetime(2026, 1, 1), handoffs="BYDAY=MO;BYHOUR=9"),
        Layer("x", AB, datetime(2026, 1, 1), handoffs="FREQ=DAILY;INTERVAL=0"),
        Layer("x", AB, datetime(2026, 1, 1), handoffs="FREQ=DAILY;UNTIL=20260301T000000Z"),
        Layer("x", AB, datetime(2026, 1, 1), handoffs="DTSTART:20250101T000000\nRRULE:FREQ=DAILY"),
        Layer("x", AB, datetime(2026, 1, 1, tzinfo=UTC), "daily"),
    ],
)
def test_unusable_layers_are_usage_errors(layer):
    with pytest.raises(UsageError):
        check_layer(layer)
    with pytest.raises(UsageError):
        layer_user_at(layer, zone("UTC"), utc(2026, 2, 1))
