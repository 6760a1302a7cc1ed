"""Benchmark: database bytes per incident.

Triggers N alerts with N distinct dedup keys on the `payments` service of
schedules.example.yaml through the real path, `pager trigger -` (or, where that
command is unavailable, `pager_cli.incidents.trigger` in one process), so each
incident gets what a real one gets: its row, one alert, its timeline
(`triggered`, `notified`) and one page, with every index. Then VACUUM, and
(file size - size of the same database before the alerts) / N. SQLite's
`dbstat` splits the figure by table, each with its indexes.

    python bench/bench_dbsize.py            # N = 5,000
    python bench/bench_dbsize.py --quick    # N = 1,000
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

FULL, QUICK = 5_000, 1_000


def alerts(n: int) -> Path:
    """n NDJSON alerts, each with its own dedup key (cached)."""
    path = common.CACHE / f"dbsize-{n}-gen1.ndjson"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w") as out:
        for i in range(n):
            host = f"db-{i:06d}.eu-west-1"
            out.write(json.dumps({
                "service": "payments", "severity": ("critical", "error", "warning")[i % 3],
                "title": f"Replication lag above 30s on {host}", "dedup_key": f"replication-lag:{host}",
                "details": {"host": host, "lag_seconds": 30 + i % 90, "region": "eu-west-1"},
            }) + "\n")
    os.replace(partial, path)
    return path


def _trigger_in_process(db: Path, data: Path) -> str:
    """The fallback: incidents.trigger for each alert, 500 to a transaction."""
    from pager_cli.incidents import lifecycle as incidents
    from pager_cli.store.db import open_database
    from pager_cli.times import parse_iso

    now = parse_iso(common.NOW)
    records = [json.loads(line) for line in data.read_text().splitlines()]
    database = open_database(str(db))
    try:
        for first in range(0, len(records), 500):
            with database.write() as session:
                for r in records[first:first + 500]:
                    incidents.trigger(session, now, r["service"], r["title"], r["severity"], r["dedup_key"],
                                      r["details"])
    finally:
        database.close()
    return "pager_cli.incidents.trigger, in one process"


def _trigger(db: Path, data: Path) -> str:
    try:
        common.run_once(common.pager(db, "trigger", "-"), stdin=data)
        return "pager trigger -"
    except RuntimeError as e:
        print(f"  pager trigger - failed ({str(e)[-200:]}); falling back to incidents.trigger", file=sys.stderr)
        common.copy_database(common.applied_database(), db)
        return _trigger_in_process(db, data)


def _by_table(db: Path) -> dict[str, int]:
    """Bytes per table, its indexes included (SQLite's dbstat)."""
    conn = sqlite3.connect(db)
    try:
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        sizes: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            sizes[table] = sizes.get(table, 0) + size
        return sizes
    finally:
        conn.close()


def _counts(db: Path) -> dict[str, tuple[int, int]]:
    """table → (rows, indexes) for the tables an incident fills."""
    conn = sqlite3.connect(db)
    try:
        return {t: (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0],
                    conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                                 (t,)).fetchone()[0])
                for t in ("incident", "timeline", "page")}
    finally:
        conn.close()


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    n = QUICK if quick else FULL
    data = alerts(n)
    applied = common.applied_database(common.stderr_log)
    empty = common.CACHE / f"dbsize-empty-{os.getpid()}.db"
    db = common.CACHE / f"dbsize-run-{os.getpid()}.db"
    try:
        before = common.vacuumed_size(common.copy_database(applied, empty))
        before_tables = _by_table(empty)
        common.copy_database(applied, db)
        how = _trigger(db, data)
        counts = _counts(db)
        assert counts["incident"][0] == n, counts
        after = common.vacuumed_size(db)
        tables = _by_table(db)
    finally:
        common.remove_database(empty)
        common.remove_database(db)
    per = lambda table: round((tables.get(table, 0) - before_tables.get(table, 0)) / n)  # noqa: E731
    line = round(data.stat().st_size / n)
    def part(table: str, what: str) -> tuple[str, float, str]:
        indexes = counts[table][1]
        return (f"  {table}: {counts[table][0] / n:g} {what} + {indexes} index{'es' if indexes != 1 else ''} (B)",
                per(table), "reference")

    return [
        (f"db size: bytes per incident, {n:,} via {how} (B)", round((after - before) / n), "reference"),
        part("incident", "row"),
        part("timeline", "entries"),
        part("page", "page rows"),
        ("  the alert as NDJSON, for scale (B)", line, "reference"),
        (f"  database file / {n:,} incidents (B)", round(after / n), "reference"),
    ]


def main() -> None:
    common.prepare_environment()
    for name, value, target in run(quick="--quick" in sys.argv[1:]):
        print(f"{name:<60} {value:>10}   target: {target}")


if __name__ == "__main__":
    main()
