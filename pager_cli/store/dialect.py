"""The seam between the engine-neutral store (`db`, `migrations`, `bulk`) and
one database engine. Everything an engine does its own way is a member of
`Dialect`; `sqlite.DIALECT` and `postgresql.DIALECT` are
the two there are, named in `_BY_BACKEND`.

A location (--db / PAGER_DB) names its engine: a plain path is SQLite, a URL
by its scheme.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import DatabaseError, UsageError

if TYPE_CHECKING:
    from sqlalchemy import exc
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql import ColumnElement, Insert

# backend name (of a URL, or of a connection's dialect) → module holding its DIALECT
_BY_BACKEND = {"sqlite": "pager_cli.store.sqlite", "postgresql": "pager_cli.store.postgresql"}


class Dialect(Protocol):
    name: str
    # whether `bulk` may hand compiled SQL and rows in stored form to the driver itself
    raw_bulk: bool
    # whether `claim` transactions run side by side (each locks the rows it
    # works on: FOR UPDATE, SKIP LOCKED where others may take the next ones)
    # and a waiting writer is queued fairly, needing no pause
    claims_share: bool

    def url(self, location: str) -> tuple[str, str]:
        """(SQLAlchemy URL, the location as messages show it) for --db / PAGER_DB,
        preparing what the engine needs first (SQLite: the 0600 file)."""

    def engine_options(self, busy: float) -> dict[str, Any]:
        """Keyword arguments for `create_engine`; `busy`: seconds a writer waits for the lock."""

    def on_connect(self, dbapi_conn: Any, busy: float) -> None:
        """Set up each new DBAPI connection (SQLite: WAL, busy_timeout, foreign keys)."""

    def begin(self, conn: Connection, mode: str) -> None:
        """Begin a transaction: `mode` "write" takes the write lock at once, "read"
        does not, "claim" takes it shared with other claims (where the engine
        has row locks to keep them apart; else as "write")."""

    def upsert(self, table: Table) -> Insert:
        """An INSERT into `table` that takes `on_conflict_do_update` (the
        engine's own construct; both compile ON CONFLICT … DO UPDATE … RETURNING)."""

    def translate(self, error: exc.DBAPIError, location: str) -> DatabaseError:
        """A one-line, actionable error for what the engine said."""

    def retryable(self, error: exc.DBAPIError) -> bool:
        """Whether the engine gave up on the transaction for a conflict that may
        pass if it runs again (PostgreSQL: serialization failure, deadlock)."""

    def lock_for_migration(self, conn: Connection) -> None:
        """Inside a write transaction: hold off every other migrating process until it ends."""

    def lock_keys(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
        """Inside a claim: hold each (service, dedup key) until the transaction
        ends, taken in one order every transaction shares, so that two claims
        that open or touch the same keys queue on them instead of deadlocking
        (a no-op where a claim runs alone)."""

    def mirrored_version(self, conn: Connection) -> int | None:
        """The count of applied migrations as the engine mirrors it cheaply, or
        None where nothing mirrors `pager_migration`."""

    def mirror_version(self, conn: Connection, version: int) -> None:
        """Record `version` in that mirror (inside the migrating transaction)."""

    def joined(self, values: ColumnElement, separator: str) -> ColumnElement:
        """Aggregate: the non-NULL values of a column as one text, joined by `separator`."""


def for_location(location: str) -> Dialect:
    """The dialect of a --db / PAGER_DB location; a URL of an engine this
    version does not speak is a usage error."""
    if "://" not in location:
        return _load("sqlite")
    import sqlalchemy as sa

    try:
        url = sa.engine.make_url(location)
    except sa.exc.ArgumentError:
        raise UsageError(f"{location!r} is not a database URL", hint="pass a path, or a sqlite:/// URL") from None
    if url.get_backend_name() not in _BY_BACKEND:
        raise UsageError(
            f"unsupported database URL {url.render_as_string(hide_password=True)!r}",
            hint="pass a path (SQLite) or a postgresql:// URL",
        )
    return _load(url.get_backend_name())


def of(conn: Connection) -> Dialect:
    """The dialect of an open connection (for the SQL that differs between engines)."""
    name = conn.dialect.name
    found = _LOADED.get(name)
    if found is None:
        if name not in _BY_BACKEND:
            raise UsageError(f"the {name} engine is not supported yet")
        found = _LOADED[name] = _load(name)
    return found


_LOADED: dict[str, Dialect] = {}  # `of`'s answers: it is asked for every statement of a batch


def _load(backend: str) -> Dialect:
    return import_module(_BY_BACKEND[backend]).DIALECT


def damaged(location: str, what: str) -> DatabaseError:
    return DatabaseError(f"database {location} is damaged: {what}",
                         hint="restore it from a backup, or move it away to start afresh")
