"""How long `on_call` takes for rotations that started long ago.

Each case is timed over 200 calls and the median reported. The layer cache is
cleared before every call, so each figure is what one `pager oncall` process
pays, not a warmed-up loop.

    python bench/bench_oncall.py
"""

from __future__ import annotations

import statistics
import time as clock
from datetime import datetime, time, timedelta

from pager_cli.schedules import grids
from pager_cli.schedules.oncall import on_call
from pager_cli.schedules.types import Layer, Override, Restrict, Schedule
from pager_cli.times import UTC

CALLS = 200
TARGET_MS = 20.0
AT = datetime(2026, 11, 23, 9, 17, tzinfo=UTC)
TEN_YEARS_BACK = datetime(2016, 11, 23, 9, 0)


def _cases() -> list[tuple[str, Schedule]]:
    hourly = Schedule(
        "hourly",
        "Europe/Berlin",
        (Layer("hourly", ("alice", "bob", "carol", "dave"), TEN_YEARS_BACK, "hourly"),),
    )
    weekly_rule = Schedule(
        "rrule",
        "America/Chicago",
        (Layer("mondays", ("alice", "bob", "carol"), TEN_YEARS_BACK, handoffs="RRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"),),
    )
    realistic = Schedule(
        "payments-primary",
        "America/New_York",
        (
            Layer("weekly", ("alice", "bob", "carol"), datetime(2021, 1, 4, 9), "weekly"),
            Layer(
                "nights", ("dave", "erin"), datetime(2021, 1, 4, 20), "daily",
                restrict=(Restrict((0, 1, 2, 3, 4), time(20), time(8)),),
            ),
            Layer(
                "weekend", ("frank", "grace"), datetime(2021, 1, 2, 9),
                handoffs="RRULE:FREQ=WEEKLY;BYDAY=SA,SU;BYHOUR=9;BYMINUTE=0",
                restrict=(Restrict((5, 6), time(9), time(21)),),
            ),
        ),
        (
            Override("heidi", AT - timedelta(days=3), AT - timedelta(days=2)),
            Override("heidi", AT + timedelta(hours=5), AT + timedelta(days=1)),
            Override("ivan", AT + timedelta(days=30), AT + timedelta(days=33)),
        ),
    )
    return [("hourly-10y", hourly), ("rrule-weekly-10y", weekly_rule), ("three-layers", realistic)]


def _median_ms(schedule: Schedule) -> float:
    samples = []
    for _ in range(CALLS):
        grids.grid.cache_clear()
        begin = clock.perf_counter()
        on_call(schedule, AT)
        samples.append((clock.perf_counter() - begin) * 1000)
    return statistics.median(samples)


def run() -> list[tuple[str, float, str]]:
    """(case, median milliseconds, target) for each case."""
    return [(f"oncall {name}", _median_ms(schedule), f"< {TARGET_MS:g} ms") for name, schedule in _cases()]


if __name__ == "__main__":
    for name, ms, target in run():
        print(f"{name}: {ms:.3f} ms (target {target})")
