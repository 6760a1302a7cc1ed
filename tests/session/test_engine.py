"""escalation/engine stepped at replayed instants on the scenario's `main`
policy: level 0 (schedule primary, 5m), level 1 (grace, 10m), repeat 1."""

from __future__ import annotations

from datetime import timedelta

from dbread import pages, timeline
from pager_cli.escalation import engine
from pager_cli.incidents import lifecycle
from session.conftest import T0

MIN = timedelta(minutes=1)
# (minutes after T0, kind, text): r + delay of the level each step leaves
STEPS = [(5, "escalated", "to level 1"), (15, "escalated", "to level 0 (pass 2)"),
         (20, "escalated", "to level 1 (pass 2)"), (30, "exhausted", None)]


def open_one(db, title: str = "DB down") -> int:
    with db.write() as session:
        return lifecycle.trigger(session, T0, "payments", title).incident.id


def advance(db, incident_id: int, at):
    with db.write() as session:
        incident = lifecycle.get(session, incident_id)
        return engine.advance(session, incident, at)


def steps(db, incident_id: int) -> list[tuple]:
    return [(at, kind, text) for at, kind, text in timeline(db, incident_id, "at", "kind", "text", fmt="%H:%M")
            if kind in engine.STEP_KINDS]


def test_each_step_comes_at_reached_plus_delay_exactly(scenario_db):
    incident_id = open_one(scenario_db)
    for minutes, kind, text in STEPS:
        at = T0 + minutes * MIN
        assert advance(scenario_db, incident_id, at - timedelta(seconds=1)) == []  # not a second early
        events = advance(scenario_db, incident_id, at)
        assert [e.kind for e in events if e.kind != "page"] == [kind]
        assert {e.at for e in events} == {at}
    assert [(at, kind) for at, kind, _ in steps(scenario_db, incident_id)] == [
        (f"{10 + m // 60}:{m % 60:02d}", kind) for m, kind, _ in STEPS]
    for (_, _, text), (_, _, expected) in zip(steps(scenario_db, incident_id), STEPS):
        assert expected is None or expected in text
    assert pages(scenario_db, "user", "level", "at", fmt="%H:%M") == [
        ("alice", 0, "10:00"), ("grace", 1, "10:05"), ("alice", 0, "10:15"), ("grace", 1, "10:20")]


def test_after_the_last_pass_it_is_exhausted_and_stays_quiet(scenario_db):
    incident_id = open_one(scenario_db)
    advance(scenario_db, incident_id, T0 + 30 * MIN)
    with scenario_db.read() as session:
        incident = lifecycle.get(session, incident_id)
        assert incident.next_escalation_at is None and incident.status == "triggered"
    before = (timeline(scenario_db, incident_id), pages(scenario_db))
    assert advance(scenario_db, incident_id, T0 + timedelta(days=3)) == []
    assert (timeline(scenario_db, incident_id), pages(scenario_db)) == before


def test_a_catch_up_run_equals_step_by_step_runs(scenario_db):
    stepped = open_one(scenario_db, "stepped")
    caught_up = open_one(scenario_db, "caught up")
    for minute in range(0, 41):
        advance(scenario_db, stepped, T0 + minute * MIN)
    events = advance(scenario_db, caught_up, T0 + 40 * MIN)
    assert [e.at for e in events] == sorted(e.at for e in events)  # each step at its own instant
    assert timeline(scenario_db, stepped, "at", "kind", "text")[1:] == \
        timeline(scenario_db, caught_up, "at", "kind", "text")[1:]  # all but the title
    assert pages(scenario_db, "user", "level", "step", "at", incident_id=stepped) == \
        pages(scenario_db, "user", "level", "step", "at", incident_id=caught_up)
    assert len(steps(scenario_db, caught_up)) == len(STEPS)


def test_an_acknowledgement_stops_it(scenario_db):
    incident_id = open_one(scenario_db)
    advance(scenario_db, incident_id, T0 + 5 * MIN)
    with scenario_db.write() as session:
        lifecycle.acknowledge(session, T0 + 6 * MIN, lifecycle.get(session, incident_id), "grace")
    before = (timeline(scenario_db, incident_id), pages(scenario_db))
    assert advance(scenario_db, incident_id, T0 + timedelta(hours=5)) == []
    assert (timeline(scenario_db, incident_id), pages(scenario_db)) == before
    assert [kind for _, kind, _ in steps(scenario_db, incident_id)] == ["escalated"]
