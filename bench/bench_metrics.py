"""Benchmark: `pager metrics --json` over a database of 1,000,000 incidents.

Builds the database once (cached in `bench/.cache/`, rebuilt when the schema
or this generator changes), then runs the command as a real process, three
times, and compares its median with two baselines: the floor, `python -c
"import sqlmodel"`, which every command that opens the database pays, and the
tool's own start-up, the same command over an empty window. CPU time (user +
system, from the child's rusage) is shown too: on a shared machine it moves
less than wall time.

    python bench/bench_metrics.py            # prints one line per figure
    python bench/bench_metrics.py --rebuild  # builds the database again

Targets: under 1 s beyond the start-up, peak RSS under 200 MB.

The mix: 5 services, 4 severities, incidents created over the 60 days before
NOW (so the default 30-day window holds about half of them); 70% resolved
(a fifth of those without an acknowledgement), 20% acknowledged, 10%
triggered; about 15% escalated at least once; pages for about a third.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
INCIDENTS = 1_000_000
GENERATOR = 1  # bump when the mix below changes
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
DAYS = 60
SERVICES = ("payments", "checkout", "search", "auth", "catch-all")
SEVERITIES = (("critical", 0.1), ("error", 0.4), ("warning", 0.35), ("info", 0.15))
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
BATCH = 20_000

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def database_path(incidents: int = INCIDENTS) -> Path:
    from pager_cli.store.migrations import LATEST

    return CACHE / f"metrics-{incidents}-schema{LATEST}-gen{GENERATOR}.db"


def _stamp(value: datetime | None) -> str | None:
    """An instant as SQLAlchemy's SQLite DateTime stores it (UTC, microseconds)."""
    return None if value is None else value.isoformat(" ", "microseconds")


def _rows(rng: random.Random, first_id: int, count: int, total: int) -> tuple[list[dict], list[dict]]:
    """`count` incidents from id `first_id` (of `total`), and their pages, as
    stored values."""
    span = DAYS * 86400
    start = (NOW - timedelta(seconds=span)).replace(tzinfo=None)  # naive UTC, for _stamp
    severities = rng.choices([s for s, _ in SEVERITIES], [w for _, w in SEVERITIES], k=count)
    incidents, pages = [], []
    for n, i in enumerate(range(first_id, first_id + count)):
        # Ids follow creation time, as they do in a live database.
        created = start + timedelta(seconds=span * (i - 1) / total + rng.random())
        roll = rng.random()
        acked = resolved = None
        if roll < 0.70:
            status = "resolved"
            if rng.random() < 0.8:
                acked = created + timedelta(seconds=rng.expovariate(1 / 300))
            resolved = (acked or created) + timedelta(seconds=rng.expovariate(1 / 3600))
        elif roll < 0.90:
            status = "acknowledged"
            acked = created + timedelta(seconds=rng.expovariate(1 / 300))
        else:
            status = "triggered"
        step = 1 + int(rng.expovariate(1)) if rng.random() < 0.15 else 0
        service = SERVICES[i % len(SERVICES)]
        at = _stamp(created)
        incidents.append({
            "id": i, "service": service, "title": f"{service}: synthetic incident {i}",
            "severity": severities[n], "status": status, "dedup_key": f"bench:{i}",
            "alert_count": 1, "assignees": "[]", "escalation_policy": None, "escalation_level": 0,
            "escalation_pass": 0, "escalation_step": step, "level_reached_at": at,
            "next_escalation_at": None, "created_at": at, "last_alert_at": at,
            "acknowledged_at": _stamp(acked) if status == "acknowledged" else None,
            "acknowledged_by": USERS[i % len(USERS)] if acked else None, "first_acknowledged_at": _stamp(acked),
            "resolved_at": _stamp(resolved), "resolved_by": USERS[i % len(USERS)] if resolved else None,
            "details": "{}",
            "ack_ms": round((acked - created).total_seconds() * 1000) if acked else None,
            "resolve_ms": round((resolved - created).total_seconds() * 1000) if resolved else None,
        })
        if rng.random() < 1 / 3:
            for s in range(step + 1):
                pages.append({"incident_id": i, "user": rng.choice(USERS), "step": s, "level": s, "at": at,
                              "channel": "console", "state": "sent", "error": None})
    return incidents, pages


def _untyped(table):  # noqa: ANN001, ANN202
    """The model's table with its columns but no types: rows go in already in
    their stored form, without a bind processor per value (ten times faster)."""
    import sqlalchemy as sa

    return sa.table(table.name, *(sa.column(c.name) for c in table.columns))


