"""Everything PostgreSQL-specific (psycopg 3): the URL (postgresql:// or
postgresql+psycopg://, the password never shown), how a write transaction takes
the one write lock (READ COMMITTED, then `pg_advisory_xact_lock` as its first
statement: a writer that waited reads what the holder committed, as under
SQLite's BEGIN IMMEDIATE), how a claim holds it shared (escalation pieces and
trigger batches, beside each other, each locking the rows it works on),
migrations under a second advisory lock, what the server's errors mean, and
the SQL it writes its own way. Imported only for a PostgreSQL location, so
SQLite commands never load psycopg.

No state outside the database: several machines share one server, and high
availability (replicas, failover) is the server's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..errors import DatabaseError, UsageError

# Advisory lock keys (any bigint; these spell "pagerWRT" and "pagerMIG" in ASCII)
WRITE_LOCK = 0x7061676572575254
MIGRATION_LOCK = 0x706167657241494D
# The first of the two int keys of a (service, dedup key) lock ("pgK" and 1); the
# second is a hash of the pair. Two-int keys never meet the bigint ones above.
KEY_LOCKS = 0x70674B01
# Each in the order of the array, one statement for a whole batch's keys
_LOCK_KEYS = sa.text(f"SELECT count(pg_advisory_xact_lock({KEY_LOCKS}, h)) "
                     "FROM unnest(CAST(:hashes AS integer[])) AS h")

# SQLSTATEs a write transaction is retried for (never shown to the user)
RETRIED = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_CONNECT_TIMEOUT = 10  # seconds


class PostgreSQL:
    name = "postgresql"
    raw_bulk = False  # rows go through SQLAlchemy (instants as timestamptz)
    claims_share = True  # claims hold the write lock shared; rows locked FOR UPDATE keep them apart

    def url(self, location: str) -> tuple[str, str]:
        try:
            url = sa.engine.make_url(location)
        except sa.exc.ArgumentError:
            raise UsageError(f"{location!r} is not a database URL") from None
        if url.drivername not in ("postgresql", "postgresql+psycopg"):
            raise UsageError(f"unsupported PostgreSQL driver {url.drivername!r}",
                             hint="use postgresql://USER@HOST/DB (psycopg 3)")
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise UsageError("PostgreSQL needs psycopg 3, which is not installed",
                             hint="pip install 'pager-cli[postgresql]'") from None
        url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False), shown(url)

    def engine_options(self, busy: float) -> dict[str, Any]:
        # a writer waits for the write lock at most `busy` seconds, as SQLite's busy_timeout
        options = f"-c lock_timeout={max(1, int(busy * 1000))} -c timezone=UTC"
        return {
            "isolation_level": "READ COMMITTED",
            "connect_args": {"connect_timeout": _CONNECT_TIMEOUT, "application_name": "pager", "options": options},
        }

    def on_connect(self, dbapi_conn: Any, busy: float) -> None:
        pass  # all set by the connection's options

    def begin(self, conn: Connection, mode: str) -> None:
        if mode == "write":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        elif mode == "claim":  # beside other claims (each on the rows it locked), never beside a write
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({WRITE_LOCK})")

    def upsert(self, table: sa.Table) -> Any:
        from sqlalchemy.dialects.postgresql import insert

        return insert(table)

    def translate(self, error: exc.DBAPIError, location: str) -> DatabaseError:
        return translate(error, location)

    def lock_for_migration(self, conn: Connection) -> None:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")

    def lock_keys(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
        # sorted by the lock's own key: two pairs that share a hash are one lock
        hashes = sorted({key_hash(service, key) for service, key in keys})
        if hashes:
            conn.execute(_LOCK_KEYS, {"hashes": hashes})

    def mirrored_version(self, conn: Connection) -> int | None:
        return None  # `pager_migration` is the one record

    def mirror_version(self, conn: Connection, version: int) -> None:
        pass

    def joined(self, values: ColumnElement, separator: str) -> ColumnElement:
        return sa.func.string_agg(sa.cast(values, sa.Text), sa.literal(separator))

    def retryable(self, error: BaseException) -> bool:
        return _sqlstate(error) in RETRIED


DIALECT = PostgreSQL()


def key_hash(service: str, key: str) -> int:
    """A (service, dedup key) as the int4 second key of its advisory lock."""
    text = f"{service}\x00{key}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=4).digest(), "big", signed=True)


def shown(url: sa.engine.URL) -> str:
    """The URL as messages show it: postgresql://USER@HOST[:PORT]/DB, no password, no driver."""
    plain = sa.engine.URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                                 database=url.database)
    return plain.render_as_string(hide_password=True)


def _sqlstate(error: BaseException) -> str | None:
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlstate", None)


def translate(error: exc.DBAPIError, location: str) -> DatabaseError:
    """A one-line, actionable error for what the server (or psycopg) said."""
    orig = getattr(error, "orig", error)
    state = _sqlstate(error) or ""
    text = " ".join(str(orig).split())
    # psycopg repeats the connection parameters: never the password (it is not in them), keep the gist
    if state == "55P03" or "lock timeout" in text.lower():
        return DatabaseError(f"database {location} is locked: another pager process held it longer than the busy timeout",
                             hint="retry, or raise PAGER_BUSY_TIMEOUT (seconds)")
    if state in RETRIED:
        return DatabaseError(f"database {location}: concurrent updates kept conflicting ({state})", hint="retry")
    if isinstance(error, exc.OperationalError) and not state or state.startswith("08") or state in (
            "28P01", "28000", "3D000", "57P03"):
        return DatabaseError(f"cannot connect to {location}: {_gist(text)}",
                             hint="check the server, the user, the password and the database name")
    if state.startswith("42") or state == "22P02":
        return DatabaseError(f"database {location} is not a pager database, or it is damaged ({_gist(text)})",
                             hint="point --db at pager's own database")
    if state == "25006":
        return DatabaseError(f"database {location} is read-only ({_gist(text)})",
                             hint="point --db at the primary server")
    return DatabaseError(f"database {location}: {_gist(text)}")


def _gist(text: str) -> str:
    """psycopg's message without its 'connection to server at … failed:' preamble."""
    for marker in ("failed: ", "FATAL:  ", "FATAL: "):
        if marker in text:
            text = text.rsplit(marker, 1)[1]
    text = text.strip()
    return text if len(text) <= 160 else text[:157] + "..."
