"""Escalation replayed with --now: level 0 at open, each level after its delay,
repeat passes, exhausted; ack stops it; missed runs catch up step by step; and
concurrent escalate-check processes page each step exactly once."""

from __future__ import annotations

import subprocess

import pytest

from conftest import run_pager, start_pager
from dbread import pages, timeline
from pager_cli.store import tables as m
from scenario import write_scenario


@pytest.fixture
def setup(cli, tmp_path):
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    return cli


def check(cli, now):
    r = cli("--now", now, "escalate-check")
    assert r.code == 0, r
    return r.out.splitlines()


def test_scenario_level_by_level_until_ack(setup, db):
    setup("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "DB down")
    assert check(setup, "2026-11-23T10:04:59Z") == []  # nothing due: nothing printed
    assert check(setup, "2026-11-23T10:05:00Z") == [
        "ESCALATED #1 payments: to level 1",
        "PAGE grace #1 [error] payments: DB down",
    ]
    assert check(setup, "2026-11-23T10:05:30Z") == []  # idempotent
    assert setup("--now", "2026-11-23T10:07:00Z", "ack", "1", "--by", "grace").code == 0
    assert check(setup, "2026-11-23T13:00:00Z") == []  # ack stopped it
    assert pages(db) == [(1, "alice", 0, 0), (1, "grace", 1, 1)]
    with db.read() as s:
        row = s.get(m.Incident, 1)
    assert row.status == "acknowledged" and row.next_escalation_at is None and row.escalation_level == 1


def test_repeat_then_exhausted_with_catch_up_step_by_step(setup, db):
    setup("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "DB down")
    out = check(setup, "2026-11-23T12:00:00Z")  # missed runs: catch up in order
    assert out == [
        "ESCALATED #1 payments: to level 1",
        "PAGE grace #1 [error] payments: DB down",
        "ESCALATED #1 payments: to level 0 (pass 2)",
        "PAGE alice #1 [error] payments: DB down",
        "ESCALATED #1 payments: to level 1 (pass 2)",
        "PAGE grace #1 [error] payments: DB down",
        "EXHAUSTED #1 payments: no acknowledgement after 2 passes over main; paging stopped",
    ]
    assert pages(db) == [(1, "alice", 0, 0), (1, "grace", 1, 1), (1, "alice", 0, 2), (1, "grace", 1, 3)]
    steps = [t for t in timeline(db, 1, "at", "kind", "text", fmt="%H:%M") if t[1] in ("escalated", "exhausted")]
    # each step is reached at its own due instant, not when the check ran
    assert [t[0] for t in steps] == ["10:05", "10:15", "10:20", "10:30"]
    assert check(setup, "2026-11-24T12:00:00Z") == []
    with db.read() as s:
        assert s.get(m.Incident, 1).next_escalation_at is None


def test_schedule_targets_resolve_at_the_moment_of_the_step(setup, db):
    # primary hands off alice → bob at 09:00 on the 24th; level 0 of pass 2 falls after it
    setup("--now", "2026-11-24T08:50:00Z", "trigger", "--service", "payments", "x")
    check(setup, "2026-11-24T10:00:00Z")
    assert [p[1] for p in pages(db)] == ["alice", "grace", "bob", "grace"]


def test_json_events(setup):
    setup("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "x")
    r = setup("--now", "2026-11-23T10:05:00Z", "escalate-check", "--json")
    import json

    events = [json.loads(x) for x in r.out.splitlines()]
    assert [(e["event"], e["user"], e["level"]) for e in events] == [("escalated", None, 1), ("page", "grace", 1)]
    assert events[0]["at"] == "2026-11-23T10:05:00Z"
    assert "PAGE grace" in r.err


@pytest.mark.slow
def test_concurrent_checkers_page_each_step_exactly_once(setup, db, db_path):
    for i in range(20):
        setup("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", f"incident {i}")
    procs = [
        start_pager("--now", "2026-11-23T11:00:00Z", "escalate-check", stdin=subprocess.DEVNULL)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert not any(b"locked" in err for _, err in outs)
    lines = [ln for out, _ in outs for ln in out.decode().splitlines()]
    page_lines = [ln for ln in lines if ln.startswith("PAGE ")]
    assert len(page_lines) == 20 * 3 and len(set(page_lines)) == 20 * 2  # grace twice, alice once per incident
    assert sum(ln.startswith("EXHAUSTED") for ln in lines) == 20
    rows = pages(db)
    assert len(rows) == 20 * 4 and len(set(rows)) == len(rows)
    # and a fifth run finds nothing to do
    assert run_pager("--now", "2026-11-23T11:00:00Z", "escalate-check").stdout == b""
