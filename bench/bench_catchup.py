"""Benchmark: a long escalation catch-up, and an `ack` that arrives during it.

200 open incidents on a one-level, 1-minute policy with `repeat: 1000`, the
cron job down for 24 hours: the next `escalate-check` catches up 1,000 steps
(and pages) per incident, 200,000 in all, and prints 400,200 lines. While it
runs, `pager ack ID` is run again and again as its own process (a new incident
each time), as a person acknowledging from a terminal would.

Figures, as real processes on a fresh database each run:
- the catch-up's peak RSS (target: under 150 MB, whatever the length of the
  catch-up: it commits and prints in small pieces);
- the longest wall time of an `ack` run during the catch-up, process start-up
  included (target: 2 s), beside the median `ack` with nothing else running;
- the catch-up's wall time and line count (reference).

    python bench/bench_catchup.py            # the figures
    python bench/bench_catchup.py --quick    # 40 incidents
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

INCIDENTS, QUICK_INCIDENTS = 200, 40
REPEAT = 1000
OPENED = "2026-11-23T09:00:00Z"
LATER = "2026-11-24T09:00:00Z"  # 24 h of missed runs
RSS_TARGET_MB = 150
ACK_TARGET_S = 2.0
CONFIG = """\
timezone: UTC
users:
  alice: {name: Alice}
escalation_policies:
  flood:
    repeat: %d
    levels:
      - targets: [user:alice]
        delay: 1m
services:
  svc:
    escalation_policy: flood
""" % REPEAT


def build(db: Path, incidents: int) -> None:
    common.remove_database(db)
    config = db.with_suffix(".yaml")
    config.write_text(CONFIG)
    common.run_once(common.pager(db, "schedules", "apply", str(config), module=True, now=OPENED))
    alerts = db.with_suffix(".ndjson")
    alerts.write_text("".join(json.dumps({"service": "svc", "title": f"incident {i}"}) + "\n"
                              for i in range(incidents)))
    common.run_once(common.pager(db, "trigger", "-", module=True, now=OPENED), stdin=alerts)


def ack(db: Path, incident_id: int) -> float:
    """Wall time of one `pager ack ID`, as a process of its own."""
    began = time.perf_counter()
    proc = subprocess.run(common.pager(db, "ack", str(incident_id), module=True, now=LATER),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=common.child_env())
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"ack {incident_id} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return wall


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    incidents = QUICK_INCIDENTS if quick else INCIDENTS
    db = common.CACHE / "catchup-run.db"
    common.CACHE.mkdir(parents=True, exist_ok=True)

    # ack with nothing else running: what any ack costs here
    build(db, 5)
    alone = [ack(db, i) for i in (1, 2, 3, 4, 5)]

    build(db, incidents)
    result: dict = {}

    def catch_up() -> None:
        try:
            result["sample"] = common.run_once(common.pager(db, "escalate-check", module=True, now=LATER),
                                               keep_stdout=True)
        except Exception as e:  # reported below
            result["error"] = e

    checker = threading.Thread(target=catch_up)
    checker.start()
    time.sleep(1.0)  # past the check's own start-up: into the catch-up
    waits: list[float] = []
    target = incidents
    while checker.is_alive() and target > incidents // 2:
        waits.append(ack(db, target))  # the incidents stepped last in each round
        target -= 1
    checker.join()
    if "error" in result:
        raise result["error"]
    sample = result["sample"]
    lines = sample.stdout.count(b"\n")
    common.remove_database(db)
    r = lambda v: round(v, 3)  # noqa: E731
    return [
        (f"escalate-check, {incidents} incidents x {REPEAT:,} steps due: peak RSS (MB)",
         round(sample.rss / 1e6, 1), f"< {RSS_TARGET_MB}"),
        ("  wall time (s)", r(sample.wall), "reference"),
        ("  lines printed", lines, "reference"),
        (f"  ack during it, longest of {len(waits)} (s)", r(max(waits)) if waits else 0.0, f"< {ACK_TARGET_S}"),
        ("  ack during it, longest beyond the median ack alone (s)",
         r(max(waits) - statistics.median(alone)) if waits else 0.0, "reference"),
        ("  ack during it, median (s)", r(statistics.median(waits)) if waits else 0.0, "reference"),
        ("  ack with nothing else running, median (s)", r(statistics.median(alone)), "reference"),
    ]


def main() -> None:
    common.prepare_environment()
    began = time.perf_counter()
    for name, value, target in run(quick="--quick" in sys.argv[1:]):
        print(f"{name:<64} {value:>10}   target: {target}")
    print(f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
