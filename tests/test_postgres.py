"""PostgreSQL itself: one-line connection errors that never show the password,
the schema as that engine stores it (timestamptz, partial indexes, the
`pager_migration` record), the write lock (an advisory lock taken first in
every write transaction) and its busy timeout."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from conftest import run_pager, start_pager
from dbread import rows
from pager_cli.store.db import open_database
from pager_cli.store.migrations import MIGRATIONS
from pager_cli.store.postgresql import WRITE_LOCK
from pgserver import PASSWORD, USER

pytestmark = pytest.mark.postgresql_only


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert err.count("\n") == 1 and err.startswith("Error: ") and "Traceback" not in err, err
    assert PASSWORD not in err and "***" not in err, err
    return err


@pytest.mark.parametrize("driver", ["postgresql", "postgresql+psycopg"])
def test_unreachable_server_is_one_line_without_the_password(driver, pg_server):
    proc = run_pager("--db", f"{driver}://{USER}:{PASSWORD}@127.0.0.1:1/pager", "list", timeout=60)
    err = _one_line_error(proc)
    assert err.startswith(f"Error: cannot connect to postgresql://{USER}@127.0.0.1:1/pager: "), err
    assert "refused" in err.lower()


def test_wrong_password_is_one_line_without_either_password(pg_server):
    proc = run_pager("--db", pg_server.url("postgres", password="not-the-one"), "list", timeout=60)
    err = _one_line_error(proc)
    assert f"cannot connect to postgresql://{USER}@127.0.0.1:{pg_server.port}/postgres: " in err
    assert "password authentication failed" in err and "not-the-one" not in err


def test_missing_database_is_one_line(pg_server):
    proc = run_pager("--db", pg_server.url("no_such_db"), "list", timeout=60)
    err = _one_line_error(proc)
    assert 'database "no_such_db" does not exist' in err


def test_pager_db_names_the_server_too(pg_server):
    proc = run_pager("list", env={"PAGER_DB": pg_server.url("no_such_db")}, timeout=60)
    assert "cannot connect to postgresql://" in _one_line_error(proc)


@pytest.mark.slow
def test_the_schema_is_migrated_on_open_and_recorded(pg_server):
    name = "fresh_from_nothing"
    pg_server.admin().execute(f"CREATE DATABASE {name}")
    try:
        url = pg_server.url(name)
        assert run_pager("--db", url, "list", timeout=60).returncode == 0
        recorded = [n for (n,) in rows(url, "SELECT name FROM pager_migration ORDER BY name")]
        assert recorded == [n for n, _ in MIGRATIONS]
        types = dict(rows(url, "SELECT column_name, data_type FROM information_schema.columns "
                               "WHERE table_name = 'incident'"))
        assert types["created_at"] == types["next_escalation_at"] == "timestamp with time zone"
        indexes = dict(rows(url, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('incident', 'delivery')"))
        assert "WHERE" in indexes["uq_incident_open_key"] and "UNIQUE" in indexes["uq_incident_open_key"]
        assert "WHERE (next_escalation_at IS NOT NULL)" in indexes["ix_incident_due"]
        assert "WHERE" in indexes["ix_delivery_due"]
        again = run_pager("--db", url, "list", timeout=60)  # a second open migrates nothing
        assert again.returncode == 0 and len(rows(url, "SELECT name FROM pager_migration")) == len(MIGRATIONS)
    finally:
        pg_server.drop(name)


@pytest.mark.slow
def test_several_processes_migrating_a_new_database_at_once(pg_server):
    name = "racing_migrations"
    pg_server.admin().execute(f"CREATE DATABASE {name}")
    try:
        url = pg_server.url(name)
        procs = [subprocess.Popen([sys.executable, "-m", "pager_cli", "--db", url, "list"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(4)]
        errs = [p.communicate(timeout=120)[1].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * 4, errs
        assert len(rows(url, "SELECT name FROM pager_migration")) == len(MIGRATIONS)
    finally:
        pg_server.drop(name)


def test_a_database_from_a_newer_pager_is_refused(pager_db):
    from dbread import connect_rw

    con = connect_rw(pager_db)
    con.execute("INSERT INTO pager_migration (name, applied_at) VALUES ('999_from_the_future', '2030-01-01')")
    con.close()
    proc = run_pager("list", timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and "newer than this pager" in err and "999_from_the_future" in err, err


def _waiting_on_advisory_lock(conn) -> int:  # noqa: ANN001
    return conn.exec_driver_sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' "
                                "AND datname = current_database()").scalar()


def test_a_writer_waits_for_the_lock_then_reads_what_the_holder_committed(applied, cli, pager_db):
    """READ COMMITTED with the advisory lock first: the trigger that waited sees
    the incident the holder committed meanwhile and adds its alert to it."""
    engine = sa.create_engine(pager_db.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher, engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
            proc = start_pager("--now", "2026-11-23T10:01:00Z", "trigger", "-s", "catch-all", "--dedup-key", "k",
                               "two", stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while not _waiting_on_advisory_lock(watcher) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _waiting_on_advisory_lock(watcher) == 1
            # the holder opens the incident meanwhile, as another pager process would
            conn.exec_driver_sql(
                "INSERT INTO incident (service, title, severity, status, dedup_key, alert_count, assignees, "
                "escalation_level, escalation_pass, escalation_step, created_at, last_alert_at, details) VALUES "
                "('catch-all', 'one', 'error', 'triggered', 'k', 1, '[]', 0, 0, 0, "
                "'2026-11-23T10:00:00Z', '2026-11-23T10:00:00Z', '{}')")
        out, err = proc.communicate(timeout=60)
    finally:
        engine.dispose()
    assert proc.returncode == 0, err
    assert rows(pager_db, "SELECT count(*), max(alert_count) FROM incident") == [(1, 2)]


@pytest.mark.slow
def test_a_lock_held_past_the_busy_timeout_is_a_clear_error(applied, pager_db):
    engine = sa.create_engine(pager_db.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
        proc = run_pager("trigger", "-s", "catch-all", "blocked", env={"PAGER_BUSY_TIMEOUT": "1"}, timeout=60)
    engine.dispose()
    err = _one_line_error(proc)
    assert "is locked" in err and "PAGER_BUSY_TIMEOUT" in err
    assert rows(pager_db, "SELECT count(*) FROM incident") == [(0,)]


def definitions(url: str) -> dict:
    """The schema as SQLAlchemy's inspector reads it back from PostgreSQL
    (columns, indexes with their where-clause, unique constraints, foreign keys)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        inspector = sa.inspect(engine)
        out = {}
        for table in inspector.get_table_names():
            out[f"table {table}"] = sorted(
                (c["name"], str(c["type"]), c["nullable"], bool(c.get("primary_key"))) for c in inspector.get_columns(table))
            for index in inspector.get_indexes(table):
                options = index.get("dialect_options", {})
                out[f"index {index['name']}"] = (table, index["column_names"], bool(index["unique"]),
                                                  options.get("postgresql_where"), options.get("postgresql_include"))
            for unique in inspector.get_unique_constraints(table):
                out[f"unique {table} {unique['name']}"] = unique["column_names"]
            out[f"fks {table}"] = sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]),
                 fk.get("options", {}).get("ondelete")) for fk in inspector.get_foreign_keys(table))
        return out
    finally:
        engine.dispose()


