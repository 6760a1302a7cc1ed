"""`pager serve` writes what `pager trigger -` writes: the same PagerDuty
events (new keys, repeats, a severity raise, change events, acknowledge,
resolve, a `dedup: service` group, events for no open incident), posted one
by one to a server and piped as one stream into `trigger -`, leave the same
incidents, timeline, alert keys, pages and deliveries in two databases.
Instants are left out (each process reads its own clock); everything else
is compared row for row, ids included, and each incident's timeline entry
for entry."""

from __future__ import annotations

import json
import threading

import pytest

from conftest import run_pager
from dbread import rows
from serve_kit import CONFIG, KEY, TOKEN, hook_file, start  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

GROUPED_KEY = "9999999999999999999999999999999a"
SHOP_KEY = "e93facc04764012d7bfb002500d5d1a6"
MIXED_CONFIG = CONFIG.replace(  # the scenario's `grouped` (dedup: service) with a routing key
    "  grouped:\n    escalation_policy: main\n", f"  grouped:\n    escalation_policy: main\n    routing_key: {GROUPED_KEY}\n")


def _trigger(key: str, summary: str, severity: str = "warning", routing: str = KEY) -> dict:
    return {"routing_key": routing, "event_action": "trigger", "dedup_key": key,
            "payload": {"summary": summary, "source": "db1", "severity": severity, "custom_details": {"k": key}}}


def _event(action: str, key: str, routing: str = KEY) -> dict:
    return {"routing_key": routing, "event_action": action, "dedup_key": key}


def _change(summary: str, routing: str = KEY) -> dict:
    return {"routing_key": routing, "payload": {"summary": summary, "source": "ci"}}


EVENTS = [
    _trigger("db/disk", "Disk full on db1"),  # new
    _trigger("web/5xx", "5xx rate high", "error"),  # new
    _trigger("db/disk", "Disk full on db1"),  # a repeat
    _trigger("db/disk", "Disk full on db1", "critical"),  # a repeat, more severe: raised
    _change("Deployed web v2.3.1"),  # on both open incidents
    _event("acknowledge", "db/disk"),
    _event("acknowledge", "db/disk"),  # already acknowledged: ignored
    _event("resolve", "web/5xx"),
    _trigger("web/5xx", "5xx rate high again", "error"),  # the key resolved: a new incident
    _event("resolve", "no/such"),  # nothing open: ignored
    _trigger("ping/a", "Ping a down", routing=GROUPED_KEY),  # a `dedup: service` group
    _trigger("ping/b", "Ping b down", routing=GROUPED_KEY),
    _event("resolve", "ping/a", routing=GROUPED_KEY),  # b still fires: ignored, on the timeline
    _trigger("cart/slow", "Cart slow", routing=SHOP_KEY),  # another service
    _change("Config pushed", routing=GROUPED_KEY),
    _event("resolve", "ping/b", routing=GROUPED_KEY),  # the last one: the incident resolves
    _trigger("db/disk", "Disk full on db1"),  # acknowledged incident: deduplicated
    _event("resolve", "db/disk"),
]

QUERIES = {
    "incidents": "SELECT id, service, title, severity, status, dedup_key, alert_count, assignees, escalation_policy,"
                 " escalation_level, escalation_pass, escalation_step, acknowledged_by, resolved_by, details"
                 " FROM incident ORDER BY id",
    # each incident's timeline, in order; how the entries of different
    # incidents interleave depends on the batches (one a request here, one a
    # stream there), as it does with `trigger -`'s own --batch-size
    "timeline": "SELECT incident_id, kind, by, text FROM timeline ORDER BY incident_id, id",
    "alerts": "SELECT incident_id, alert_key, title, status FROM incident_alert ORDER BY incident_id, alert_key",
    "pages": "SELECT incident_id, user, step, level, channel FROM page ORDER BY id",
    "deliveries": "SELECT incident_id, user, contact, event, rule, level, step FROM delivery ORDER BY id",
}


def _database(db) -> dict[str, list]:  # noqa: ANN001
    return {name: rows(db, sql) for name, sql in QUERIES.items()}


def _second_database(pager_engine, request, tmp_path):  # noqa: ANN001, ANN202
    if pager_engine == "sqlite":
        return str(tmp_path / "trigger.db"), None
    server = request.getfixturevalue("pg_server")
    name = server.fresh()
    return server.url(name), (server, name)


def test_serve_and_trigger_stdin_leave_the_same_rows(tmp_path, db_path, pager_engine, request, hook_file):
    config = tmp_path / "mixed.yaml"
    config.write_text(MIXED_CONFIG)
    other, dropped = _second_database(pager_engine, request, tmp_path)
    try:
        for db in (str(db_path), other):
            run_pager("schedules", "apply", config, env={"PAGER_DB": db, "PAGER_SERVE_TOKEN": TOKEN}, check=True)

        served = start("--", "--interval", "1s")
        try:
            con = served.connection()
            for number, event in enumerate(EVENTS, 1):
                path = "/v2/enqueue" if "event_action" in event else "/v2/change/enqueue"
                con.request("POST", path, body=json.dumps(event), headers={"Content-Type": "application/json"})
                response = con.getresponse()
                assert (number, response.status) == (number, 202), response.read()
                response.read()
            con.close()
        finally:
            code, err = served.stop()
        assert code == 0, err

        stream = "".join(json.dumps(event) + "\n" for event in EVENTS)
        piped = run_pager("trigger", "-", input=stream, env={"PAGER_DB": other, "PAGER_USER": "serve"})
        assert piped.returncode == 0, piped.stderr

        served_rows, piped_rows = _database(db_path), _database(other)
        for name in QUERIES:
            assert (name, served_rows[name]) == (name, piped_rows[name])
        # the comparison is not empty: every kind of row was written
        assert [len(served_rows[name]) > 0 for name in QUERIES] == [True] * len(QUERIES)
        assert [(r[1], r[4], r[6]) for r in served_rows["incidents"]] == [
            ("web", "resolved", 4), ("web", "resolved", 1), ("web", "triggered", 1), ("grouped", "resolved", 2),
            ("shop", "triggered", 1)]
        kinds = {r[1] for r in served_rows["timeline"]}
        assert {"alert", "severity", "change", "acknowledged", "resolved", "alert_resolved"} <= kinds
    finally:
        if dropped is not None:
            dropped[0].drop(dropped[1])


def test_concurrent_events_commit_in_few_batches_and_all_count(tmp_path, db_path, hook_file):
    """Many clients at once (group commit): every 202 is an alert in the
    database, on the one incident of its key."""
    config = tmp_path / "mixed.yaml"
    config.write_text(MIXED_CONFIG)
    run_pager("schedules", "apply", config, env={"PAGER_SERVE_TOKEN": TOKEN}, check=True)
    served = start("--", "--interval", "1s")
    accepted: list[int] = []

    def client(worker: int) -> None:
        con = served.connection()
        for i in range(25):
            con.request("POST", "/v2/enqueue", body=json.dumps(_trigger(f"key-{i % 5}", f"Host {i % 5} down")),
                        headers={"Content-Type": "application/json"})
            response = con.getresponse()
            response.read()
            accepted.append(response.status)
        con.close()

    try:
        threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        code, err = served.stop()
    assert code == 0, err
    assert accepted == [202] * 200
    assert rows(db_path, "SELECT dedup_key, alert_count FROM incident ORDER BY dedup_key") == [
        (f"key-{k}", 40) for k in range(5)]
    assert rows(db_path, "SELECT count(*) FROM timeline WHERE kind = 'alert'") == [(195,)]
