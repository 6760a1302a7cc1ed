"""Everything SQLite-specific: the database file (0600, in 0700 folders),
how each connection is set up (WAL, busy_timeout, foreign keys, synchronous),
how transactions begin (IMMEDIATE for writes), what SQLite's errors mean, its
`user_version` mirror of the applied migrations, and the SQL it writes its own
way. `DIALECT` is what `dialect.for_location` hands to `db`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from ..errors import DatabaseError
from .dialect import damaged

# SQLite's primary result codes (the low byte of sqlite_errorcode)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


NEEDED = (3, 35, 0)  # RETURNING, and an upsert whose conflict target is a partial index
ANALYSIS_LIMIT = 200  # rows per index read by `analyze` (a few ms on any database)


class SQLite:
    name = "sqlite"
    raw_bulk = True  # the driver takes rows as stored (text instants): see `bulk`
    claims_share = False  # one writer: a claim is a write

    def url(self, location: str) -> tuple[str, str]:
        import sqlite3

        if sqlite3.sqlite_version_info < NEEDED:  # dedup's INSERT … ON CONFLICT … DO UPDATE … RETURNING
            raise DatabaseError(f"pager needs SQLite {'.'.join(map(str, NEEDED))} or later; this Python has "
                                f"{sqlite3.sqlite_version}", hint="use a newer Python build, or a postgresql:// URL")
        path = _path(location)
        if path is None:
            return "sqlite://", ":memory:"
        _create_private_file(path)
        return f"sqlite:///{path}", str(path)

    def engine_options(self, busy: float) -> dict[str, Any]:
        return {"connect_args": {"timeout": busy, "check_same_thread": False}}

    def on_connect(self, dbapi_conn: Any, busy: float) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, in `begin`
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except Exception:  # a read-only file still reads; writes will say why
            pass
        cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    def begin(self, conn: Connection, mode: str) -> None:
        # A read-then-write in a deferred transaction fails with "database is
        # locked" under concurrency, whatever the timeout: writes lock at once.
        # Sent on the driver's connection (SQLAlchemy's execution of it cost
        # more than the statement, at every transaction); a driver error is
        # raised as SQLAlchemy raises one, so it is translated as any other.
        sql = "BEGIN" if mode == "read" else "BEGIN IMMEDIATE"
        dbapi = conn.dialect.loaded_dbapi
        try:
            conn.connection.dbapi_connection.execute(sql)
        except dbapi.Error as e:
            raise exc.DBAPIError.instance(sql, (), e, dbapi.Error, dialect=conn.dialect) from e

    def upsert(self, table: sa.Table) -> Any:
        from sqlalchemy.dialects.sqlite import insert

        return insert(table)

    def analyze(self, conn: Connection) -> None:
        """Refresh the planner's statistics (sqlite_stat1), reading at most
        ANALYSIS_LIMIT rows per index. Without them SQLite's planner guesses,
        and takes the (service, status) index to find a few open keys among
        thousands of open incidents (20x slower than the partial key index)."""
        conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        conn.exec_driver_sql("ANALYZE")

    def translate(self, error: exc.DBAPIError, location: str) -> DatabaseError:
        return translate(error, location)

    def retryable(self, error: exc.DBAPIError) -> bool:
        return False  # one writer at a time: a busy database waits (busy_timeout), then is an error

    def lock_for_migration(self, conn: Connection) -> None:
        pass  # BEGIN IMMEDIATE took the one write lock there is

    def lock_keys(self, conn: Connection, keys: Iterable[tuple[str, str]]) -> None:
        pass  # a claim is a write: nothing runs beside it

    def mirrored_version(self, conn: Connection) -> int | None:
        return conn.exec_driver_sql("PRAGMA user_version").scalar_one()

    def mirror_version(self, conn: Connection, version: int) -> None:
        conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")

    def joined(self, values: ColumnElement, separator: str) -> ColumnElement:
        return sa.func.group_concat(values, sa.literal_column(f"'{separator}'"))


DIALECT = SQLite()


# -- the file ------------------------------------------------------------------------

def _path(location: str) -> Path | None:
    """The file of a SQLite location (a path or a sqlite:/// URL); None for :memory:."""
    if "://" not in location:
        return Path(location).expanduser()
    url = sa.engine.make_url(location)
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser()


def _create_private_file(path: Path) -> None:
    """Check that the database path is a readable regular file, or create it:
    mode 0600, in folders of mode 0700 (each one pager creates). A dangling
    symlink is followed: the file it names is created, 0600 too."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # to be created (or said why not, below)
        info = None
    except OSError as e:  # a folder on the way that cannot be searched, a symlink loop
        raise DatabaseError(f"cannot open database {str(path)!r}: {e.strerror or e}",
                            hint="check the permissions of the file and of its folders") from None
    if info is not None:
        _check_existing(path, info.st_mode)
        return
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        make_private_folders(target.parent)
        try:
            fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another process created it first
            return
        try:
            os.fchmod(fd, 0o600)  # whatever the umask took away or let through
        finally:
            os.close(fd)
    except OSError as e:
        raise DatabaseError(
            f"cannot create database {str(path)!r}: {e.strerror or e}",
            hint="check that the folder is writable, or pass --db / PAGER_DB",
        ) from None


def _check_existing(path: Path, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise DatabaseError(f"database path {str(path)!r} is a directory", hint="pass the path of a database file")
    if not stat.S_ISREG(mode):
        raise DatabaseError(f"database path {str(path)!r} is not a regular file (a device, FIFO or socket), "
                            "so it cannot be a database", hint="pass the path of a database file")
    try:  # open it, rather than ask access(): that is what SQLite will do, as whoever we are
        os.close(os.open(path, os.O_RDONLY))
    except OSError as e:
        raise DatabaseError(f"database {str(path)!r} cannot be read: {e.strerror or e}",
                            hint="check the file's permissions and its owner") from None


def make_private_folders(folder: Path) -> None:
    """Create `folder` and every missing folder above it, each mode 0700 whatever
    the umask (`mkdir(parents=True, mode=…)` applies the mode to the last one only,
    and through the umask). Folders that already exist are left as they are."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for one in reversed(missing):
        try:
            os.mkdir(one, 0o700)
        except FileExistsError:  # made meanwhile by someone else: theirs, not ours to change
            continue
        fd = os.open(one, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            os.fchmod(fd, 0o700)
        finally:
            os.close(fd)


# -- what SQLite's errors mean -------------------------------------------------------

def translate(error: exc.DBAPIError, location: str) -> DatabaseError:
    """A one-line, actionable error for what SQLite said."""
    orig = getattr(error, "orig", error)
    text = str(orig).strip()
    low = text.lower()
    code = (getattr(orig, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (_BUSY, _LOCKED) or "locked" in low:
        return DatabaseError(
            f"database {location} is locked: another pager process held it longer than the busy timeout",
            hint="retry, or raise PAGER_BUSY_TIMEOUT (seconds)",
        )
    if code == _CANTOPEN or "unable to open" in low:
        if _unreadable(location):
            return DatabaseError(f"database {location} cannot be read", hint="check the file's permissions and its owner")
        if not _read_only(location):
            return DatabaseError(f"cannot open database {location}",
                                 hint="check that the path and its folder exist and are accessible")
        code = _READONLY
    if code == _READONLY or "readonly" in low or "read-only" in low:
        return DatabaseError(f"database {location} is read-only", hint="check the file's permissions and its folder's")
    if code == _FULL or "disk is full" in low:
        return DatabaseError(f"database {location}: {text}", hint="free some disk space; nothing was half-written")
    if code == _IOERR or "disk i/o error" in low:
        return DatabaseError(f"database {location}: {text}",
                             hint="the disk may be full or failing; nothing was half-written")
    if code in (_CORRUPT, _NOTADB) or "not a database" in low or "malformed" in low:
        return DatabaseError(f"{location} is not a pager database, or it is damaged ({text})",
                             hint="restore it from a backup, or move it away to start afresh")
    if "could not decode" in low:  # text that is not UTF-8 where SQLite stored text
        return damaged(location, "a stored text is not UTF-8")
    return DatabaseError(f"database {location}: {text}")


def _unreadable(location: str) -> bool:
    try:
        os.close(os.open(location, os.O_RDONLY | os.O_NONBLOCK))
    except FileNotFoundError:
        return False
    except OSError:
        return True
    return False


def _read_only(location: str) -> bool:
    path = Path(location)
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
