"""The one module that makes engines: where the database lives (--db, then
PAGER_DB, then the per-user data dir), the engine of that location, the
`Database` whose `write()` and `read()` sessions each hold one transaction,
the one place where database trouble becomes a message, and migration on open.

What differs between engines (connection set-up, how a write transaction
takes its lock, what an error means, the schema version mirror) is the
`Dialect` of the location (`dialect.py`; `sqlite.py` is the one there is), so a
PostgreSQL URL is a new dialect module, not a rewrite here.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from ..errors import DatabaseError, StoredValueError, UsageError
from . import dialect as dialects
from .dialect import Dialect, damaged
from .migrations import LATEST, MIGRATIONS, applied, migration_table

T = TypeVar("T")
DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a writer waits for the lock; env PAGER_BUSY_TIMEOUT


def default_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("pager", appauthor=False)) / "pager.db"


def resolve_location(option: str | None) -> str:
    """The database location: --db, then PAGER_DB, then the per-user data dir."""
    value = option or os.environ.get("PAGER_DB") or str(default_path())
    return value


def _busy_timeout() -> float:
    raw = os.environ.get("PAGER_BUSY_TIMEOUT")
    if not raw:
        return DEFAULT_BUSY_TIMEOUT
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise UsageError(f"PAGER_BUSY_TIMEOUT must be a number of seconds, not {raw!r}") from None


def _json_from_database(text: str):  # noqa: ANN202
    try:
        return json.loads(text)
    except ValueError:
        raise StoredValueError("a stored JSON value is not JSON") from None


def _from_the_database(error: Exception) -> bool:
    """True for a ValueError raised while the engine's answer was turned into
    Python, by SQLAlchemy (a stored date-time that is not one) or by the driver
    itself (sqlite3: text or an error message that is not UTF-8): the database
    is bad, not our code."""
    tb = error.__traceback__
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    module = str(last.tb_frame.f_globals.get("__name__", "")) if last is not None else ""
    return module.startswith("sqlalchemy.") or module in _OURS


_OURS = frozenset({__name__, "pager_cli.store.sqlite", "pager_cli.store.postgresql", "pager_cli.store.bulk"})  # where the driver is called


@contextmanager
def _translated(dialect: Dialect, location: str) -> Iterator[None]:
    """What the engine or a stored value raised, as one DatabaseError: the one
    place where database trouble becomes a message."""
    try:
        yield
    except exc.DBAPIError as e:
        raise dialect.translate(e, location) from None
    except ValueError as e:
        if not isinstance(e, StoredValueError) and not _from_the_database(e):
            raise
        raise damaged(location, f"a stored value cannot be read ({_short(e)})") from None


class _Retry(Exception):
    def __init__(self, error: exc.DBAPIError):
        self.error = error


@contextmanager
def _translated_retryable(dialect: Dialect) -> Iterator[None]:
    try:
        yield
    except exc.DBAPIError as e:
        if dialect.retryable(e):
            raise _Retry(e) from None
        raise


def _retrying(db: Database, once: Callable[[], T], attempts: int) -> T:
    """`once()` (one transaction, committed), with what the engine raised
    translated; run again from the start, after a short sleep, when the engine
    gave up on it for a conflict it says may pass, up to `attempts` times."""
    for attempt in range(attempts):
        try:
            with _translated(db.dialect, db.location), _translated_retryable(db.dialect):
                return once()
        except _Retry as retry:
            if attempt == attempts - 1:
                raise db.dialect.translate(retry.error, db.location) from None
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def _short(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 80 else text[:77] + "..."


def _make_engine(dialect: Dialect, url: str, busy: float) -> Engine:
    engine = sa.create_engine(url, json_deserializer=_json_from_database, **dialect.engine_options(busy))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dialect.on_connect(dbapi_conn, busy)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        dialect.begin(conn, conn.get_execution_options().get("pager_mode", "write"))

    return engine


class Database:
    """An open pager database. `write()` and `read()` give a Session in one
    transaction; writes take the write lock as they begin (SQLite: BEGIN
    IMMEDIATE), so a read-then-write never deadlocks."""

    def __init__(self, engine: Engine, location: str, dialect: Dialect | None = None):
        self.engine = engine
        self.location = location
        self.dialect = dialect or dialects.of(engine)

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._session("write") as session:
            yield session

    @contextmanager
    def claim(self) -> Iterator[Session]:
        """A write transaction that may run beside other claims, never beside a
        `write()`: for work that locks the rows it touches (several escalation
        checkers, dividing due incidents `FOR UPDATE SKIP LOCKED`; trigger
        batches, each locking the incidents of its keys). On SQLite it is a
        `write()`; on PostgreSQL it holds the write lock shared."""
        with self._session("claim") as session:
            yield session

    def retried(self, work: Callable[[Session], T], mode: str = "write", attempts: int = 5) -> T:
        """`work(session)` in one transaction of `mode`, committed; run again
        from the start when the engine gave up on it for a conflict it says
        may pass (PostgreSQL: a serialization failure or a deadlock), so that
        the user never sees one. `work` must be safe to run again (it reads
        what it needs inside the transaction)."""
        def once() -> T:
            with self._bare_session(mode) as session:
                return work(session)
        return _retrying(self, once, attempts)

    def hold(self) -> Held:
        """A connection kept for many write transactions (`Held`)."""
        return Held(self)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session("read") as session:
            yield session

    @contextmanager
    def _session(self, mode: str) -> Iterator[Session]:
        with _translated(self.dialect, self.location), self._bare_session(mode) as session:
            yield session

    @contextmanager
    def _bare_session(self, mode: str) -> Iterator[Session]:
        """A Session in one transaction of `mode`, committed at the end; what
        the engine raises is left as it is."""
        with self.engine.connect() as conn:
            conn.execution_options(pager_mode=mode)
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.commit()

    @contextmanager
    def _connection(self, mode: str) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(pager_mode=mode)
            with conn.begin():
                yield conn

    def analyze(self) -> None:
        """Refresh the query planner's statistics, on an engine that keeps
        them by hand (SQLite; a no-op elsewhere). For long-running processes."""
        analyze = getattr(self.dialect, "analyze", None)
        if analyze is not None:
            with _translated(self.dialect, self.location), self._connection("write") as conn:
                analyze(conn)

    def schema_version(self) -> int:
        """How many of MIGRATIONS are applied, as `pager_migration` records them."""
        with _translated(self.dialect, self.location), self._connection("read") as conn:
            return len(applied(conn))

    def close(self) -> None:
        self.engine.dispose()



class Transaction:
    """What the work of a write transaction on a held connection is given: the
    transaction's Connection, and a Session on it made when first asked for
    (a batch of repeated alerts needs none: Core statements only)."""

    __slots__ = ("connection", "_session")

    def __init__(self, connection: Connection, session: Session | None = None):
        self.connection = connection
        self._session = session

    @property
    def session(self) -> Session:
        if self._session is None:  # in the connection's transaction, which it never commits
            self._session = Session(bind=self.connection, expire_on_commit=False, join_transaction_mode="rollback_only")
        return self._session

    def flush(self) -> None:
        if self._session is not None:
            self._session.flush()

    def expire_all(self) -> None:
        if self._session is not None:
            self._session.expire_all()


class Held:
    """A connection kept open for many write transactions, used by one thread
    at a time (`serve`'s writer: a transaction per batch). Each transaction is
    begun and committed on it as `Database.retried` does, without a checkout
    from the pool or a Session per transaction; after any failure the
    connection is given back, and the next transaction takes a fresh one."""

    def __init__(self, db: Database):
        self.db = db
        self._conn: Connection | None = None

    def retried(self, work: Callable[[Transaction], T], mode: str = "write", attempts: int = 5) -> T:
        """`work(transaction)` in one transaction of `mode`, committed; run again
        from the start on a conflict the engine says may pass, as `Database.retried`."""
        return _retrying(self.db, lambda: self._once(work, mode), attempts)

    def _once(self, work: Callable[[Transaction], T], mode: str) -> T:
        if self._conn is None:
            self._conn = self.db.engine.connect()
        conn = self._conn
        try:
            conn.execution_options(pager_mode=mode)
            conn.begin()  # SQLite: BEGIN IMMEDIATE; PostgreSQL: the write lock
            transaction = Transaction(conn)
            result = work(transaction)
            if transaction._session is not None:
                transaction._session.commit()  # its flush; the connection's transaction is ours
                transaction._session.close()
            conn.commit()
            return result
        except BaseException:
            self.close()
            raise

    def analyze(self) -> None:
        """`Database.analyze` on this connection. SQLite's planner keeps the
        statistics a connection loaded (at its first statement, or its own
        ANALYZE): another connection's refresh leaves a held one planning with
        the old ones, those of an empty table when it was opened with the server."""
        analyze = getattr(self.db.dialect, "analyze", None)
        if analyze is not None:
            self.retried(lambda tx: analyze(tx.connection))

    def close(self) -> None:
        """Give the connection back (what is not committed is rolled back)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _newer(location: str, what: str) -> DatabaseError:
    return DatabaseError(f"database {location} {what}, newer than this pager ({LATEST})",
                         hint="upgrade pager; the database was left untouched")


def _to_apply(location: str, done: list[str]) -> int:
    """How many migrations `done` (the names in `pager_migration`) counts, all
    of them known and in order; a name this pager does not know is a newer
    database's."""
    names = [name for name, _ in MIGRATIONS]
    unknown = [name for name in done if name not in names]
    if unknown:
        raise _newer(location, f"has migration {', '.join(sorted(unknown))}")
    count = len(done)
    if set(done) != set(names[:count]):
        missing = [name for name in names[:count] if name not in done]
        raise damaged(location, f"migration {missing[0]} is not recorded, yet later ones are")
    return count


def _migrate(db: Database, upto: int = LATEST) -> None:
    """Apply the migrations `pager_migration` does not record, up to the
    `upto`-th, in one write transaction. On an engine that mirrors the count
    (SQLite's user_version), a mirror at `upto` or beyond spares reading the
    table: the start-up of every command."""
    location, dialect = db.location, db.dialect
    with db._connection("read") as conn:
        mirror = dialect.mirrored_version(conn)
        if mirror is not None and mirror > LATEST:
            raise _newer(location, f"has schema version {mirror}")
        if mirror is not None and mirror >= upto:
            return
        count = _to_apply(location, applied(conn))
        if count >= upto and mirror in (None, count):
            return
    with db._connection("write") as conn:
        dialect.lock_for_migration(conn)
        count = _to_apply(location, applied(conn))  # again, under the lock
        if count < upto:
            migration_table.create(conn, checkfirst=True)
            for name, step in MIGRATIONS[count:upto]:
                step(conn)
                conn.execute(migration_table.insert().values(name=name, applied_at=datetime.now(timezone.utc).isoformat()))
        dialect.mirror_version(conn, max(count, upto))


def open_database(option: str | None = None, *, migrate_to: int = LATEST) -> Database:
    """Open (creating and migrating as needed) the database at --db / PAGER_DB /
    the default path."""
    location = resolve_location(option)
    dialect = dialects.for_location(location)
    url, shown = dialect.url(location)
    db = Database(_make_engine(dialect, url, _busy_timeout()), shown, dialect)
    try:
        with _translated(dialect, shown):
            _migrate(db, migrate_to)
    except BaseException:
        db.close()
        raise
    return db
