"""The dedup statement (`incidents.dedup`: INSERT … ON CONFLICT (dedup_key,
service) WHERE open DO UPDATE … RETURNING) on both engines, and streams
racing on shared keys as real processes: one open incident per key, every
alert counted once, every page once."""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from conftest import start_pager
from dbread import rows, when
from pager_cli.errors import DatabaseError
from pager_cli.incidents import dedup
from pager_cli.store import tables as m
from pager_cli.store.db import open_database

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def _open_or_fold(db, *keys: str, at: datetime = T0) -> dict:  # noqa: ANN001
    with db.write() as session:
        return dedup.open_or_fold(session.connection(), [
            dedup.row("payments", key, f"{key} down", "warning", "payments", {"key": key}, at) for key in keys])


def test_the_statement_opens_an_incident_per_new_key_and_folds_into_an_open_one(applied, db, pager_db):
    first = _open_or_fold(db, "a", "b")
    assert {k: (o.created, o.status, o.severity) for k, o in first.items()} == {
        ("payments", "a"): (True, "triggered", "warning"), ("payments", "b"): (True, "triggered", "warning")}
    later = T0 + timedelta(minutes=1)
    second = _open_or_fold(db, "a", "c", at=later)
    assert second[("payments", "a")].id == first[("payments", "a")].id
    assert [second[("payments", k)].created for k in ("a", "c")] == [False, True]
    stored = rows(pager_db, "SELECT dedup_key, alert_count, title, details, last_alert_at FROM incident")
    assert sorted((*row[:4], when(row[4], "%H:%M")) for row in stored) == [
        ("a", 2, "a down", '{"key": "a"}', "10:01"), ("b", 1, "b down", '{"key": "b"}', "10:00"),
        ("c", 1, "c down", '{"key": "c"}', "10:01")]


def test_an_acknowledged_incident_takes_the_alert_and_a_resolved_one_does_not(applied, db, pager_db):
    opened = _open_or_fold(db, "a", "b")
    incident = m.Incident.__table__
    with db.write() as session:
        session.connection().execute(update(incident).where(incident.c.dedup_key == "a").values(status="acknowledged"))
        session.connection().execute(update(incident).where(incident.c.dedup_key == "b").values(status="resolved"))
    again = _open_or_fold(db, "a", "b")
    a, b = again[("payments", "a")], again[("payments", "b")]
    assert (a.id, a.created, a.status) == (opened[("payments", "a")].id, False, "acknowledged")
    assert b.created and b.id != opened[("payments", "b")].id
    assert sorted(rows(pager_db, "SELECT dedup_key, status, alert_count FROM incident")) == [
        ("a", "acknowledged", 2), ("b", "resolved", 1), ("b", "triggered", 1)]


def _stream(seed: int, keys: int, records: int) -> tuple[bytes, Counter]:
    """Mostly triggers over `keys` shared keys, some resolves; the triggers sent per key."""
    rng, sent, lines = random.Random(seed), Counter(), []
    for _ in range(records):
        key = f"k{rng.randrange(keys)}"
        if rng.random() < 0.15:
            lines.append({"service": "payments", "dedup_key": key, "action": "resolve"})
        else:
            sent[key] += 1
            lines.append({"service": "payments", "title": f"{key} down", "dedup_key": key,
                          "severity": rng.choice(["info", "warning", "error", "critical"])})
    return "".join(json.dumps(line) + "\n" for line in lines).encode(), sent


@pytest.mark.slow
def test_streams_racing_on_shared_keys_count_every_alert_once_and_page_once(applied, pager_db):
    """Four `trigger -` streams on the same keys, with resolves, and an
    `escalate-check` stepping what they opened, all at once."""
    streams = [_stream(seed, keys=12, records=150) for seed in range(4)]
    procs = []
    for records, _ in streams:
        with tempfile.TemporaryFile() as source:
            source.write(records)
            source.seek(0)
            procs.append(start_pager("--now", "2026-11-23T10:00:00Z", "--json", "trigger", "-", "--batch-size", "7",
                                     stdin=source, env={"PAGER_BUSY_TIMEOUT": "120"}))
    checker = start_pager("--now", "2026-11-23T10:30:00Z", "escalate-check", stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL)
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()
        assert b"locked" not in err
        answers += [json.loads(line) for line in out.decode().splitlines()]
    _, err = checker.communicate(timeout=240)
    assert checker.returncode == 0 and b"locked" not in err, err.decode()
    assert len(answers) == 4 * 150 and not [a for a in answers if a["error"]]
    sent = sum((s for _, s in streams), Counter())
    stored = rows(pager_db, "SELECT id, dedup_key, status, alert_count FROM incident")
    counted = Counter()
    for _, key, _, count in stored:
        counted[key] += count
    assert counted == sent  # every trigger counted once, in one incident or another
    assert max(Counter(key for _, key, status, _ in stored if status != "resolved").values()) == 1
    actions = Counter(a["action"] for a in answers)
    assert actions["created"] == len(stored)
    assert actions["resolved"] == sum(1 for _, _, status, _ in stored if status == "resolved")
    entries = Counter(rows(pager_db, "SELECT incident_id, kind FROM timeline WHERE kind IN ('triggered', 'alert')"))
    for incident_id, _, _, count in stored:
        assert (entries[(incident_id, "triggered")], entries[(incident_id, "alert")]) == (1, count - 1)
    pages = Counter(rows(pager_db, 'SELECT incident_id, step, "user", channel FROM page'))
    assert set(pages.values()) == {1}
    assert {i for i, step, _, _ in pages if step == 0} == {i for i, _, _, _ in stored}
    # severity only ever raised: each incident's is the highest of its alerts (timeline: triggered + raises)
    ranks = ["critical", "error", "warning", "info"]
    for incident_id, severity in rows(pager_db, "SELECT id, severity FROM incident"):
        raised = [t for (t,) in rows(pager_db, "SELECT text FROM timeline WHERE incident_id = ? AND kind = 'severity' "
                                               "ORDER BY id", (incident_id,))]
        steps = [ranks.index(t.rsplit(" ", 1)[1]) for t in raised]
        assert steps == sorted(steps, reverse=True) and len(set(steps)) == len(steps)
        assert not raised or raised[-1].endswith(f" to {severity}")


@pytest.mark.sqlite_only
def test_a_sqlite_too_old_for_the_dedup_statement_is_refused(monkeypatch, tmp_path):
    import sqlite3

    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.34.1")
    with pytest.raises(DatabaseError, match=r"needs SQLite 3\.35\.0 or later; this Python has 3\.34\.1"):
        open_database(str(tmp_path / "old.db"))
    assert not (tmp_path / "old.db").exists()