def test_migrations_build_the_schema_the_models_describe(pg_server, pager_db):
    from sqlmodel import SQLModel

    from pager_cli.store import partial
    from pager_cli.store.tables import delivery, incident  # noqa: F401 - every table in SQLModel.metadata

    name = "modelled"
    pg_server.admin().execute(f"CREATE DATABASE {name}")
    try:
        engine = sa.create_engine(pg_server.url(name, driver="postgresql+psycopg"))
        partial.declare(SQLModel.metadata.tables.values(), "postgresql")
        SQLModel.metadata.create_all(engine)
        engine.dispose()
        got, want = definitions(pager_db), definitions(pg_server.url(name))
    finally:
        pg_server.drop(name)
    got.pop("table pager_migration"), got.pop("fks pager_migration")
    got = {k: v for k, v in got.items() if not k.startswith("index pager_migration")}
    assert sorted(set(got) - set(want)) == [] and sorted(set(want) - set(got)) == []
    for key in want:
        assert (key, got[key]) == (key, want[key])
    assert got["table incident"][[c[0] for c in got["table incident"]].index("created_at")][1] == "TIMESTAMP"
    assert "status" in got["index uq_incident_open_key"][3] and got["index uq_incident_open_key"][2]


@pytest.mark.slow
@pytest.mark.parametrize("start", range(1, len(MIGRATIONS)))
def test_every_earlier_version_upgrades_to_the_same_schema(pg_server, pager_db, start):
    name = f"old_{start}"
    pg_server.admin().execute(f"CREATE DATABASE {name}")
    try:
        url = pg_server.url(name)
        open_database(url, migrate_to=start).close()
        assert len(rows(url, "SELECT name FROM pager_migration")) == start
        open_database(url).close()
        assert definitions(url) == definitions(pager_db)
    finally:
        pg_server.drop(name)
