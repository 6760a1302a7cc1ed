"""Load on one database file, all real processes at once: 8 `trigger -` streams
of 200 alerts (every other one on a shared dedup key, the rest on keys of their
own), 2 `escalate-check` loops whose --now moves forward so that steps fall due,
and an `ack` loop acknowledging whatever is open.

Nothing may fail or report "database is locked"; the shared key must hold one
open incident counting every one of its 800 alerts, every other alert must be
its own incident, and every page must be recorded once and printed once.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest

from reliability_kit import Proc, assert_no_traceback, copy_db, integrity, make_template, page_lines, query, run

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

STREAMS = 8
PER_STREAM = 200
SHARED_KEY = "shared-outage"
SHARED_PER_STREAM = PER_STREAM // 2
OWN_PER_STREAM = PER_STREAM - SHARED_PER_STREAM
START = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def own_key(stream: int, i: int) -> str:
    return f"own-{stream}-{i}"


def stream_input(stream: int) -> bytes:
    records = []
    for i in range(PER_STREAM):
        if i % 2 == 0:
            records.append({"service": "load", "title": "checkout is down", "dedup_key": SHARED_KEY})
        else:
            records.append({"service": "load", "title": f"stream {stream} alert {i}", "dedup_key": own_key(stream, i),
                            "severity": "warning"})
    return "".join(json.dumps(r) + "\n" for r in records).encode()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("load-template"))


@pytest.fixture(scope="module")
def load_run(template, tmp_path_factory):
    """Run the whole load once; the tests below check its outcome."""
    db = copy_db(template, tmp_path_factory.mktemp("load") / "pager.db")
    streams_done = threading.Event()

    def trigger(stream: int) -> Proc:
        return run(["--now", at(stream), "trigger", "-", "--json", "--batch-size", "50"], db,
                   input=stream_input(stream))

    def checker(which: int) -> list[Proc]:
        done, i = [], 0
        while i < 3 or (not streams_done.is_set() and i < 12):
            done.append(run(["--now", at(45 * (i + 1) + 20 * which), "escalate-check"], db))
            i += 1
        return done

    def acker() -> list[Proc]:
        done, acks, i = [], 0, 0
        while (acks == 0 or not streams_done.is_set()) and i < 12:
            now = at(50 * (i + 1))
            listing = run(["--now", now, "list", "--json", "--status", "triggered", "--limit", "0"], db)
            done.append(listing)
            ids = [doc["id"] for doc in json.loads(listing.out)] if listing.code == 0 else []
            if ids:
                done.append(run(["--now", now, "ack", *ids[:300], "--by", "acker"], db))
                acks += 1
            i += 1
        return done

    with ThreadPoolExecutor(max_workers=STREAMS + 3) as pool:
        checkers = [pool.submit(checker, k) for k in range(2)]
        ackers = [pool.submit(acker)]
        triggers = [pool.submit(trigger, s) for s in range(STREAMS)]
        trigger_procs = [f.result() for f in triggers]
        streams_done.set()
        other_procs = [p for f in checkers + ackers for p in f.result()]
    return db, trigger_procs, other_procs


def test_no_process_fails_or_sees_a_locked_database(load_run):
    db, triggers, others = load_run
    for proc in triggers + others:
        assert_no_traceback(proc)
        assert b"locked" not in proc.err.lower(), proc
        assert proc.code == 0, proc
    assert len(triggers) == STREAMS
    assert sum(p.args[2] == "escalate-check" for p in others) >= 6
    assert sum(p.args[2] == "ack" for p in others) >= 1
    assert integrity(db) == "ok"


def test_every_record_is_reported_once_after_its_batch(load_run):
    _, triggers, _ = load_run
    for stream, proc in enumerate(triggers):
        docs = [json.loads(line) for line in proc.lines()]
        assert [d["record"] for d in docs] == list(range(1, PER_STREAM + 1))
        assert all(d["error"] is None for d in docs), proc
        for d in docs:
            if d["record"] % 2 == 1:
                assert d["dedup_key"] == SHARED_KEY and d["action"] in ("created", "deduplicated")
            else:
                assert d["dedup_key"] == own_key(stream, d["record"] - 1) and d["action"] == "created"
    shared = [d for proc in triggers for d in map(json.loads, proc.lines()) if d["dedup_key"] == SHARED_KEY]
    assert Counter(d["action"] for d in shared) == {"created": 1, "deduplicated": STREAMS * SHARED_PER_STREAM - 1}
    assert len({d["incident"] for d in shared}) == 1


def test_the_shared_key_is_one_open_incident_counting_every_alert(load_run):
    db, _, _ = load_run
    rows = query(db, "SELECT id, status, alert_count FROM incident WHERE dedup_key = ?", (SHARED_KEY,))
    assert len(rows) == 1, rows
    incident, status, count = rows[0]
    assert status in ("triggered", "acknowledged")  # ack keeps it open: dedup goes on
    assert count == STREAMS * SHARED_PER_STREAM
    entries = query(db, "SELECT COUNT(*) FROM timeline WHERE incident_id = ? AND kind = 'alert'", (incident,))
    assert entries[0][0] == STREAMS * SHARED_PER_STREAM - 1


def test_every_other_alert_is_an_incident_of_its_own(load_run):
    db, _, _ = load_run
    rows = query(db, "SELECT dedup_key, alert_count FROM incident WHERE dedup_key != ?", (SHARED_KEY,))
    expected = {own_key(s, i) for s in range(STREAMS) for i in range(1, PER_STREAM, 2)}
    assert len(rows) == STREAMS * OWN_PER_STREAM
    assert {key for key, _ in rows} == expected
    assert all(count == 1 for _, count in rows)


def test_no_page_is_sent_twice(load_run):
    db, triggers, others = load_run
    duplicates = query(db, "SELECT incident_id, step, user, COUNT(*) FROM page GROUP BY incident_id, step, user "
                           "HAVING COUNT(*) > 1")
    assert duplicates == []
    rows = query(db, "SELECT user, incident_id FROM page")
    printed = page_lines(*(p.out for p in triggers + others), *(p.err for p in triggers + others))
    assert Counter(printed) == Counter(rows)
    # every step an incident took paged, and no step is missing in between
    steps: dict[int, set[int]] = {}
    for incident, step in query(db, "SELECT incident_id, step FROM page"):
        steps.setdefault(incident, set()).add(step)
    for incident, taken in query(db, "SELECT id, escalation_step FROM incident"):
        assert steps[incident] == set(range(taken + 1)), incident
    # the loops did real work: steps were taken and incidents acknowledged
    assert query(db, "SELECT COUNT(*) FROM timeline WHERE kind = 'escalated'")[0][0] > 0
    assert query(db, "SELECT COUNT(*) FROM incident WHERE status = 'acknowledged'")[0][0] > 0
