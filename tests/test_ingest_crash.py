"""A `pager trigger -` process killed (SIGKILL) in the middle of a long stream
loses at most the batch in flight: the database is intact, every record it
reported done is in it, and a second run over the rest carries on."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
from collections import Counter

import pytest

from dbread import connect_rw, is_postgresql
from conftest import start_pager

from scenario import write_scenario

pytestmark = [pytest.mark.slow, pytest.mark.races]

RECORDS = 200_000
KEYS = 1_000
BATCH = 200
KILL_AFTER = 5_000  # reported lines


def line(i: int) -> bytes:
    k = i % KEYS
    return b'{"service": "payments", "title": "disk full on host-%d", "dedup_key": "disk:%d"}\n' % (k, k)


def feed(stdin, first: int, last: int) -> None:
    """Write records first..last (1-based) to a process, in chunks, until it goes away."""
    try:
        for start in range(first, last + 1, 1000):
            stdin.write(b"".join(line(i) for i in range(start, min(start + 1000, last + 1))))
        stdin.close()
    except (BrokenPipeError, OSError):
        pass


def totals(db_path) -> tuple[dict[int, int], dict[int, int]]:
    """alert_count per incident, and `alert` timeline entries per incident."""
    conn = connect_rw(db_path)
    try:
        counts = dict(conn.execute("SELECT id, alert_count FROM incident"))
        alerts = dict(conn.execute("SELECT incident_id, count(*) FROM timeline WHERE kind = 'alert' GROUP BY incident_id"))
    finally:
        conn.close()
    return counts, alerts


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_mid_stream_keeps_every_reported_record(cli, db_path, tmp_path):
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    env = {"PAGER_DB": str(db_path)}
    with open(tmp_path / "stderr", "wb") as err:
        proc = start_pager("trigger", "-", "--json", "--batch-size", BATCH, stderr=err, env=env)
        writer = threading.Thread(target=feed, args=(proc.stdin, 1, RECORDS), daemon=True)
        writer.start()
        docs = []
        for raw in proc.stdout:
            docs.append(json.loads(raw))
            if len(docs) >= KILL_AFTER:
                proc.send_signal(signal.SIGKILL)
                break
        docs.extend(json.loads(raw) for raw in proc.stdout)  # what it printed before it died
        proc.wait(timeout=60)
        proc.stdout.close()
        writer.join(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert KILL_AFTER <= len(docs) < RECORDS

    if not is_postgresql(db_path):
        conn = sqlite3.connect(db_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            conn.close()

    # Reported in order, each one done, and each one in the database.
    assert [d["record"] for d in docs] == list(range(1, len(docs) + 1))
    assert {d["action"] for d in docs} == {"created", "deduplicated"}
    counts, alerts = totals(db_path)
    reported = Counter(d["incident"] for d in docs)
    assert set(reported) <= set(counts)
    for incident_id, n in reported.items():
        assert counts[incident_id] >= n
    assert sum(counts.values()) >= len(docs)
    # Batches are all or nothing: each count matches the timeline.
    assert all(counts[i] == 1 + alerts.get(i, 0) for i in counts)
    # At most the batch in flight was committed without being reported.
    assert sum(counts.values()) - len(docs) <= BATCH

    # A second run over the rest carries on.
    done = len(docs)
    proc = start_pager("trigger", "-", stdout=subprocess.DEVNULL, env=env)
    writer = threading.Thread(target=feed, args=(proc.stdin, done + 1, RECORDS), daemon=True)
    writer.start()
    summary = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, summary
    writer.join(timeout=60)
    proc.stderr.close()
    assert summary.strip().endswith(f"{RECORDS - done} records: {RECORDS - done} deduplicated")
    counts, alerts = totals(db_path)
    assert len(counts) == KEYS
    assert RECORDS <= sum(counts.values()) <= RECORDS + BATCH
    assert all(counts[i] == 1 + alerts.get(i, 0) for i in counts)
