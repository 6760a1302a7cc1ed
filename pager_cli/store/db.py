"""The one module that makes engines: where the database lives, how every
connection is set up (WAL, busy_timeout, foreign keys), how write transactions
begin (IMMEDIATE), and schema migration on open.

A PostgreSQL URL will be a new branch in `open_database`, not a rewrite: queries
elsewhere use SQLAlchemy constructs only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from ..errors import DatabaseError, UsageError
from .migrations import LATEST, MIGRATIONS

DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a writer waits for the lock; env PAGER_BUSY_TIMEOUT


def default_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("pager", appauthor=False)) / "pager.db"


def resolve_location(option: str | None) -> str:
    """The database location: --db, then PAGER_DB, then the per-user data dir."""
    value = option or os.environ.get("PAGER_DB") or str(default_path())
    return value


def _sqlite_path(location: str) -> Path | None:
    """The file of a SQLite location (a path or a sqlite:/// URL); None for :memory:."""
    if "://" not in location:
        return Path(location).expanduser()
    url = sa.engine.make_url(location)
    if url.get_backend_name() != "sqlite":
        raise UsageError(
            f"unsupported database URL {url.render_as_string(hide_password=True)!r}",
            hint="this version stores everything in one SQLite file: pass a path",
        )
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def _create_private_file(path: Path) -> None:
    """Create the database file with mode 0600 (and its folder 0700) if missing."""
    if path.exists():
        if path.is_dir():
            raise DatabaseError(f"database path {str(path)!r} is a directory")
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except FileExistsError:  # another process created it first
            pass
    except OSError as e:
        raise DatabaseError(
            f"cannot create database {str(path)!r}: {e.strerror or e}",
            hint="check that the folder is writable, or pass --db / PAGER_DB",
        ) from None


def _busy_timeout() -> float:
    raw = os.environ.get("PAGER_BUSY_TIMEOUT")
    if not raw:
        return DEFAULT_BUSY_TIMEOUT
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise UsageError(f"PAGER_BUSY_TIMEOUT must be a number of seconds, not {raw!r}") from None


def _make_engine(url: str, busy: float) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": busy, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except Exception:  # a read-only file still reads; writes will say why
            pass
        cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("pager_mode", "write")
        conn.exec_driver_sql("BEGIN" if mode == "read" else "BEGIN IMMEDIATE")

    return engine


def translate(error: exc.DBAPIError, location: str) -> DatabaseError:
    """A one-line, actionable error for what SQLite said."""
    text = str(getattr(error, "orig", error)).strip()
    low = text.lower()
    if "locked" in low or "busy" in low:
        return DatabaseError(
            f"database {location} is locked: another pager process held it longer than the busy timeout",
            hint="retry, or raise PAGER_BUSY_TIMEOUT (seconds)",
        )
    if "unable to open" in low and _read_only(location):
        low = "readonly"
    if "readonly" in low or "read-only" in low:
        return DatabaseError(f"database {location} is read-only", hint="check the file's permissions and its folder's")
    if "unable to open" in low:
        return DatabaseError(f"cannot open database {location}", hint="check that the path and its folder exist and are accessible")
    if "disk" in low and ("full" in low or "i/o" in low):
        return DatabaseError(f"database {location}: {text}", hint="free some disk space; nothing was half-written")
    if "not a database" in low or "malformed" in low:
        return DatabaseError(f"{location} is not a pager database ({text})")
    return DatabaseError(f"database {location}: {text}")


def _read_only(location: str) -> bool:
    path = Path(location)
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


class Database:
    """An open pager database. `write()` and `read()` give a Session in one
    transaction; writes begin IMMEDIATE, so a read-then-write never deadlocks."""

    def __init__(self, engine: Engine, location: str):
        self.engine = engine
        self.location = location

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._session("write") as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session("read") as session:
            yield session

    @contextmanager
    def _session(self, mode: str) -> Iterator[Session]:
        try:
            with self.engine.connect() as conn:
                conn.execution_options(pager_mode=mode)
                with Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                    session.commit()
        except exc.DBAPIError as e:
            raise translate(e, self.location) from None

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            conn.execution_options(pager_mode="read")  # a reader never waits for the write lock
            return conn.exec_driver_sql("PRAGMA user_version").scalar_one()

    def close(self) -> None:
        self.engine.dispose()


def _migrate(db: Database, upto: int = LATEST) -> None:
    version = db.schema_version()
    if version > LATEST:
        raise DatabaseError(
            f"database {db.location} has schema version {version}, newer than this pager ({LATEST})",
            hint="upgrade pager; the database was left untouched",
        )
    if version >= upto:
        return
    with db.engine.connect() as conn:
        conn.execution_options(pager_mode="write")
        with conn.begin():
            version = conn.exec_driver_sql("PRAGMA user_version").scalar_one()  # again, under the lock
            if version > LATEST:
                raise DatabaseError(f"database {db.location} is newer than this pager", hint="upgrade pager")
            conn.exec_driver_sql(
                "CREATE TABLE IF NOT EXISTS pager_migration (name VARCHAR PRIMARY KEY, applied_at VARCHAR NOT NULL)"
            )
            for name, step in MIGRATIONS[version:upto]:
                step(conn)
                conn.execute(
                    sa.text("INSERT INTO pager_migration (name, applied_at) VALUES (:n, :t)"),
                    {"n": name, "t": datetime.now(timezone.utc).isoformat()},
                )
            conn.exec_driver_sql(f"PRAGMA user_version = {upto}")


def open_database(option: str | None = None, *, migrate_to: int = LATEST) -> Database:
    """Open (creating and migrating as needed) the database at --db / PAGER_DB /
    the default path."""
    location = resolve_location(option)
    path = _sqlite_path(location)
    if path is not None:
        _create_private_file(path)
        url = f"sqlite:///{path}"
        shown = str(path)
    else:
        url, shown = "sqlite://", ":memory:"
    db = Database(_make_engine(url, _busy_timeout()), shown)
    try:
        _migrate(db, migrate_to)
    except exc.DBAPIError as e:
        db.close()
        raise translate(e, shown) from None
    except BaseException:
        db.close()
        raise
    return db
