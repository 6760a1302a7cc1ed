"""Schema versioning: the migration chain ends where the models say, from an
empty database or from any earlier version; a newer database is refused."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from pager_cli.store import tables as models
from pager_cli.store.tables import incident  # noqa: F401 - every table in SQLModel.metadata
from pager_cli.store.db import open_database
from pager_cli.errors import DatabaseError
from pager_cli.store.migrations import LATEST, MIGRATIONS
from sqlmodel import SQLModel


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


@pytest.mark.parametrize("start", range(0, LATEST))
def test_every_earlier_version_upgrades_to_the_same_schema(tmp_path, start):
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    open_database(str(fresh)).close()
    if start:
        open_database(str(old), migrate_to=start).close()
        assert sqlite3.connect(old).execute("PRAGMA user_version").fetchone()[0] == start
    open_database(str(old)).close()
    assert schema(old) == schema(fresh)


def test_migrations_build_the_schema_the_models_describe(tmp_path):
    migrated, modelled = tmp_path / "m.db", tmp_path / "models.db"
    open_database(str(migrated)).close()
    engine = sa.create_engine(f"sqlite:///{modelled}")
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    got, want = schema(migrated), schema(modelled)
    got.pop("table pager_migration")
    got.pop("fk pager_migration")
    # The models' DDL may order or word an index differently; compare columns and uniqueness.
    assert {k: v for k, v in got.items() if not k.startswith("index")} == {
        k: v for k, v in want.items() if not k.startswith("index")
    }
    assert sorted(k for k in got if k.startswith("index")) == sorted(k for k in want if k.startswith("index"))


def test_a_newer_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "new.db"
    open_database(str(path)).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {LATEST + 1}")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(DatabaseError, match="newer than this pager"):
        open_database(str(path))
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
