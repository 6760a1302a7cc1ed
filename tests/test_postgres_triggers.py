"""On PostgreSQL, triggers run beside each other: a batch locks its keys (in
one order all batches share), then the open incidents of those keys, and
opens the others with the dedup statement (INSERT … ON CONFLICT … DO UPDATE …
RETURNING), so a trigger on another key never waits for one in flight, one
racing it on the same key waits for it and adds its alert to that incident
(one incident, paged once), and two opening the same new keys in opposite
orders queue instead of deadlocking. An escalation checker waits for a due
incident a trigger batch holds rather than skip it.

A batch is held in the middle of its transaction by a server-side trigger of
the test's own (an INSERT waits for an advisory lock the test holds), never
by patching pager."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from collections import Counter

import psycopg
import pytest

from conftest import run_pager, start_pager
from dbread import rows
from scenario import write_scenario

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

T0 = "2026-11-23T10:00:00Z"
DUE = "2026-11-23T10:06:00Z"  # level 1 of the example's payments policy is due (5 minutes)
STALL = 4243  # advisory lock key the held batch waits for
IMPATIENT = {"PAGER_BUSY_TIMEOUT": "5"}  # a trigger that queued behind the held one would fail, not hang


def _hold_first_timeline_insert(url: str) -> None:
    _hold_insert(url, "AFTER INSERT ON timeline FOR EACH STATEMENT", 1)


def _hold_insert(url: str, when: str, nth: int) -> None:
    """The `nth` firing of a trigger `when` (e.g. AFTER INSERT ON timeline FOR
    EACH STATEMENT) waits for STALL; every other goes straight on."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE once")
        conn.execute("CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     f"IF nextval('once') = {nth} THEN PERFORM pg_advisory_xact_lock({STALL}); END IF; "
                     "RETURN NEW; END $$")  # NEW: a BEFORE ROW trigger's row goes in (ignored elsewhere)
        conn.execute(f"CREATE TRIGGER hold {when} EXECUTE FUNCTION hold()")


