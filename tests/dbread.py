"""Read-only looks into a pager database file with plain sqlite3, for tests:
pages, timeline entries, incidents and deliveries as plain tuples and dicts.

Every helper takes the database file (a path, or an open `Database`, whose
location is used), opens it read-only for the one query and closes it again,
so a test sees exactly what another process would see after a commit.
Time columns (`at`, `*_at`) come back as stored ("2026-11-23 10:05:00.000000")
unless `fmt` (a strftime format such as "%H:%M") is given.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path


def _path(db) -> str:  # noqa: ANN001 - a path or an open Database
    return str(getattr(db, "location", db))


def connect(db) -> sqlite3.Connection:  # noqa: ANN001
    """A read-only connection (never creates the file), waiting for writers."""
    con = sqlite3.connect(f"file:{Path(_path(db)).resolve()}?mode=ro", uri=True, timeout=30)
    con.execute("PRAGMA busy_timeout=30000")
    return con


def rows(db, sql: str, params: Sequence = ()) -> list[tuple]:  # noqa: ANN001
    con = connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def dicts(db, sql: str, params: Sequence = ()) -> list[dict]:  # noqa: ANN001
    con = connect(db)
    try:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()


def when(text: str | None, fmt: str) -> str | None:
    """A stored time written with `fmt`."""
    return None if text is None else datetime.fromisoformat(text).strftime(fmt)


def _select(db, table: str, columns: Sequence[str], where: dict, fmt: str | None) -> list[tuple]:  # noqa: ANN001
    clause = " AND ".join(f"{k} = ?" for k in where) or "1"
    found = rows(db, f"SELECT {', '.join(columns)} FROM {table} WHERE {clause} ORDER BY id", tuple(where.values()))
    if fmt is None:
        return found
    timed = [i for i, c in enumerate(columns) if c == "at" or c.endswith("_at")]
    return [tuple(when(v, fmt) if i in timed else v for i, v in enumerate(row)) for row in found]


def pages(db, *columns: str, fmt: str | None = None, **where) -> list[tuple]:  # noqa: ANN001
    """The console pages in order: (incident_id, user, level, step) unless other columns are named."""
    return _select(db, "page", columns or ("incident_id", "user", "level", "step"), where, fmt)


def timeline(db, incident: int, *columns: str, fmt: str | None = None) -> list[tuple]:  # noqa: ANN001
    """The incident's timeline in order: (kind, text) unless other columns are named."""
    return _select(db, "timeline", columns or ("kind", "text"), {"incident_id": incident}, fmt)


def kinds(db, incident: int) -> list[str]:  # noqa: ANN001
    return [kind for (kind,) in timeline(db, incident, "kind")]


class Record(dict):
    """A row as a dict whose columns also read as attributes (`row.status`)."""

    def __getattr__(self, name: str):  # noqa: ANN204
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


JSON_COLUMNS = ("assignees", "details")


def incidents(db, **where) -> list[Record]:  # noqa: ANN001
    """Every incident row by id, its JSON columns (assignees, details) decoded."""
    clause = " AND ".join(f"{k} = ?" for k in where) or "1"
    found = dicts(db, f"SELECT * FROM incident WHERE {clause} ORDER BY id", tuple(where.values()))
    return [Record({k: json.loads(v) if k in JSON_COLUMNS and v is not None else v for k, v in row.items()})
            for row in found]


def deliveries(db, *columns: str, fmt: str | None = None, **where) -> list[tuple]:  # noqa: ANN001
    """The outbox in order: (user, contact, event, state) unless other columns are named."""
    return _select(db, "delivery", columns or ("user", "contact", "event", "state"), where, fmt)


def counts(db) -> tuple[int, int, int]:  # noqa: ANN001
    """(incidents, timeline entries, pages)."""
    return rows(db, "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM timeline), "
                    "(SELECT count(*) FROM page)")[0]


def alert_states(db, incident: int) -> list[tuple[str, str]]:  # noqa: ANN001
    """The alert keys of a `dedup: service` incident in order: (alert_key, status)."""
    return _select(db, "incident_alert", ("alert_key", "status"), {"incident_id": incident}, None)
