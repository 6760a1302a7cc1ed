"""On PostgreSQL several `escalate-check`s share the due work: a piece locks
only the few incidents it steps (FOR UPDATE SKIP LOCKED), so while one
checker is in the middle of a piece the next takes the others. And a
conflict the server gives up on (a serialization failure, a deadlock) is
run again inside: the command succeeds, its work done once, nothing shown.

The server is made to misbehave by a trigger of its own (a one-shot stall,
a one-shot error with the real SQLSTATE), never by patching pager."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter

import psycopg
import pytest

from conftest import run_pager, start_pager
from dbread import rows
from pager_cli.escalation.engine import SHARED_ROWS

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

T0 = "2026-11-23T10:00:00Z"
DUE = "2026-11-23T10:06:00Z"  # each incident's level 1 is due (the example's payments policy: 5 minutes)
DUE_N = 60
STALL = 4242  # advisory lock key the stalling trigger waits for
PATIENT = {"PAGER_BUSY_TIMEOUT": "120"}


def _open(count: int) -> None:
    lines = "".join(json.dumps({"service": "payments", "title": f"host {i} down", "dedup_key": f"h{i}"}) + "\n"
                    for i in range(count))
    run_pager("--now", T0, "trigger", "-", input=lines, check=True)


def _on_timeline_insert(url: str, body: str) -> None:
    """A server-side trigger: `body` (PL/pgSQL) runs after each INSERT statement into timeline."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE once")
        conn.execute(f"CREATE FUNCTION misbehave() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} RETURN NULL; END $$")
        conn.execute("CREATE TRIGGER misbehave AFTER INSERT ON timeline FOR EACH STATEMENT EXECUTE FUNCTION misbehave()")


def _waiting_for(conn: psycopg.Connection, key: int, timeout: float = 90) -> None:
    """Until some session waits for advisory lock `key` (a bigint: high and low halves in pg_locks)."""
    query = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
             "AND classid::bigint = %s AND objid::bigint = %s")
    deadline = time.monotonic() + timeout
    while conn.execute(query, (key >> 32, key & 0xFFFFFFFF)).fetchone()[0] == 0:
        assert time.monotonic() < deadline, f"nobody waited for advisory lock {key:#x}"
        time.sleep(0.05)


def _waiting_for_a_row(conn: psycopg.Connection, timeout: float = 90) -> None:
    """Until some session waits for a row another transaction holds."""
    query = "SELECT count(*) FROM pg_locks WHERE locktype IN ('transactionid', 'tuple') AND NOT granted"
    deadline = time.monotonic() + timeout
    while conn.execute(query).fetchone()[0] == 0:
        assert time.monotonic() < deadline, "nobody waited for a row"
        time.sleep(0.05)


def _escalated(out: bytes) -> list[int]:
    return [e["incident"] for e in map(json.loads, out.decode().splitlines()) if e["event"] == "escalated"]


def test_a_checker_in_the_middle_of_a_piece_leaves_the_other_due_incidents_to_the_next(applied, pager_db):
    _open(DUE_N)
    # the first INSERT into timeline (the first checker's first piece, writing its steps) waits for STALL
    _on_timeline_insert(pager_db, f"IF nextval('once') = 1 THEN PERFORM pg_advisory_xact_lock({STALL}); END IF;")
    with psycopg.connect(pager_db, autocommit=True) as watcher, psycopg.connect(pager_db) as holder:
        holder.execute(f"SELECT pg_advisory_xact_lock({STALL})")
        first = start_pager("--now", DUE, "--json", "escalate-check", env=PATIENT, stdin=subprocess.DEVNULL)
        _waiting_for(watcher, STALL)
        second = start_pager("--now", DUE, "--json", "escalate-check", env=PATIENT, stdin=subprocess.DEVNULL)
        # the second has done every step it could: it now waits for an incident the first holds, still
        # in its piece (it waits rather than skip it, since a trigger batch holding it would not step it)
        _waiting_for_a_row(watcher)
        done = rows(pager_db, "SELECT count(*) FROM timeline WHERE kind = 'escalated'")[0][0]
        assert done >= DUE_N - SHARED_ROWS, f"the second checker stepped {done} of {DUE_N}: the first held the rest"
        holder.rollback()
        out1, err1 = first.communicate(timeout=120)
        out2, err2 = second.communicate(timeout=120)
    assert (first.returncode, second.returncode) == (0, 0), (err1, err2)
    # between them, every incident escalated exactly once, and each checker said so for its own
    said = _escalated(out1) + _escalated(out2)
    assert sorted(said) == list(range(1, DUE_N + 1))
    # (the second may also have stepped one the first held and released unstepped, its piece's time spent)
    assert len(_escalated(out2)) >= done and 0 < len(_escalated(out1)) <= SHARED_ROWS
    stored = Counter(i for (i,) in rows(pager_db, "SELECT incident_id FROM timeline WHERE kind = 'escalated'"))
    assert sorted(stored) == list(range(1, DUE_N + 1)) and set(stored.values()) == {1}
    pages = Counter(rows(pager_db, 'SELECT incident_id, "user", step FROM page WHERE step = 1'))
    assert len({i for i, _, _ in pages}) == DUE_N and set(pages.values()) == {1}


