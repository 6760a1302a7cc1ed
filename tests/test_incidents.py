"""Incidents through the CLI: trigger and dedup, the state machine, notes, the
timeline, JSON shapes, and text shown literally. State is checked in the
database, not only in what is printed."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from pager_cli.store import tables as m
from pager_cli.incidents.lifecycle import auto_key
from dbread import incidents, kinds
from scenario import write_scenario

T0 = "2026-11-23T10:00:00Z"  # alice holds primary (day 22 since 11-01 09:00 → even → alice)


@pytest.fixture
def setup(cli, tmp_path):
    r = cli("schedules", "apply", write_scenario(tmp_path))
    assert r.code == 0, r
    return cli


def trigger(cli, *args, now=T0):
    return cli("--now", now, "trigger", *args)


def test_trigger_opens_an_incident_assigns_and_pages_level_0(setup, db):
    r = trigger(setup, "--service", "payments", "--severity", "P1", "DB connection failed", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["id"] == 1 and doc["status"] == "triggered" and doc["severity"] == "critical"
    assert doc["assignees"] == ["alice"] and doc["escalation_level"] == 0
    assert doc["dedup_key"] == auto_key("DB connection failed")
    assert doc["created_at"] == "2026-11-23T10:00:00Z" and doc["acknowledged_at"] is None
    # pages go to stderr under --json, stdout stays JSON
    assert "PAGE alice #1 [critical] payments: DB connection failed" in r.err
    [row] = incidents(db)
    assert row.assignees == ["alice"] and row.alert_count == 1
    with db.read() as s:
        pages = list(s.exec(select(m.Page)))
    assert [(p.user, p.level, p.step) for p in pages] == [("alice", 0, 0)]
    assert kinds(db, 1) == ["triggered", "notified"]


def test_human_trigger_prints_the_page_and_the_id(setup):
    r = trigger(setup, "--service", "payments", "disk full")
    assert r.code == 0
    assert r.out.splitlines() == ["PAGE alice #1 [error] payments: disk full", "#1 created"]


def test_dedup_while_triggered_and_acknowledged_then_new_after_resolve(setup, db):
    for _ in range(3):
        assert trigger(setup, "--service", "payments", "flaky").code == 0
    [row] = incidents(db)
    assert row.alert_count == 3
    with db.read() as s:
        assert len(list(s.exec(select(m.Page)))) == 1  # a dedup pages nobody
    assert setup("--now", T0, "ack", "1").code == 0
    r = trigger(setup, "--service", "payments", "flaky", "--json", now="2026-11-23T10:05:00Z")
    assert r.json()["id"] == 1 and r.json()["alert_count"] == 4 and r.json()["status"] == "acknowledged"
    assert r.json()["last_alert_at"] == "2026-11-23T10:05:00Z"
    assert setup("--now", T0, "resolve", "1").code == 0
    r = trigger(setup, "--service", "payments", "flaky", "--json")
    assert r.json()["id"] == 2 and r.json()["alert_count"] == 1
    assert kinds(db, 1).count("alert") == 3


def test_explicit_dedup_key_and_same_key_in_two_services(setup, db):
    trigger(setup, "--service", "payments", "a", "--dedup-key", "k1")
    trigger(setup, "--service", "payments", "b", "--dedup-key", "k1")
    trigger(setup, "--service", "strict", "c", "--dedup-key", "k1")
    rows = incidents(db)
    assert [(r.service, r.alert_count) for r in rows] == [("payments", 2), ("strict", 1)]
    r = setup("--now", T0, "ack", "--key", "k1")
    assert r.code == 2 and "several services" in r.err
    r = setup("--now", T0, "ack", "--key", "k1", "--service", "strict")
    assert r.code == 0
    assert [x.status for x in incidents(db)] == ["triggered", "acknowledged"]
    assert setup("--now", T0, "ack", "--key", "nope").code == 3


def test_dedup_service_keeps_one_open_incident_per_service(setup, db):
    trigger(setup, "--service", "grouped", "500s on /")
    trigger(setup, "--service", "grouped", "latency high")
    [row] = incidents(db)
    assert row.dedup_key == "grouped" and row.alert_count == 2 and row.title == "500s on /"


def test_each_kind_of_outcome_has_its_exit_code(setup, db):
    """What the commands add to the state machine (tests/session/test_state_machine.py
    covers every pair): a change is 0, a no-op 0 with "already", a forbidden
    pair or a resolve before the required ack 4, each leaving the row as it was."""
    trigger(setup, "--service", "payments", "x")
    trigger(setup, "--service", "strict", "y")
    assert setup("--now", T0, "ack", "1").code == 0
    r = setup("--now", T0, "ack", "1")
    assert r.code == 0 and "already" in r.err
    r = setup("--now", T0, "resolve", "2")
    assert r.code == 4 and "requires an acknowledgement" in r.err
    assert setup("--now", T0, "resolve", "1").code == 0
    r = setup("--now", T0, "resolve", "1")
    assert r.code == 0 and "already" in r.err
    for action in ("ack", "escalate"):
        r = setup("--now", T0, action, "1")
        assert r.code == 4 and r.err.startswith("Error: cannot"), r
    assert [x.status for x in incidents(db)] == ["resolved", "triggered"]


def test_several_ids_each_reported_worst_exit_code(setup, db):
    trigger(setup, "--service", "payments", "a")
    trigger(setup, "--service", "payments", "b")
    r = setup("--now", T0, "ack", "1", "99", "2")
    assert r.code == 3
    assert "#1 acknowledged" in r.out and "#2 acknowledged" in r.out and "no incident #99" in r.err
    assert [x.status for x in incidents(db)] == ["acknowledged", "acknowledged"]
    setup("--now", T0, "resolve", "1")
    r = setup("--now", T0, "ack", "1", "2")  # 1 resolved → 4; 2 already acked → noop
    assert r.code == 4


def test_escalate_moves_to_next_level_and_pages(setup, db):
    trigger(setup, "--service", "payments", "x")
    setup("--now", T0, "ack", "1")
    r = setup("--now", "2026-11-23T10:01:00Z", "escalate", "1", "--by", "alice")
    assert r.code == 0
    assert "PAGE grace #1 [error] payments: x" in r.out
    [row] = incidents(db)
    assert row.status == "triggered" and row.escalation_level == 1 and row.assignees == ["grace"]
    assert row.acknowledged_at is None and row.first_acknowledged_at is not None
    assert kinds(db, 1)[-3:] == ["escalated", "notified"] or "escalated" in kinds(db, 1)


def test_service_without_policy_is_unassigned_with_a_warning(setup, db):
    r = trigger(setup, "--service", "catch-all", "mystery")
    assert r.code == 0 and "Warning:" in r.err and "no escalation policy" in r.err
    [row] = incidents(db)
    assert row.assignees == [] and row.next_escalation_at is None
    with db.read() as s:
        entries = list(s.exec(select(m.TimelineEntry)))
    assert any(e.kind == "reassigned" and "no escalation policy" in e.text for e in entries)


def test_nobody_on_call_leaves_it_unassigned_and_says_why(setup, db):
    r = trigger(setup, "--service", "night-shift", "x")  # 10:00 is outside 20:00–08:00
    assert r.code == 0 and "PAGE" not in r.out
    [row] = incidents(db)
    assert row.assignees == [] and row.next_escalation_at is not None
    with db.read() as s:
        texts = [e.text for e in s.exec(select(m.TimelineEntry).where(m.TimelineEntry.kind == "reassigned"))]
    assert texts == ["unassigned: nobody on call in schedule nights"]


def test_usage_errors(setup):
    assert trigger(setup, "--service", "payments", "x", "--severity", "bogus").code == 2
    assert trigger(setup, "--service", "nope", "x").code == 3
    assert trigger(setup, "--service", "payments", "x", "--details", "[1]").code == 2
    assert trigger(setup, "--service", "payments", "   ").code == 2
    assert setup("show", "42").code == 3
    assert setup("--now", "yesterday-ish", "list").code == 2
    assert setup("list", "--status", "weird").code == 2


def test_full_life_cycle_timeline_and_json_shape(setup):
    trigger(setup, "--service", "payments", "DB down", "--severity", "critical", "--details", '{"host": "db1"}')
    trigger(setup, "--service", "payments", "DB down", now="2026-11-23T10:01:00Z")
    setup("--now", "2026-11-23T10:02:00Z", "note", "1", "looking", "--by", "bob")
    setup("--now", "2026-11-23T10:03:00Z", "ack", "1", "--by", "alice")
    setup("--now", "2026-11-23T10:09:00Z", "resolve", "1", "--by", "alice")
    doc = setup("show", "1", "--json").json()
    assert set(doc) == {"id", "service", "title", "severity", "status", "dedup_key", "alert_count", "assignees",
                        "escalation_level", "created_at", "last_alert_at", "acknowledged_at", "acknowledged_by",
                        "resolved_at", "resolved_by", "details", "timeline", "deliveries",
                        "held_until", "snoozed_until"}  # show's timers (PRODUCT §12)
    assert doc["held_until"] is None and doc["snoozed_until"] is None
    assert doc["deliveries"] == []  # nobody in the example config has contacts
    assert doc["status"] == "resolved" and doc["alert_count"] == 2 and doc["details"] == {"host": "db1"}
    assert doc["acknowledged_at"] == "2026-11-23T10:03:00Z" and doc["acknowledged_by"] == "alice"
    assert doc["resolved_at"] == "2026-11-23T10:09:00Z" and doc["resolved_by"] == "alice"
    assert [(e["kind"], e["by"]) for e in doc["timeline"]] == [
        ("triggered", None), ("notified", None), ("alert", None), ("note", "bob"), ("acknowledged", "alice"),
        ("resolved", "alice"),
    ]
    assert doc["timeline"][3]["text"] == "looking" and doc["timeline"][3]["at"] == "2026-11-23T10:02:00Z"
    listed = setup("list", "--status", "all", "--json").json()
    assert [x["id"] for x in listed] == [1] and "timeline" not in listed[0]


def test_list_filters_and_order(setup):
    for i, service in enumerate(["payments", "strict", "payments"]):
        trigger(setup, "--service", service, f"t{i}", now=f"2026-11-23T10:0{i}:00Z")
    setup("--now", "2026-11-23T10:05:00Z", "ack", "2")  # after it opened (10:01)
    setup("--now", "2026-11-23T10:05:00Z", "resolve", "2")
    ids = lambda *a: [x["id"] for x in setup("--now", "2026-11-23T11:00:00Z", "list", *a, "--json").json()]  # noqa: E731
    assert ids() == [3, 1]
    assert ids("--status", "all") == [3, 2, 1]
    assert ids("--status", "resolved") == [2]
    assert ids("--service", "payments") == [3, 1]
    assert ids("--since", "2026-11-23T10:01:00Z", "--status", "all") == [3, 2]
    assert ids("--since", "-59m", "--status", "all") == [3, 2]
    assert ids("--limit", "1") == [3]


HOSTILE = "[bold red]boom[/] \x1b[2J\x1b]0;owned\x07 [link=http://x]y[/link]"


def test_markup_and_escapes_are_shown_literally(setup):
    r = trigger(setup, "--service", "payments", HOSTILE, "--details", json.dumps({"k": "\x1b[31m"}))
    assert r.code == 0
    assert "\x1b" not in r.out and "[bold red]boom[/]" in r.out
    for args in (["list"], ["show", "1"], ["services"]):
        out = setup("--now", T0, *args).out
        assert "\x1b" not in out and "\x07" not in out, args
    out = setup("--now", T0, "list").out
    assert "[bold red]boom[/]" in out and "\\x1b[2J" in out
    out = setup("--now", T0, "show", "1").out
    assert "[link=http://x]y[/link]" in out
    doc = setup("show", "1", "--json").json()
    assert doc["title"] == HOSTILE  # JSON keeps the exact text, escaped by JSON itself


def test_services_health(setup):
    trigger(setup, "--service", "payments", "x")
    docs = {d["service"]: d for d in setup("services", "--json").json()}
    assert docs["payments"]["healthy"] is False and docs["payments"]["open_incidents"] == 1
    assert docs["grouped"]["healthy"] is True and docs["catch-all"]["escalation_policy"] is None
    out = setup("services").out
    assert "unhealthy" in out and "payments" in out


def test_list_json_limit_0_streams_every_row_as_one_valid_array(setup, db):
    """More rows than one chunk of the streamed read: all of them, newest first,
    in one JSON array, the same text a listing built in memory would print."""
    from pager_cli.app.incidents import LIST_CHUNK
    from pager_cli.cli.output import dumps
    from pager_cli.incidents import queries, views

    n = LIST_CHUNK + 7
    body = "".join(f'{{"service": "payments", "title": "t{i}", "dedup_key": "k{i}"}}\n' for i in range(n))
    assert setup("--now", T0, "trigger", "-", input=body).code == 0
    r = setup("list", "--json", "--limit", "0", "--status", "all")
    assert r.code == 0, r
    docs = json.loads(r.out)
    assert [d["id"] for d in docs] == list(range(n, 0, -1))
    with db.read() as session:
        expected = [views.to_json(i) for i in queries.listing(session, "all", limit=0)]
    assert r.out == dumps(expected) + "\n"
    empty = setup("list", "--json", "--limit", "0", "--service", "grouped")
    assert empty.code == 0 and empty.out == "[]\n"
    assert setup("list", "--json", "--limit", "0", "--service", "nope").code == 3  # no such service
