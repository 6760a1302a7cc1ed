"""The one module that makes engines: where the database lives, how every
connection is set up (WAL, busy_timeout, foreign keys), how write transactions
begin (IMMEDIATE), and schema migration on open.

A PostgreSQL URL will be a new branch in `open_database`, not a rewrite: queries
elsewhere use SQLAlchemy constructs only.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from ..errors import DatabaseError, StoredValueError, UsageError
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


def _make_engine(url: str, busy: float) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": busy, "check_same_thread": False},
                              json_deserializer=_json_from_database)

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


# SQLite's primary result codes (the low byte of sqlite_errorcode)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


def damaged(location: str, what: str) -> DatabaseError:
    return DatabaseError(f"database {location} is damaged: {what}",
                         hint="restore it from a backup, or move it away to start afresh")


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


def _from_the_database(error: Exception) -> bool:
    """True for a ValueError raised while SQLite's answer was turned into Python,
    by SQLAlchemy (a stored date-time that is not one) or by sqlite3 itself (text
    or an error message that is not UTF-8): the file is bad, not our code."""
    tb = error.__traceback__
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    module = str(last.tb_frame.f_globals.get("__name__", "")) if last is not None else ""
    return module.startswith("sqlalchemy.") or module == __name__


@contextmanager
def _translated(location: str) -> Iterator[None]:
    """What SQLite or a stored value raised, as one DatabaseError: the one place
    where database trouble becomes a message."""
    try:
        yield
    except exc.DBAPIError as e:
        raise translate(e, location) from None
    except ValueError as e:
        if not isinstance(e, StoredValueError) and not _from_the_database(e):
            raise
        raise damaged(location, f"a stored value cannot be read ({_short(e)})") from None


def _short(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 80 else text[:77] + "..."


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
        with _translated(self.location), self.engine.connect() as conn:
            conn.execution_options(pager_mode=mode)
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.commit()

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
            done = {row[0] for row in conn.exec_driver_sql("SELECT name FROM pager_migration")}
            for name, _step in MIGRATIONS[version:upto]:
                if name in done:
                    raise damaged(db.location, f"its schema version says {version}, yet migration {name} is recorded as done")
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
        with _translated(shown):
            _migrate(db, migrate_to)
    except BaseException:
        db.close()
        raise
    return db