def _until(conn: psycopg.Connection, query: str, what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while conn.execute(query).fetchone()[0] == 0:
        assert time.monotonic() < deadline, f"nobody {what}"
        time.sleep(0.05)


def _waiting_for_stall(conn: psycopg.Connection) -> None:
    _until(conn, f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = {STALL}",
           "waited for the stall")


def _waiting_for_the_batch(conn: psycopg.Connection) -> None:
    """Until a process waits for the held batch: for its keys' locks, or a row it holds."""
    _until(conn, "SELECT count(*) FROM pg_locks WHERE NOT granted "
                 f"AND NOT (locktype = 'advisory' AND objid = {STALL})", "waited for the batch in flight")


def _ndjson(*records: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def _stream(records: bytes, *, now: str = T0, env: dict | None = None) -> subprocess.Popen:
    """`trigger -` started on `records` (from a file: the whole stream is there at once)."""
    with tempfile.TemporaryFile() as source:
        source.write(records)
        source.seek(0)
        return start_pager("--now", now, "--json", "trigger", "-", env=env, stdin=source)


def _answers(out: bytes) -> list[tuple[str, int]]:
    return [(a["action"], a["incident"]) for a in map(json.loads, out.decode().splitlines())]


def _held(url: str):  # noqa: ANN202 - (watcher, holder) connections; the holder holds STALL
    watcher, holder = psycopg.connect(url, autocommit=True), psycopg.connect(url)
    holder.execute(f"SELECT pg_advisory_xact_lock({STALL})")
    return watcher, holder


def _pages_once(url: str) -> Counter:
    pages = Counter(rows(url, 'SELECT incident_id, step, "user", channel FROM page'))
    assert set(pages.values()) == {1}, pages
    return Counter(i for i, _, _, _ in pages)


def test_a_trigger_on_another_key_does_not_wait_for_a_batch_in_flight(applied, pager_db):
    _hold_first_timeline_insert(pager_db)
    watcher, holder = _held(pager_db)
    with watcher, holder:
        first = _stream(_ndjson({"service": "payments", "title": "disk full", "dedup_key": "a"}))
        _waiting_for_stall(watcher)  # its incident inserted, its transaction open
        second = run_pager("--now", T0, "--json", "trigger", "-", env=IMPATIENT,
                           input=_ndjson({"service": "payments", "title": "CPU hot", "dedup_key": "b"},
                                         {"service": "payments", "title": "CPU hot", "dedup_key": "b"}))
        assert second.returncode == 0, second.stderr.decode()
        assert first.poll() is None
        # committed while the first is still in flight
        assert rows(pager_db, "SELECT dedup_key, alert_count FROM incident") == [("b", 2)]
        single = run_pager("--now", T0, "--json", "trigger", "-s", "payments", "--dedup-key", "c", "queue stuck",
                           env=IMPATIENT)
        assert single.returncode == 0, single.stderr.decode()
        holder.rollback()
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err.decode()
    assert _answers(out)[0][0] == "created"
    assert sorted(rows(pager_db, "SELECT dedup_key, alert_count, status FROM incident")) == [
        ("a", 1, "triggered"), ("b", 2, "triggered"), ("c", 1, "triggered")]
    assert sorted(_pages_once(pager_db)) == sorted(i for (i,) in rows(pager_db, "SELECT id FROM incident"))


@pytest.mark.parametrize("how", ["stream", "single"])
def test_a_trigger_racing_a_batch_in_flight_on_its_key_adds_its_alert_to_that_incident(applied, pager_db, how):
    _hold_first_timeline_insert(pager_db)
    watcher, holder = _held(pager_db)
    with watcher, holder:
        first = _stream(_ndjson({"service": "payments", "title": "disk full", "dedup_key": "a",
                                 "severity": "warning"}))
        _waiting_for_stall(watcher)  # incident `a` inserted, not committed
        if how == "stream":
            second = _stream(_ndjson({"service": "payments", "title": "disk very full", "dedup_key": "a",
                                      "severity": "critical"}))
        else:
            second = start_pager("--now", T0, "--json", "trigger", "-s", "payments", "--dedup-key", "a",
                                 "--severity", "critical", "disk very full", stdin=subprocess.DEVNULL)
        _waiting_for_the_batch(watcher)  # for the key the first holds
        holder.rollback()
        out1, err1 = first.communicate(timeout=60)
        out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    [(created, incident)] = _answers(out1)
    assert created == "created"
    if how == "stream":
        assert _answers(out2) == [("deduplicated", incident)]
    else:
        answer = json.loads(out2)
        assert (answer["id"], answer["alert_count"], answer["severity"]) == (incident, 2, "critical")
    assert rows(pager_db, "SELECT id, alert_count, severity, status FROM incident") == [
        (incident, 2, "critical", "triggered")]
    assert [(k, t) for k, t in rows(pager_db, "SELECT kind, text FROM timeline WHERE incident_id = ? "
                                              "AND kind IN ('triggered', 'alert', 'severity') ORDER BY id",
                                    (incident,))] == [
        ("triggered", "disk full"), ("alert", "disk very full"), ("severity", "raised from warning to critical")]
    assert _pages_once(pager_db) == {incident: rows(pager_db, "SELECT count(*) FROM page")[0][0]}
    assert b"PAGE" not in err2  # only the trigger that opened it paged


def test_a_grouped_alert_racing_the_one_that_opens_its_incident_keeps_the_others_state(cli, pager_db, tmp_path):
    """`dedup: service`: the second batch's alert is added to the incident the
    first opened, with the alert keys that incident holds, so resolving its
    own alert leaves the incident open while the first's still fires."""
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    _hold_first_timeline_insert(pager_db)
    watcher, holder = _held(pager_db)
    with watcher, holder:
        first = _stream(_ndjson({"service": "grouped", "title": "disk full", "dedup_key": "x"}))
        _waiting_for_stall(watcher)
        second = _stream(_ndjson({"service": "grouped", "title": "CPU hot", "dedup_key": "y"},
                                 {"service": "grouped", "dedup_key": "y", "action": "resolve"}))
        _waiting_for_the_batch(watcher)
        holder.rollback()
        out1, err1 = first.communicate(timeout=60)
        out2, err2 = second.communicate(timeout=60)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    [(_, incident)] = _answers(out1)
    assert _answers(out2) == [("deduplicated", incident), ("ignored", incident)]
    assert rows(pager_db, "SELECT id, status, alert_count FROM incident") == [(incident, "triggered", 2)]
    assert sorted(rows(pager_db, "SELECT alert_key, status FROM incident_alert")) == [
        ("x", "firing"), ("y", "resolved")]
    [(text,)] = rows(pager_db, "SELECT text FROM timeline WHERE kind = 'alert_resolved'")
    assert text == "CPU hot (y) resolved; still firing (1): disk full (x)"


def test_a_checker_waits_for_a_due_incident_a_trigger_batch_holds_and_steps_it(applied, pager_db):
    run_pager("--now", T0, "trigger", "-", check=True,
              input=_ndjson(*({"service": "payments", "title": f"host {i} down", "dedup_key": f"h{i}"}
                              for i in range(5))))
    _hold_first_timeline_insert(pager_db)
    watcher, holder = _held(pager_db)
    with watcher, holder:
        # an alert for h0 at the due instant: its batch locks incident 1, then holds at its timeline entry
        batch = _stream(_ndjson({"service": "payments", "title": "host 0 down", "dedup_key": "h0"}), now=DUE)
        _waiting_for_stall(watcher)
        checker = start_pager("--now", DUE, "--json", "escalate-check", stdin=subprocess.DEVNULL)
        _waiting_for_the_batch(watcher)  # the others stepped, it waits for incident 1 instead of leaving it due
        assert sorted(i for (i,) in rows(pager_db, "SELECT incident_id FROM timeline WHERE kind = 'escalated'")) \
            == [2, 3, 4, 5]
        holder.rollback()
        out_b, err_b = batch.communicate(timeout=60)
        out_c, err_c = checker.communicate(timeout=60)
    assert (batch.returncode, checker.returncode) == (0, 0), (err_b, err_c)
    assert _answers(out_b) == [("deduplicated", 1)]
    escalated = [e["incident"] for e in map(json.loads, out_c.decode().splitlines()) if e["event"] == "escalated"]
    assert sorted(escalated) == [1, 2, 3, 4, 5]
    stored = Counter(i for (i,) in rows(pager_db, "SELECT incident_id FROM timeline WHERE kind = 'escalated'"))
    assert stored == {i: 1 for i in range(1, 6)}
    assert rows(pager_db, "SELECT alert_count FROM incident WHERE id = 1") == [(2,)]


def test_batches_opening_the_same_new_keys_in_opposite_orders_queue_without_a_deadlock(applied, pager_db):
    """The first batch opens a, then b, held between the two rows; the second
    opens b, then a. Each locks its keys first, in one order all batches share,
    so the second waits for the first instead of both waiting for each other
    (a deadlock PostgreSQL breaks after its deadlock_timeout, running one of
    them again)."""
    _hold_insert(pager_db, "BEFORE INSERT ON incident FOR EACH ROW", 2)  # a's row in, b's waits
    a = {"service": "payments", "title": "disk full", "dedup_key": "a"}
    b = {"service": "payments", "title": "CPU hot", "dedup_key": "b"}
    watcher, holder = _held(pager_db)
    with watcher, holder:
        first = _stream(_ndjson(a, b))
        _waiting_for_stall(watcher)
        second = _stream(_ndjson(b, a))
        _waiting_for_the_batch(watcher)
        holder.rollback()
        done = [proc.communicate(timeout=60) for proc in (first, second)]
        assert [proc.returncode for proc in (first, second)] == [0, 0], done
        # the backends of both gone, so that their statistics are in
        _until(watcher, "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'pager'",
               "left")
    assert [_answers(out) for out, _ in done] == [[("created", 1), ("created", 2)],
                                                  [("deduplicated", 2), ("deduplicated", 1)]]
    assert rows(pager_db, "SELECT dedup_key, alert_count FROM incident ORDER BY id") == [("a", 2), ("b", 2)]
    assert sorted(_pages_once(pager_db)) == [1, 2]
    assert rows(pager_db, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()") == [(0,)]
