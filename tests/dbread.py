"""Read-only looks into a pager database, on either engine, for tests:
pages, timeline entries, incidents and deliveries as plain tuples and dicts.

Every helper takes the database (a file path, a postgresql:// URL, or an open
`Database`), opens a connection for the one query and closes it again, so a
test sees exactly what another process would see after a commit. SQL is
written with `?` parameters and plain column names; on PostgreSQL the
parameters become psycopg's and every value comes back as SQLite gives it:
instants as stored there ("2026-11-23 10:05:00.000000", UTC), JSON as its text,
so that a test reads the same on both engines.
Time columns (`at`, `*_at`) come back as stored unless `fmt` (a strftime
format such as "%H:%M") is given.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path


def _path(db) -> str:  # noqa: ANN001 - a path, a URL or an open Database
    engine = getattr(db, "engine", None)
    if engine is not None and engine.dialect.name != "sqlite":
        return engine.url.render_as_string(hide_password=False)
    return str(getattr(db, "location", db))


def is_postgresql(db=None) -> bool:  # noqa: ANN001
    """Whether `db` (default: PAGER_DB) is a PostgreSQL database."""
    return _path(db if db is not None else os.environ.get("PAGER_DB", "")).startswith("postgresql")


def _pg_url(location: str) -> str:
    import sqlalchemy as sa

    url = sa.engine.make_url(location).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def connect(db):  # noqa: ANN001, ANN201
    """A read-only connection (never creates the file), waiting for writers."""
    location = _path(db)
    if location.startswith("postgresql"):
        import psycopg

        return psycopg.connect(_pg_url(location), autocommit=True, options="-c timezone=UTC")
    con = sqlite3.connect(f"file:{Path(location).resolve()}?mode=ro", uri=True, timeout=30)
    con.execute("PRAGMA busy_timeout=30000")
    return con


_JSON_TYPES = (114, 3802)  # the OIDs of json and jsonb


def _converted(cursor, found: list) -> list[tuple]:  # noqa: ANN001
    """PostgreSQL rows as SQLite gives them back (JSON columns as their text, a
    JSON string included)."""
    json_columns = {i for i, d in enumerate(cursor.description or ()) if d.type_code in _JSON_TYPES}
    return [tuple(json.dumps(v) if i in json_columns and v is not None else _as_sqlite(v) for i, v in enumerate(row))
            for row in found]


def _as_sqlite(value):  # noqa: ANN001, ANN202
    """A PostgreSQL value as SQLite gives it back."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_USER = re.compile(r"(?<![\w'\".:])user(?![\w'\":])")  # the bare column name, a reserved word on PostgreSQL


def _cursor(con, sql: str, params: Sequence):  # noqa: ANN001, ANN202
    if isinstance(con, sqlite3.Connection):
        return con.execute(sql, params)
    sql = _USER.sub('"user"', sql.replace("%", "%%").replace("?", "%s"))
    return con.execute(sql, tuple(params))


def rows(db, sql: str, params: Sequence = ()) -> list[tuple]:  # noqa: ANN001
    con = connect(db)
    try:
        cursor = _cursor(con, sql, params)
        found = cursor.fetchall()
        if isinstance(con, sqlite3.Connection):
            return found
        return _converted(cursor, found)
    finally:
        con.close()


def dicts(db, sql: str, params: Sequence = ()) -> list[dict]:  # noqa: ANN001
    con = connect(db)
    try:
        cursor = _cursor(con, sql, params)
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
        if not isinstance(con, sqlite3.Connection):
            found = _converted(cursor, found)
        return [dict(zip(names, row)) for row in found]
    finally:
        con.close()


def when(text: str | None, fmt: str) -> str | None:
    """A stored time written with `fmt`."""
    return None if text is None else datetime.fromisoformat(text).strftime(fmt)


def quoted(column: str) -> str:
    return f'"{column}"' if column == "user" else column


def _select(db, table: str, columns: Sequence[str], where: dict, fmt: str | None) -> list[tuple]:  # noqa: ANN001
    clause = " AND ".join(f"{quoted(k)} = ?" for k in where) or "1=1"
    found = rows(db, f"SELECT {', '.join(map(quoted, columns))} FROM {table} WHERE {clause} ORDER BY id",
                 tuple(where.values()))
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
    clause = " AND ".join(f"{quoted(k)} = ?" for k in where) or "1=1"
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


class _Cursor:
    def __init__(self, cursor):  # noqa: ANN001
        self.cursor = cursor
        self.rowcount = cursor.rowcount
        self.description = cursor.description

    def fetchall(self) -> list[tuple]:
        return _converted(self.cursor, self.cursor.fetchall())

    def fetchone(self) -> tuple | None:
        row = self.cursor.fetchone()
        return None if row is None else _converted(self.cursor, [row])[0]

    def __iter__(self):  # noqa: ANN204
        return iter(self.fetchall())


class _Connection:
    """A psycopg connection (autocommit) that takes sqlite3's `?` SQL and gives
    rows back as sqlite3 would."""

    def __init__(self, con):  # noqa: ANN001
        self.con = con

    def execute(self, sql: str, params: Sequence = ()) -> _Cursor:
        return _Cursor(_cursor(self.con, sql, params))

    def commit(self) -> None:
        pass

    def close(self) -> None:
        self.con.close()

    def __enter__(self):  # noqa: ANN204
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002 - as sqlite3's: the statements are already committed
        pass


def connect_rw(db):  # noqa: ANN001, ANN201
    """A writable connection, sqlite3's on SQLite, the same shape on PostgreSQL:
    for tests that plant what pager would never write (a hostile stored value)."""
    location = _path(db)
    if location.startswith("postgresql"):
        return _Connection(connect(location))
    return sqlite3.connect(location)
