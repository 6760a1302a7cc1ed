"""Schema versioning: the migration chain ends where the models say, from an
empty database or from any earlier version; a newer database is refused."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from pager_cli.store import tables as models
from pager_cli.store.tables import delivery, incident  # noqa: F401 - every table in the metadata
from pager_cli.store.db import open_database
from pager_cli.errors import DatabaseError
from pager_cli.store.migrations import LATEST, MIGRATIONS
from conftest import run_pager
from sqlmodel import SQLModel

pytestmark = pytest.mark.sqlite_only  # SQLite files; the same on PostgreSQL: test_postgres.py


def schema(path) -> dict:
    """Tables → columns (name, type, notnull, pk), indexes → (columns, unique, partial SQL)."""
    con = sqlite3.connect(path)
    out = {}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
        cols = [tuple(r[1:4]) + (r[5],) for r in con.execute(f"PRAGMA table_info('{name}')")]
        out[f"table {name}"] = sorted(cols)
    for name, sql in con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL ORDER BY name"):
        out[f"index {name}"] = " ".join(sql.split())
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
        out[f"fk {name}"] = sorted(tuple(r[2:5]) + (r[6],) for r in con.execute(f"PRAGMA foreign_key_list('{name}')"))
    con.close()
    return out


def test_fresh_database_is_at_latest_and_recorded(tmp_path):
    path = tmp_path / "a.db"
    open_database(str(path)).close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == LATEST
    names = [r[0] for r in con.execute("SELECT name FROM pager_migration ORDER BY rowid")]
    assert names == [name for name, _ in MIGRATIONS]


@pytest.mark.slow
@pytest.mark.parametrize("start", range(0, LATEST))
def test_every_earlier_version_upgrades_to_the_same_schema(tmp_path, start):
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    open_database(str(fresh)).close()
    if start:
        open_database(str(old), migrate_to=start).close()
        assert sqlite3.connect(old).execute("PRAGMA user_version").fetchone()[0] == start
    open_database(str(old)).close()
    assert schema(old) == schema(fresh)


def definitions(path) -> dict:
    """The schema as SQLAlchemy's inspector reads it back: per table its columns
    (name, type, nullable, primary key), and per index, unique constraint and
    foreign key its full definition (an index's where-clause included)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        inspector = sa.inspect(engine)
        out = {}
        for table in inspector.get_table_names():
            out[f"table {table}"] = sorted(
                (c["name"], str(c["type"]), c["nullable"], bool(c["primary_key"])) for c in inspector.get_columns(table)
            )
            for index in inspector.get_indexes(table):
                where = index.get("dialect_options", {}).get("sqlite_where")
                out[f"index {index['name']}"] = {
                    "table": table, "columns": index["column_names"], "unique": bool(index["unique"]),
                    "where": " ".join(str(where).split()) if where is not None else None,
                }
            for unique in inspector.get_unique_constraints(table):
                out[f"unique {table} {unique['name']}"] = unique["column_names"]
            out[f"fks {table}"] = sorted(
                (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]),
                 fk.get("options", {}).get("ondelete"))
                for fk in inspector.get_foreign_keys(table)
            )
        return out
    finally:
        engine.dispose()