def build(path: Path, incidents: int = INCIDENTS, log=print) -> Path:  # noqa: ANN001
    """Create the database at `path` with `incidents` incidents (Core executemany
    through the model tables, in one transaction), and check that the stored
    form reads back through the models."""
    from sqlmodel import select

    from pager_cli.store import tables as m
    from pager_cli.store.db import open_database

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        leftover.unlink(missing_ok=True)
    rng = random.Random(20261123)
    began = time.perf_counter()
    db = open_database(str(partial))
    try:
        incident_table, page_table = _untyped(m.Incident.__table__), _untyped(m.Page.__table__)
        with db.engine.connect() as conn:
            conn.execution_options(pager_mode="write")
            with conn.begin():
                for first in range(1, incidents + 1, BATCH):
                    rows, pages = _rows(rng, first, min(BATCH, incidents + 1 - first), incidents)
                    conn.execute(incident_table.insert(), rows)
                    if pages:
                        conn.execute(page_table.insert(), pages)
                    if log and first > 1 and (first - 1) % 200_000 == 0:
                        log(f"  … {first - 1:,} incidents ({time.perf_counter() - began:.0f}s)")
        with db.read() as session:
            sample = session.exec(select(m.Incident).where(m.Incident.id == 1)).one()
            assert sample.created_at.tzinfo is not None and sample.created_at < NOW, sample.created_at
    finally:
        db.close()
    os.replace(partial, path)
    if log:
        log(f"built {path} ({incidents:,} incidents) in {time.perf_counter() - began:.0f}s")
    return path


def ensure(incidents: int = INCIDENTS, rebuild: bool = False, log=print) -> Path:  # noqa: ANN001
    path = database_path(incidents)
    if rebuild or not path.exists():
        build(path, incidents, log)
    return path


def _run(argv: list[str], env: dict | None = None) -> tuple[float, float, int, bytes]:
    """Wall time, CPU time (user + system), peak RSS (bytes) and stdout of one process."""
    began = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own usage, not every child's
    elapsed = time.perf_counter() - began
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {err.decode(errors='replace')}")
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return elapsed, usage.ru_utime + usage.ru_stime, rss, out


def _median(runs: list[tuple], index: int) -> float:
    return statistics.median(r[index] for r in runs)


def run(rebuild: bool = False, repeat: int = 3) -> list[tuple[str, float, str]]:
    """(name, value, target) for each figure. Times are medians of `repeat`
    runs; "start-up" is the same command over an empty window (imports, the
    database opened and checked, the config's zone read)."""
    path = ensure(rebuild=rebuild, log=lambda text: print(text, file=sys.stderr))
    env = {k: v for k, v in os.environ.items() if k not in ("PAGER_NOW", "PAGER_DB", "COLUMNS")}
    pager = [sys.executable, "-m", "pager_cli", "--db", str(path), "--now", NOW.isoformat(), "metrics", "--json"]
    floor, startup, runs = [], [], []
    for _ in range(repeat):  # interleaved, so that a busy moment spreads over all three
        floor.append(_run([sys.executable, "-c", "import sqlmodel"], env))
        startup.append(_run([*pager, "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-01T00:01:00Z"], env))
        runs.append(_run(pager, env))
    import json

    doc = json.loads(runs[0][3])
    wall, cpu = _median(runs, 0), _median(runs, 1)
    return [
        ("incidents in the window", float(doc["incidents"]), "about half of the database"),
        ("floor: python -c 'import sqlmodel' (s)", round(_median(floor, 0), 3), "reference"),
        ("start-up: metrics over an empty window (s)", round(_median(startup, 0), 3), "reference"),
        ("pager metrics --json (s)", round(wall, 3), "reference"),
        ("  beyond the floor (s)", round(wall - _median(floor, 0), 3), "< 1.0"),
        ("  beyond the start-up (s)", round(wall - _median(startup, 0), 3), "< 1.0"),
        ("  CPU beyond the start-up's CPU (s)", round(cpu - _median(startup, 1), 3), "< 1.0"),
        ("peak RSS of pager metrics (MB)", round(max(r[2] for r in runs) / 1e6, 1), "< 200"),
    ]


def main() -> None:
    for name, value, target in run(rebuild="--rebuild" in sys.argv[1:]):
        print(f"{name:<44} {value:>12,.3f}   target: {target}")


if __name__ == "__main__":
    main()
