"""The set-wise statements of batch ingest (`store.bulk`) on both of their
paths: SQL text and stored rows handed to the driver (SQLite's), and plain
SQLAlchemy Core (what another engine gets). Both must leave the same rows."""

from __future__ import annotations

import json


import pytest

from pager_cli.store import sqlite as sqlite_dialect
from dbread import connect_rw
from scenario import write_scenario

T0, T1 = "2026-11-23T10:00:00Z", "2026-11-23T10:05:00.25Z"
KEYS = [f"k{i}" for i in range(70)]  # more than one padded IN list (64)


def _ndjson(keys: list[str]) -> str:
    return "".join(json.dumps({"service": "payments", "title": f"disk {k} full", "dedup_key": k}) + "\n" for k in keys)


def _ingest_twice(cli, tmp_path) -> list[dict]:
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    first = cli("--now", T0, "trigger", "-", "--json", input=_ndjson(KEYS))
    assert first.code == 0, first
    # again, some twice: every key is open now, so each is an alert to add
    again = cli("--now", T1, "trigger", "-", "--json", "--batch-size", "50", input=_ndjson(KEYS + KEYS[:5]))
    assert again.code == 0, again
    return [json.loads(line) for line in again.out.splitlines()]


def _stored(path) -> tuple[list, list]:
    con = connect_rw(path)
    try:
        incidents = con.execute("SELECT id, dedup_key, alert_count, last_alert_at FROM incident ORDER BY id").fetchall()
        alerts = con.execute("SELECT incident_id, at, kind, by, text FROM timeline WHERE kind = 'alert' "
                             "ORDER BY id").fetchall()
    finally:
        con.close()
    return incidents, alerts


@pytest.mark.parametrize("raw", [True, False], ids=["driver", "core"])
def test_both_paths_store_the_same_alerts(cli, tmp_path, db_path, monkeypatch, raw):
    monkeypatch.setattr(sqlite_dialect.DIALECT, "raw_bulk", raw)
    docs = _ingest_twice(cli, tmp_path)
    assert [d["action"] for d in docs] == ["deduplicated"] * 75
    assert [d["incident"] for d in docs] == list(range(1, 71)) + list(range(1, 6))
    incidents, alerts = _stored(db_path)
    at = "2026-11-23 10:05:00.250000"  # stored as the datetime column stores it, on either path
    assert incidents == [(i + 1, k, 3 if i < 5 else 2, at) for i, k in enumerate(KEYS)]
    assert alerts == [(KEYS.index(k) + 1, at, "alert", None, f"disk {k} full") for k in KEYS + KEYS[:5]]
