"""Benchmark: `pager escalate-check`, the cron job, on a large database.

The database (built once, cached in `bench/.cache/`): schedules.example.yaml
applied, 1,000,000 resolved incidents and 10,000 open ones, inserted by
executemany of the INSERT that SQLAlchemy compiles from the `Incident` model
table, with values in their stored form, then read back through the models. Resolved and
acknowledged incidents have no `next_escalation_at`; of the triggered ones,
1,000 were due a minute ago (half at level 0 of the `payments` policy, half at
its last level, which wraps to a second pass and resolves the
`payments-primary` schedule) and the rest are due in three minutes.

Figures, as real processes, medians of interleaved runs:
- nothing due: the check a minute before the first due step, against the
  floor (`python -c "import sqlmodel"`), the stack floor (`stack_floor.py
  plain`, a Typer command that imports SQLModel) and the same command on a
  database with the config and no incidents;
- 1,000 due: every run on a fresh copy of the cached database, so each starts
  from the same state; the output is checked (one ESCALATED line per due
  incident).

    python bench/bench_escalate.py            # one line per figure
    python bench/bench_escalate.py --quick    # a smaller database

Target: nothing due within 0.05 s of the floor.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

GENERATOR = 2  # bump when the data below changes
FULL = (1_000_000, 10_000, 1_000)  # resolved, open, due
QUICK = (20_000, 2_000, 200)
ACKED_SHARE = 5  # one open incident in five is acknowledged
BATCH = 20_000
NOTHING_DUE_TARGET = 0.05  # seconds above the floor
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
BEFORE_DUE = "2026-11-23T08:58:00Z"  # two minutes before NOW: nothing is due yet
SERVICES = (("payments", "payments"), ("platform", "platform"), ("catch-all", None))
SEVERITIES = ("critical", "error", "warning", "info")
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")


def database_path(sizes: tuple[int, int, int]) -> Path:
    resolved, open_, due = sizes
    return common.CACHE / (f"escalate-{resolved}r-{open_}o-{due}d-schema{common.schema_version()}"
                           f"-gen{GENERATOR}-{common.fingerprint(common.EXAMPLE_CONFIG)}.db")


def _clock(midnight: datetime, days: int):  # noqa: ANN202
    """A fast `whole seconds after midnight → stored instant` (the bulk rows
    need millions; datetime arithmetic per value would dominate the build)."""
    base = midnight.astimezone(timezone.utc).replace(tzinfo=None)
    assert base.time() == datetime.min.time(), base
    dates = [(base + timedelta(days=d)).date().isoformat() + " " for d in range(days + 2)]
    times = [f"{h:02d}:{m:02d}:{s:02d}.000000" for h in range(24) for m in range(60) for s in range(60)]

    def stamp(seconds: int) -> str:
        day, rest = divmod(seconds, 86400)
        return dates[day] + times[rest]

    assert _stamp(midnight + timedelta(seconds=93784)) == stamp(93784)
    return stamp


def _resolved(first: int, count: int, total: int) -> list[dict]:
    """Resolved incidents, as stored, over the 60 days before NOW."""
    days = 60  # the 60 days before NOW, ids in creation order
    span = days * 86400
    midnight = (NOW - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    stamp = _clock(midnight, days)
    offset = int((NOW - timedelta(days=days) - midnight).total_seconds())
    rows = []
    for i in range(first, first + count):
        service, policy = SERVICES[i % len(SERVICES)]
        created = offset + span * i // total - 3600  # seconds after midnight; the last an hour before NOW
        to_ack, to_resolve = 60 + i % 600, 1800 + i % 1800
        acked = stamp(created + to_ack) if i % 5 else None
        user = USERS[i % len(USERS)]
        at = stamp(created)
        rows.append({
            "id": i, "service": service, "title": f"{service}: synthetic incident {i}",
            "severity": SEVERITIES[i % 4], "status": "resolved", "dedup_key": f"bench:{i}", "alert_count": 1,
            "assignees": f'["{user}"]', "escalation_policy": policy, "escalation_level": 0,
            "escalation_pass": 0, "escalation_step": 0, "level_reached_at": at, "next_escalation_at": None,
            "created_at": at, "last_alert_at": at, "acknowledged_at": acked,
            "acknowledged_by": user if acked else None, "first_acknowledged_at": acked,
            "resolved_at": stamp(created + to_resolve), "resolved_by": USERS[(i + 1) % len(USERS)],
            "details": "{}", "ack_ms": to_ack * 1000 if acked else None, "resolve_ms": to_resolve * 1000,
        })
    return rows


def _open(first: int, count: int, due: int) -> list[dict]:
    """Open incidents on `payments`, as stored (level 0: the schedule, 5m;
    level 1: grace and heidi, 10m; repeat 1). The first `due` are due a minute
    before NOW."""
    rows = []
    for j in range(count):
        i = first + j
        status, level, step, reached, next_at, acked, assignees = "triggered", 0, 0, NOW - timedelta(minutes=2), \
            NOW + timedelta(minutes=3), None, ["alice"]
        if j < due and j % 2 == 0:  # level 0 → level 1
            reached, next_at = NOW - timedelta(minutes=6), NOW - timedelta(minutes=1)
        elif j < due:  # level 1, last level → level 0 of pass 2
            level, step, reached, next_at = 1, 1, NOW - timedelta(minutes=11), NOW - timedelta(minutes=1)
            assignees = ["grace", "heidi"]
        elif j % ACKED_SHARE == 0:
            status, next_at, acked = "acknowledged", None, NOW - timedelta(minutes=1)
        created = _stamp(NOW - timedelta(minutes=20) if j < due else reached)
        reached, next_at, acked = _stamp(reached), _stamp(next_at), _stamp(acked)
        rows.append({
            "id": i, "service": "payments", "title": f"payments: open incident {j}", "severity": SEVERITIES[j % 4],
            "status": status, "dedup_key": f"open:{j}", "alert_count": 1, "assignees": json.dumps(assignees),
            "escalation_policy": "payments", "escalation_level": level, "escalation_pass": 0,
            "escalation_step": step, "level_reached_at": reached, "next_escalation_at": next_at,
            "created_at": created, "last_alert_at": created, "acknowledged_at": acked,
            "acknowledged_by": "alice" if acked else None, "first_acknowledged_at": acked,
            "resolved_at": None, "resolved_by": None, "details": json.dumps({"host": f"web-{j % 40}"}),
        })
    return rows


def _stamp(value: datetime | None) -> str | None:
    """An instant as the models store it (UTCDateTime on SQLite: naive UTC text);
    `build` checks that it reads back through the models and compares in SQL."""
    return None if value is None else value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def _stored(table, rows: list[dict]) -> list[tuple]:  # noqa: ANN001 - a Table
    """Rows already in their stored form (instants and JSON as text, so that
    executemany binds them without a Python call per value), in the table's
    column order; a column the rows do not name (a later migration's) is NULL."""
    names = [c.name for c in table.columns]
    return [tuple(map(row.get, names)) for row in rows]


def build(path: Path, sizes: tuple[int, int, int]) -> None:
    """The database at `path`: the example config applied through the real
    command, then the incidents by executemany of the model table's INSERT
    (compiled by SQLAlchemy), in one transaction; then checked through the
    models and the engine's own due query."""
    from sqlmodel import select

    from pager_cli.store import tables as m
    from pager_cli.store.db import open_database
    from pager_cli.escalation.due import due_ids

    resolved, open_, due = sizes
    common.apply_config(path)
    db = open_database(str(path))
    try:
        table = m.Incident.__table__
        with db.engine.connect() as conn:
            conn.execution_options(pager_mode="write")
            insert = str(table.insert().compile(dialect=conn.dialect))
            with conn.begin():
                conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB: index pages stay in memory
                for first in range(1, resolved + 1, BATCH):
                    rows = _resolved(first, min(BATCH, resolved + 1 - first), resolved)
                    conn.exec_driver_sql(insert, _stored(table, rows))
                conn.exec_driver_sql(insert, _stored(table, _open(resolved + 1, open_, due)))
        with db.read() as session:  # the stored form reads back through the models
            assert len(due_ids(session, NOW, 10 * due + 10)) == due
            first_open = session.exec(select(m.Incident).where(m.Incident.id == resolved + 1)).one()
            assert first_open.next_escalation_at == NOW - timedelta(minutes=1), first_open.next_escalation_at
            assert first_open.details == {"host": "web-0"}, first_open.details
            last = session.exec(select(m.Incident).where(m.Incident.id == resolved)).one()
            assert last.status == "resolved" and last.resolved_at > last.created_at, last
    finally:
        db.close()


def ensure(sizes: tuple[int, int, int], log=common.stderr_log) -> Path:  # noqa: ANN001
    resolved, open_, due = sizes
    return common.cached(database_path(sizes), lambda partial: build(partial, sizes), log,
                         family=f"escalate-{resolved}r-{open_}o-{due}d-*.db")


def run(repeat: int = 7, quick: bool = False) -> list[tuple[str, float, str]]:
    """(name, value, target) for each figure; times in seconds."""
    sizes = QUICK if quick else FULL
    resolved, open_, due = sizes
    if quick:
        repeat = min(repeat, 3)
    big = ensure(sizes)
    small = common.applied_database(common.stderr_log)
    label = f"{resolved // 1000:,}k resolved + {open_ // 1000:,}k open"

    # Nothing due: read-only, so every run can use the cached file itself.
    quiet = common.run_once(common.pager(big, "escalate-check", now=BEFORE_DUE), keep_stdout=True)
    assert quiet.stdout == b"", quiet.stdout[:200]  # nothing due: nothing printed
    samples = common.time_commands({
        "floor": [common.python(), "-c", "import sqlmodel"],
        "stack": [common.python(), str(Path(__file__).resolve().parent / "stack_floor.py"), "plain"],
        "small": common.pager(small, "escalate-check", now=BEFORE_DUE),
        "big": common.pager(big, "escalate-check", now=BEFORE_DUE),
    }, repeat)
    idle = common.median(samples["big"])
    over_floor = common.paired(samples["big"], samples["floor"])
    over_stack = common.paired(samples["big"], samples["stack"])
    over_stack_cpu = common.paired(samples["big"], samples["stack"], "cpu")
    over_small = common.paired(samples["big"], samples["small"])
    over_small_cpu = common.paired(samples["big"], samples["small"], "cpu")

    # 1,000 due: a fresh copy of the cached database before every run.
    copy = common.CACHE / f"escalate-run-{os.getpid()}.db"
    argv = common.pager(copy, "escalate-check")
    runs = []
    try:
        for _ in range(2 if quick else 3):  # no warm-up run: the copy itself reads the file into the page cache
            common.copy_database(big, copy)
            sample = common.run_once(argv, keep_stdout=True)
            lines = sample.stdout.decode().splitlines()
            escalated = sum(line.startswith("ESCALATED ") for line in lines)
            pages = sum(line.startswith("PAGE ") for line in lines)
            assert escalated == due, (escalated, due, lines[:5])
            runs.append(sample)
    finally:
        common.remove_database(copy)
    busy = common.median(runs)
    r = lambda v: round(v, 3)  # noqa: E731
    return [
        (f"escalate-check, {label}: nothing due (s)", r(idle), "reference"),
        ("  beyond the floor, import sqlmodel (s)", r(over_floor), f"<= {NOTHING_DUE_TARGET}"),
        ("  beyond the stack floor, a Typer + SQLModel command (s)", r(over_stack), f"<= {NOTHING_DUE_TARGET}"),
        ("  beyond the stack floor, CPU time (s)", r(over_stack_cpu), "reference"),
        ("  beyond the same check on an empty db (s)", r(over_small), f"<= {NOTHING_DUE_TARGET}"),
        ("  beyond the same check on an empty db, CPU time (s)", r(over_small_cpu), "reference"),
        (f"escalate-check, {label}: {due:,} due (s)", r(busy), "reference"),
        (f"  {escalated:,} steps and {pages:,} pages: per due incident (ms)", r((busy - idle) / due * 1000),
         "reference"),
        ("  CPU time (s)", r(common.median(runs, "cpu")), "reference"),
        ("  peak RSS (MB)", round(max(s.rss for s in runs) / 1e6, 1), "reference"),
    ]


def main() -> None:
    common.prepare_environment()
    began = time.perf_counter()
    for name, value, target in run(quick="--quick" in sys.argv[1:]):
        print(f"{name:<60} {value:>10}   target: {target}")
    print(f"({time.perf_counter() - began:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