def _fail_once(url: str, sqlstate: str) -> None:
    _on_timeline_insert(url, f"IF nextval('once') = 1 THEN RAISE EXCEPTION 'forced' USING ERRCODE = '{sqlstate}'; END IF;")


def _failed_once(url: str) -> bool:
    return rows(url, "SELECT last_value FROM once")[0][0] >= 2  # the failing statement ran, and more after it


def _clean(proc: subprocess.CompletedProcess) -> None:
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "Error" not in err and "Traceback" not in err and "forced" not in err, err


CONFLICTS = pytest.mark.parametrize("sqlstate", ["40001", "40P01"], ids=["serialization", "deadlock"])


@CONFLICTS
def test_escalate_check_runs_a_piece_again_after_a_conflict(applied, pager_db, sqlstate):
    _open(5)
    _fail_once(pager_db, sqlstate)
    proc = run_pager("--now", DUE, "--json", "escalate-check")
    _clean(proc)
    assert _failed_once(pager_db)
    assert sorted(_escalated(proc.stdout)) == [1, 2, 3, 4, 5]
    assert sorted(i for (i,) in rows(pager_db, "SELECT incident_id FROM timeline WHERE kind = 'escalated'")) == [1, 2, 3, 4, 5]


@CONFLICTS
def test_trigger_runs_again_after_a_conflict(applied, pager_db, sqlstate):
    _fail_once(pager_db, sqlstate)
    proc = run_pager("--now", T0, "--json", "trigger", "-s", "payments", "--dedup-key", "db", "DB down")
    _clean(proc)
    assert _failed_once(pager_db)
    # one incident (its id may skip the one the failed attempt drew: sequences are not transactional)
    opened = json.loads(proc.stdout)["id"]
    assert rows(pager_db, "SELECT id, dedup_key, alert_count FROM incident") == [(opened, "db", 1)]
    assert rows(pager_db, "SELECT count(*) FROM page WHERE incident_id = ? AND step = 0", (opened,))[0][0] >= 1


@CONFLICTS
def test_a_stream_batch_runs_again_after_a_conflict(applied, pager_db, sqlstate):
    _fail_once(pager_db, sqlstate)
    lines = "".join(json.dumps({"service": "payments", "title": "disk full", "dedup_key": k}) + "\n"
                    for k in ("a", "b", "a"))
    proc = run_pager("--now", T0, "--json", "trigger", "-", input=lines)
    _clean(proc)
    assert _failed_once(pager_db)
    assert [json.loads(line)["action"] for line in proc.stdout.decode().splitlines()] == [
        "created", "created", "deduplicated"]
    assert rows(pager_db, "SELECT dedup_key, alert_count FROM incident ORDER BY id") == [("a", 2), ("b", 1)]


@CONFLICTS
def test_ack_runs_again_after_a_conflict(applied, pager_db, sqlstate):
    _open(1)
    _fail_once(pager_db, sqlstate)
    proc = run_pager("--now", "2026-11-23T10:01:00Z", "ack", "1", "--by", "bob")
    _clean(proc)
    assert _failed_once(pager_db)
    assert rows(pager_db, "SELECT status, acknowledged_by FROM incident") == [("acknowledged", "bob")]
    assert rows(pager_db, "SELECT count(*) FROM timeline WHERE kind = 'acknowledged'")[0][0] == 1
