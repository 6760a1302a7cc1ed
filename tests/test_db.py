"""The SQLite database file: where it is made, connections set up for
concurrency, and clear one-line errors (exit 1) when it cannot be used. Its
modes, read-only files and folders and held locks are reliability/test_file_modes.py's
and reliability/test_environment_faults.py's, for every command."""

from __future__ import annotations

import sqlite3
import stat

import pytest

from conftest import run_pager
from pager_cli.store.db import open_database

pytestmark = pytest.mark.sqlite_only  # the file, its modes, PRAGMA, WAL; PostgreSQL's: test_postgres.py


@pytest.mark.slow
def test_default_path_is_in_the_user_data_dir(tmp_path):
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "PAGER_DB": ""}
    proc = run_pager("list", env=env)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "data" / "pager" / "pager.db"
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_every_connection_uses_wal_busy_timeout_and_foreign_keys(db):
    with db.read() as session:
        conn = session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


def test_a_directory_in_place_of_the_file_is_a_clear_error(tmp_path):
    path = tmp_path / "dir.db"
    path.mkdir()
    proc = run_pager("--db", path, "list")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith("Error: ") and "directory" in err
    assert "Traceback" not in err


def test_unwritable_directory_is_a_clear_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("not a dir")
    proc = run_pager("--db", target / "pager.db", "list")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith("Error: cannot create database") and "Traceback" not in err


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    proc = run_pager("--db", path, "list")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert err.startswith("Error: ") and "Traceback" not in err


@pytest.mark.slow
def test_an_open_database_sees_what_another_process_wrote_since(cli, applied, db):
    """A long-lived process (watch, serve) keeps its `Database` open: each of
    its transactions sees the rows other processes committed before it began,
    whether its last one was a read, a write, or a read left unfinished."""
    from sqlmodel import func, select

    from pager_cli.app import incidents as app
    from pager_cli.store import tables as m

    def count() -> int:
        with db.read() as s:
            return s.exec(select(func.count()).select_from(m.Incident)).one()

    assert count() == 0
    run_pager("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "one", check=True)
    assert count() == 1
    with db.write() as s:
        s.exec(select(m.Incident)).all()
    run_pager("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "two", check=True)
    assert count() == 2
    rows = app.listing(db, status="all", limit=0)
    assert next(rows).title == "two"  # a listing read in part, then dropped
    del rows
    run_pager("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "three", check=True)
    assert count() == 3
    assert [view.title for view in app.listing(db, status="all", limit=0)] == ["three", "two", "one"]