def test_migrations_build_the_schema_the_models_describe(tmp_path):
    migrated, modelled = tmp_path / "m.db", tmp_path / "models.db"
    open_database(str(migrated)).close()
    engine = sa.create_engine(f"sqlite:///{modelled}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    got, want = definitions(migrated), definitions(modelled)
    got.pop("table pager_migration")
    got.pop("fks pager_migration")
    assert sorted(got) == sorted(want)
    for key in want:  # one by one, so that a difference names its index, constraint or table
        assert (key, got[key]) == (key, want[key])
    partial = {k: v["where"] for k, v in want.items() if k.startswith("index") and v["where"]}
    assert partial == {  # the where-clauses are compared, not lost on the way
        "index uq_incident_open_key": "status IN ('triggered', 'acknowledged')",
        "index ix_incident_due": "next_escalation_at IS NOT NULL",
        "index ix_incident_auto_resolve": "auto_resolve_at IS NOT NULL",
        "index ix_heartbeat_late": "late_at IS NOT NULL",
        "index ix_delivery_due": "state IN ('pending', 'sending')",
        "index ix_delivery_waiting": "state = 'bundled' AND bundle_id IS NULL",
    }


def test_every_partial_index_is_declared_for_both_engines():
    """Each partial index keeps its clause once (`info["where"]`), set for
    SQLite where it is declared and for PostgreSQL when `declare` runs (as
    opening a PostgreSQL database will), and PostgreSQL's DDL carries it."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    from pager_cli.store.partial import declare

    tables = SQLModel.metadata.tables.values()
    declare(tables, "postgresql")
    partial = [index for table in tables for index in table.indexes if index.dialect_options["sqlite"]["where"] is not None]
    assert {index.name for index in partial} == {"uq_incident_open_key", "ix_incident_due", "ix_delivery_due",
                                                 "ix_delivery_waiting", "ix_incident_auto_resolve", "ix_heartbeat_late"}
    for index in partial:
        where = {engine: index.dialect_options[engine]["where"] for engine in ("sqlite", "postgresql")}
        assert (index.name, str(where["sqlite"])) == (index.name, str(where["postgresql"]))
        ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
        assert ddl.endswith(f"WHERE {where['sqlite']}"), ddl


def test_a_command_loads_no_postgresql_dialect(tmp_path):
    """Declaring the partial indexes for PostgreSQL at import would load
    SQLAlchemy's PostgreSQL dialect into every SQLite command."""
    import subprocess
    import sys

    code = ("import sys; from pager_cli.store import tables as m; m.Incident; from pager_cli.store.db import open_database;"
            f"open_database({str(tmp_path / 'p.db')!r}).close();"
            "print('sqlalchemy.dialects.postgresql' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_a_newer_database_is_refused_and_left_untouched(cli, tmp_path):
    path = tmp_path / "new.db"
    open_database(str(path)).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {LATEST + 1}")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="newer than this pager"):
        open_database(str(path))
    r = cli("--db", path, "list")
    assert r.code == 1 and r.err.startswith("Error: ") and "newer than this pager" in r.err, r
    assert path.read_bytes() == before


def test_stored_durations_are_backfilled_from_version_2(tmp_path):
    from datetime import datetime, timezone

    from sqlmodel import select

    path = tmp_path / "v2.db"
    old = open_database(str(path), migrate_to=2)
    created = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
    with old.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO incident (id, service, title, severity, status, dedup_key, alert_count, assignees, "
            "escalation_level, escalation_pass, escalation_step, created_at, last_alert_at, first_acknowledged_at, "
            "resolved_at, details) VALUES (1, 's', 't', 'error', 'resolved', 'k', 1, '[]', 0, 0, 0, "
            ":c, :c, :a, :r, '{}'), (2, 's', 'u', 'error', 'triggered', 'k2', 1, '[]', 0, 0, 0, :c, :c, NULL, NULL, '{}')"),
            {"c": "2026-11-23 09:00:00.000000", "a": "2026-11-23 09:04:00.500000", "r": "2026-11-23 09:10:00.000000"})
    old.close()
    db = open_database(str(path))
    with db.read() as s:
        rows = {i.id: (i.ack_ms, i.resolve_ms) for i in s.exec(select(models.Incident))}
        assert s.get(models.Incident, 1).created_at == created
    db.close()
    assert rows == {1: (240_500, 600_000), 2: (None, None)}


def _set_user_version(path, version: int) -> None:
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {version}")
    con.commit()
    con.close()


def test_the_recorded_migrations_decide_what_runs_not_the_user_version(tmp_path):
    """`pager_migration` is the source of truth; user_version only mirrors it.
    A mirror reset to 0 (by a copy, a tool, a damaged header) neither reruns
    the recorded migrations nor stops the rest: it is written back."""
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    open_database(str(fresh)).close()
    open_database(str(old), migrate_to=3).close()
    _set_user_version(old, 0)
    db = open_database(str(old))
    assert db.schema_version() == LATEST
    db.close()
    con = sqlite3.connect(old)
    assert con.execute("PRAGMA user_version").fetchone()[0] == LATEST
    assert [r[0] for r in con.execute("SELECT name FROM pager_migration ORDER BY rowid")] == [n for n, _ in MIGRATIONS]
    con.close()
    assert schema(old) == schema(fresh)


def test_a_recorded_migration_this_pager_does_not_know_is_a_newer_database(tmp_path):
    path = tmp_path / "newer.db"
    open_database(str(path)).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO pager_migration (name, applied_at) VALUES ('999_from_a_later_pager', '2030-01-01')")
    con.execute("PRAGMA user_version = 0")  # no mirror to warn us: only the table says so
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="999_from_a_later_pager.*newer than this pager"):
        open_database(str(path))
    assert path.read_bytes() == before
    proc = run_pager("--db", path, "list")
    assert proc.returncode == 1
    assert proc.stderr.decode().startswith("Error: ") and "newer than this pager" in proc.stderr.decode()
    assert path.read_bytes() == before
