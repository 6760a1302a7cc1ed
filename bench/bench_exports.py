"""Benchmark: the exports of PRODUCT.md §13.

- `pager schedules ical` for a year of an hourly rotation (8,760 events; the
  rotation math, then the calendar written: icalendar's envelope, each event's
  lines written directly), against the same command for one hour, which pays
  the same start-up (imports, the database opened, the schedule read,
  icalendar imported). Target: < 100 ms beyond it. Medians of 9 runs each,
  interleaved; on a shared machine the wall-clock difference is noisy, the CPU
  difference and the in-process figures (process time) less so.
- `pager metrics --format prometheus` over bench_metrics' database of
  1,000,000 incidents (built once and cached, shared with that benchmark),
  against `pager metrics --json` over an empty window of that database (the
  start-up bench_metrics uses). Target: < 1 s beyond it. The exposition is
  checked with `promtool check metrics` when promtool is installed.

    python bench/bench_exports.py          # both
    python bench/bench_exports.py ical     # the calendar only
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_metrics  # noqa: E402
from bench_metrics import _median, _run  # noqa: E402

NOW = "2026-11-23T09:00:00Z"
HOURLY = """\
timezone: Europe/Berlin
users: {alice: {}, bob: {}, carol: {}, dave: {}, erin: {}, frank: {}, grace: {}}
schedules:
  hourly:
    layers:
      - {name: hours, rotation: hourly, start: 2026-01-01T00:00, users: [alice, bob, carol, dave, erin, frank, grace]}
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PAGER_NOW", "PAGER_DB", "COLUMNS")}


def ical(repeat: int = 9) -> list[tuple[str, float, str]]:
    import statistics

    import common

    env = _env()
    with tempfile.TemporaryDirectory() as tmp:
        db, config = Path(tmp) / "pager.db", Path(tmp) / "pager.yaml"
        config.write_text(HOURLY)
        base = [sys.executable, "-m", "pager_cli", "--db", str(db), "--now", NOW]
        subprocess.run([*base, "schedules", "apply", str(config)], check=True, capture_output=True, env=env)
        year = [*base, "schedules", "ical", "hourly", "--from", "2027-01-01T00:00", "--to", "2028-01-01T00:00"]
        hour = [*base, "schedules", "ical", "hourly", "--from", "2027-01-01T00:00", "--to", "2027-01-01T01:00"]
        startup, runs = [], []
        _run(year, env)  # warm-up
        for _ in range(repeat):  # interleaved: a busy moment lands on both sides
            startup.append(_run(hour, env))
            runs.append(_run(year, env))
        counted = common.count_instructions({"hour": hour, "year": year}, env={"hour": env, "year": env},
                                            workers=1)  # one valgrind at a time, not one per core
    events = runs[0][3].count(b"BEGIN:VEVENT")
    beyond = statistics.median(y[0] - h[0] for h, y in zip(startup, runs))  # per round, then the median
    beyond_cpu = statistics.median(y[1] - h[1] for h, y in zip(startup, runs))
    shifts_s, calendar_s = _ical_parts()
    rows = [
        ("ical: events for a year of an hourly rotation", float(events), "reference"),
        ("ical: start-up, the same for one hour (s)", round(_median(startup, 0), 3), "reference"),
        ("ical: a year of hourly shifts (s)", round(_median(runs, 0), 3), "reference"),
        ("  beyond the start-up (s)", round(beyond, 3), "< 0.1"),
        ("  CPU beyond the start-up's CPU (s)", round(beyond_cpu, 3), "< 0.1"),
    ]
    if counted["hour"] and counted["year"]:
        # instructions do not move with the machine's load; in seconds at the speed
        # the one-hour command ran at here (its instructions ÷ its median CPU time)
        speed = counted["hour"] / _median(startup, 1)
        over = counted["year"] - counted["hour"]
        rows += [("  instructions beyond the start-up (M)", round(over / 1e6, 1), "reference"),
                 ("  the same in seconds at this run's speed (s)", round(over / speed, 3), "< 0.1")]
    return rows + [
        ("  in process: the year's final shifts (s)", round(shifts_s, 3), "reference"),
        ("  in process: the calendar written (s)", round(calendar_s, 3), "reference"),
        ("  in process: both (s)", round(shifts_s + calendar_s, 3), "< 0.1"),
    ]


def _ical_parts(repeat: int = 9) -> tuple[float, float]:
    """Where the time goes, in this process (process time, medians): the
    rotation math, then the calendar."""
    import statistics
    import time
    from datetime import datetime, timezone

    from pager_cli.exports import ical
    from pager_cli.schedules.types import Layer, Schedule

    schedule = Schedule("hourly", "Europe/Berlin", (Layer("hours", tuple("abcdefg"), datetime(2026, 1, 1), "hourly"),))
    start, end = datetime(2027, 1, 1, tzinfo=timezone.utc), datetime(2028, 1, 1, tzinfo=timezone.utc)
    shifts, calendars = [], []
    for _ in range(repeat):
        began = time.process_time()
        found = ical.whole_shifts(schedule, start, end)
        middle = time.process_time()
        ical.calendar(schedule, found, start)
        shifts.append(middle - began)
        calendars.append(time.process_time() - middle)
    return statistics.median(shifts), statistics.median(calendars)


def prometheus(repeat: int = 3) -> list[tuple[str, float, str]]:
    path = bench_metrics.ensure(log=lambda text: print(text, file=sys.stderr))
    env = _env()
    base = [sys.executable, "-m", "pager_cli", "--db", str(path), "--now", NOW, "metrics"]
    empty = [*base, "--json", "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-01T00:01:00Z"]
    exposition = [*base, "--format", "prometheus"]
    startup, runs = [], []
    for _ in range(repeat):
        startup.append(_run(empty, env))
        runs.append(_run(exposition, env))
    promtool = shutil.which("promtool")
    checked = 0.0
    if promtool:
        check = subprocess.run([promtool, "check", "metrics"], input=runs[0][3], capture_output=True)
        checked = 1.0 if check.returncode == 0 else -1.0
    wall, cpu = _median(runs, 0), _median(runs, 1)
    return [
        ("prometheus: start-up, metrics --json over an empty window (s)", round(_median(startup, 0), 3), "reference"),
        ("prometheus: metrics --format prometheus, 1M incidents (s)", round(wall, 3), "reference"),
        ("  beyond the start-up (s)", round(wall - _median(startup, 0), 3), "< 1.0"),
        ("  CPU beyond the start-up's CPU (s)", round(cpu - _median(startup, 1), 3), "< 1.0"),
        ("  exposition size (kB)", round(len(runs[0][3]) / 1000, 1), "reference"),
        ("  promtool check metrics passes (1 yes, 0 no promtool)", checked, ">= 0"),
    ]


def run(which: str = "all") -> list[tuple[str, float, str]]:
    return {"ical": ical, "prometheus": prometheus}.get(which, lambda: ical() + prometheus())()


def main() -> None:
    for name, value, target in run(sys.argv[1] if len(sys.argv) > 1 else "all"):
        print(f"{name:<62} {value:>12,.3f}   target: {target}")


if __name__ == "__main__":
    main()
