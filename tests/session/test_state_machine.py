"""incidents/lifecycle as a state machine: every (status, action) pair of
TRANSITIONS, every pair it leaves out (Conflict), and what each writes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dbread import incidents, kinds
from pager_cli.errors import Conflict
from pager_cli.incidents import lifecycle
from pager_cli.incidents.lifecycle import NOOP, TRANSITIONS
from session.conftest import T0

STATUSES = ("triggered", "acknowledged", "resolved")
ACTIONS = ("acknowledge", "resolve", "escalate")
FORBIDDEN = sorted({(s, a) for s in STATUSES for a in ACTIONS} - set(TRANSITIONS))


def open_in(db, status: str, service: str = "payments") -> int:
    """A new incident brought to `status` at T0 + 1 minute; its id."""
    with db.write() as session:
        incident = lifecycle.trigger(session, T0, service, f"{status} incident").incident
        session.flush()
        if status in ("acknowledged", "resolved"):
            lifecycle.acknowledge(session, T0 + timedelta(minutes=1), incident, "alice")
        if status == "resolved":
            lifecycle.resolve(session, T0 + timedelta(minutes=1), incident, "alice")
        return incident.id


def act(db, incident_id: int, action: str, minutes: int = 2):
    with db.write() as session:
        incident = lifecycle.get(session, incident_id)
        return getattr(lifecycle, action)(session, T0 + timedelta(minutes=minutes), incident, "bob")


def test_the_table_covers_the_allowed_pairs_only():
    assert FORBIDDEN == [("resolved", "acknowledge"), ("resolved", "escalate")]


@pytest.mark.parametrize(("status", "action"), sorted(TRANSITIONS), ids=lambda v: v)
def test_every_allowed_pair_ends_in_its_status(scenario_db, status, action):
    incident_id = open_in(scenario_db, status)
    before = kinds(scenario_db, incident_id)
    outcome = act(scenario_db, incident_id, action)
    target = TRANSITIONS[(status, action)]
    [row] = incidents(scenario_db, id=incident_id)
    if target == NOOP:
        assert outcome.action == NOOP and row.status == status
        assert kinds(scenario_db, incident_id) == before  # a no-op writes nothing
    else:
        assert row.status == target
        added = kinds(scenario_db, incident_id)[len(before):]
        assert added[0] == {"acknowledge": "acknowledged", "resolve": "resolved", "escalate": "escalated"}[action]


@pytest.mark.parametrize(("status", "action"), FORBIDDEN, ids=lambda v: v)
def test_every_forbidden_pair_is_a_conflict_that_changes_nothing(scenario_db, status, action):
    incident_id = open_in(scenario_db, status)
    before = (incidents(scenario_db, id=incident_id), kinds(scenario_db, incident_id))
    with pytest.raises(Conflict, match=f"cannot {action} incident #{incident_id}: it is {status}"):
        act(scenario_db, incident_id, action)
    assert (incidents(scenario_db, id=incident_id), kinds(scenario_db, incident_id)) == before


def test_require_ack_before_resolve(scenario_db):
    incident_id = open_in(scenario_db, "triggered", service="strict")
    with pytest.raises(Conflict, match="requires an acknowledgement first"):
        act(scenario_db, incident_id, "resolve")
    assert incidents(scenario_db, id=incident_id)[0].status == "triggered"
    act(scenario_db, incident_id, "acknowledge", minutes=3)
    act(scenario_db, incident_id, "resolve", minutes=4)
    assert incidents(scenario_db, id=incident_id)[0].status == "resolved"
    # the other services resolve straight from triggered
    other = open_in(scenario_db, "triggered")
    assert act(scenario_db, other, "resolve").action == "resolved"


def test_a_trigger_after_resolve_opens_a_new_incident(scenario_db):
    with scenario_db.write() as session:
        first = lifecycle.trigger(session, T0, "payments", "DB down", dedup_key="db")
        second = lifecycle.trigger(session, T0 + timedelta(minutes=1), "payments", "DB down", dedup_key="db")
        assert (first.action, second.action, second.incident.id) == ("created", "deduplicated", first.incident.id)
    act(scenario_db, first.incident.id, "resolve", minutes=2)
    with scenario_db.write() as session:
        third = lifecycle.trigger(session, T0 + timedelta(minutes=3), "payments", "DB down", dedup_key="db")
    assert third.action == "created" and third.incident.id != first.incident.id
    assert [(r.status, r.alert_count, r.dedup_key) for r in incidents(scenario_db)] == [
        ("resolved", 2, "db"), ("triggered", 1, "db")]


def test_ack_ms_and_resolve_ms_count_from_creation_and_the_first_ack_stays(scenario_db):
    incident_id = open_in(scenario_db, "triggered")
    act(scenario_db, incident_id, "acknowledge", minutes=2)
    act(scenario_db, incident_id, "escalate", minutes=3)  # back to triggered
    act(scenario_db, incident_id, "acknowledge", minutes=7)
    act(scenario_db, incident_id, "resolve", minutes=10)
    [row] = incidents(scenario_db, id=incident_id)
    assert (row.ack_ms, row.resolve_ms) == (120_000, 600_000)
    assert row.acknowledged_by == "bob" and row.resolved_by == "bob"


def test_an_ack_dated_before_creation_is_refused(scenario_db):
    from pager_cli.errors import UsageError

    incident_id = open_in(scenario_db, "triggered")
    with pytest.raises(UsageError, match="it was created at"):
        act(scenario_db, incident_id, "acknowledge", minutes=-1)
    assert incidents(scenario_db, id=incident_id)[0].ack_ms is None
