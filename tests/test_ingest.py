"""`pager trigger -`: alert streams committed in batches. The real payloads in
tests/fixtures as they are, mixed good and bad records, dedup across batch
boundaries, the order of records inside a batch, the NDJSON and human output,
the latency flush of a quiet pipe, and concurrent streams. Outcomes are
checked in the database, not only in what is printed."""

from __future__ import annotations

import io
import json
import select as select_module
import subprocess
import sys
import time
from datetime import datetime

import pytest
from sqlmodel import select

from conftest import FIXTURES, run_pager, start_pager
from dbread import incidents, pages, timeline
from pager_cli.store import tables as m
from pager_cli.incidents.lifecycle import auto_key
from scenario import SCENARIO_YAML, write_scenario

T0 = "2026-11-23T10:00:00Z"  # alice holds `primary` then
AM_KEYS = ["am:791cec13fcba0368", "am:8df98227bdd81384"]
AM_TITLES = ["Instance 127.0.0.1:9090 down", "Instance localhost:9090 down"]

# The PagerDuty samples' routing keys, owned by services; no default service.
PD_YAML = SCENARIO_YAML.replace("default_service: catch-all\n", "") + """\
  sample:
    escalation_policy: main
    routing_key: samplekeyhere
  pd:
    escalation_policy: main
    routing_key: routingkeyhere
"""
NO_DEFAULT_YAML = SCENARIO_YAML.replace("default_service: catch-all\n", "")


@pytest.fixture
def setup(cli, tmp_path):
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    return cli


def apply(cli, tmp_path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    r = cli("schedules", "apply", path)
    assert r.code == 0, r


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ingest(cli, data: bytes | str, *args: str, now: str = T0):
    """Run `trigger - --json`; (exit code, the NDJSON documents, stderr)."""
    r = cli("--now", now, "trigger", "-", "--json", *args, input=data)
    docs = [json.loads(line) for line in r.out.splitlines()]
    return r.code, docs, r.err


def ndjson(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def out(record: int, action: str, incident: int | None, key: str | None, error: str | None = None) -> dict:
    return {"record": record, "action": action, "incident": incident, "dedup_key": key, "error": error}


# --------------------------------------------------------------------------
# The real payloads.


def test_alertmanager_firing_opens_two_incidents_then_resolved_closes_them(setup, db):
    code, docs, err = ingest(setup, fixture("alertmanager-firing.json"), "--service", "payments")
    assert code == 0, err
    assert docs == [out(1, "created", 1, AM_KEYS[0]), out(2, "created", 2, AM_KEYS[1])]
    rows = incidents(db)
    assert [(r.service, r.title, r.severity, r.dedup_key, r.assignees) for r in rows] == [
        ("payments", AM_TITLES[0], "critical", AM_KEYS[0], ["alice"]),
        ("payments", AM_TITLES[1], "critical", AM_KEYS[1], ["alice"]),
    ]
    assert rows[0].details["labels"]["instance"] == "127.0.0.1:9090"
    assert pages(db, "incident_id", "user", "level") == [(1, "alice", 0), (2, "alice", 0)]
    assert f"PAGE alice #1 [critical] payments: {AM_TITLES[0]}" in err  # stderr: stdout is JSON

    # The same body again adds an alert to each.
    code, docs, _ = ingest(setup, fixture("alertmanager-firing.json"), "--service", "payments")
    assert docs == [out(1, "deduplicated", 1, AM_KEYS[0]), out(2, "deduplicated", 2, AM_KEYS[1])]

    resolved = fixture("alertmanager-firing.json").replace(b'"status": "firing"', b'"status": "resolved"')
    code, docs, err = ingest(setup, resolved, "--service", "payments")
    assert code == 0, err
    assert docs == [out(1, "resolved", 1, AM_KEYS[0]), out(2, "resolved", 2, AM_KEYS[1])]
    assert [(r.status, r.alert_count, r.resolved_by) for r in incidents(db)] == [("resolved", 2, "tester")] * 2
    assert timeline(db, 1) == [("triggered", AM_TITLES[0]), ("notified", "paged alice (level 0)"),
                               ("alert", AM_TITLES[0]), ("resolved", "")]
    # Resolving again finds nothing open: ignored, not an error.
    code, docs, _ = ingest(setup, resolved, "--service", "payments")
    assert code == 0 and [d["action"] for d in docs] == ["ignored", "ignored"]
    assert [d["incident"] for d in docs] == [None, None]


def test_alertmanager_without_service_goes_to_the_default_service(setup, db):
    code, docs, err = ingest(setup, fixture("alertmanager-firing.json"))
    assert code == 0, err
    assert [r.service for r in incidents(db)] == ["catch-all", "catch-all"]
    assert "has no escalation policy: incident #1 is unassigned" in err
    assert pages(db, "incident_id", "user", "level") == []


def test_pagerduty_trigger_with_an_unknown_routing_key_goes_to_the_default_service(setup, db):
    code, docs, err = ingest(setup, fixture("pagerduty-v2-trigger.json"))
    assert code == 0, err
    assert docs == [out(1, "created", 1, "samplekeyhere")]
    [row] = incidents(db)
    assert (row.service, row.title, row.severity) == ("catch-all", "Example alert on host1.example.com", "info")
    assert row.details["custom_details"] == {"ping time": "1500ms", "load avg": 0.75}
    assert row.details["timestamp"] == "2015-07-17T08:42:58.315+0000"
    assert "Warning: record 1 (line 1): unknown routing key: sent to catch-all" in err
    assert "samplekeyhere" not in err  # a routing key is never shown


def test_pagerduty_routing_keys_select_services_and_drive_the_life_cycle(cli, tmp_path, db):
    apply(cli, tmp_path, PD_YAML)
    code, docs, err = ingest(cli, fixture("pagerduty-v2-trigger.json"))
    assert code == 0, err
    assert docs == [out(1, "created", 1, "samplekeyhere")]
    assert incidents(db)[0].service == "sample" and incidents(db)[0].assignees == ["alice"]

    # The acknowledge and resolve samples name routingkeyhere / dedupkeyhere.
    trigger = {"routing_key": "routingkeyhere", "dedup_key": "dedupkeyhere", "event_action": "trigger",
               "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "critical"}}
    stream = ndjson([trigger]) + fixture("pagerduty-v2-acknowledge.json")
    code, docs, err = ingest(cli, stream)
    assert code == 0, err
    assert docs == [out(1, "created", 2, "dedupkeyhere"), out(2, "acknowledged", 2, "dedupkeyhere")]
    code, docs, err = ingest(cli, fixture("pagerduty-v2-resolve.json"))
    assert code == 0, err
    assert docs == [out(1, "resolved", 2, "dedupkeyhere")]
    row = incidents(db)[1]
    assert (row.service, row.status, row.acknowledged_by, row.resolved_by) == ("pd", "resolved", "tester", "tester")
    assert [kind for kind, _ in timeline(db, 2)] == ["triggered", "notified", "acknowledged", "resolved"]


def test_pagerduty_unknown_routing_key_without_default_service_is_an_error(cli, tmp_path, db):
    apply(cli, tmp_path, NO_DEFAULT_YAML)
    code, docs, err = ingest(cli, fixture("pagerduty-v2-trigger.json"))
    assert code == 1
    assert docs == [out(1, "error", None, None, "unknown routing key (and no default_service in the config)")]
    assert "Error: record 1 (line 1): unknown routing key" in err
    assert incidents(db) == []


def test_pagerduty_trigger_without_dedup_key_gets_one_in_the_output(setup, db):
    body = json.loads(fixture("pagerduty-v2-trigger.json"))
    del body["dedup_key"]
    body["routing_key"] = "payments"  # a service's name works as its routing key
    code, docs, _ = ingest(setup, json.dumps(body))
    assert code == 0
    key = docs[0]["dedup_key"]
    assert len(key) == 32 and incidents(db)[0].dedup_key == key and incidents(db)[0].service == "payments"


@pytest.mark.slow
def test_fixtures_through_a_real_process(setup, db):
    """stdin as a real pipe, with and without `-`."""
    body = fixture("alertmanager-firing.json")
    proc = run_pager("--now", T0, "trigger", "-", "--service", "payments", input=body)
    assert proc.returncode == 0, proc.stderr
    assert b"PAGE alice #1 [critical] payments" in proc.stdout
    assert proc.stderr.decode().strip().endswith("2 records: 2 created")
    # No TITLE and stdin not a terminal reads the stream too.
    proc = run_pager("--now", T0, "trigger", "--service", "payments", "--json", input=body)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["action"] for line in proc.stdout.splitlines()] == ["deduplicated"] * 2
    assert [r.alert_count for r in incidents(db)] == [2, 2]


# --------------------------------------------------------------------------
# Good and bad records together.


def test_mixed_stream_good_records_land_bad_ones_are_reported(setup, db):
    big = {"service": "payments", "title": "big details", "details": {"blob": "x" * (1024 * 1024)}}
    stream = b"".join([
        b'{"service": "payments", "title": "disk full", "dedup_key": "disk"}\n',  # 1
        b'{"service": "payments", "title": "cut off\n',  # 2: broken: a string runs past the line
        b'{"service": "nope", "title": "unknown service"}\n',  # 3: → catch-all
        b'{"service": "payments", "severity": "high"}\n',  # 4: no title
        json.dumps(big).encode() + b"\n",  # 5: a 1 MB record, fine
        b'{"service": "payments", "title": "disk full", "dedup_key": "disk", "severity": "whatever"}\n',  # 6
        b"[1, 2]\n",  # 7, 8: not objects
        b'{"service": "payments", "title": "' + b"y" * (5 * 1024 * 1024) + b'"}\n',  # 9: too large
        b'{"service": "grouped", "title": "after the bad ones"}\n',  # 10
    ])
    code, docs, err = ingest(setup, stream)
    assert code == 1
    assert [(d["record"], d["action"]) for d in docs] == [
        (1, "created"), (2, "error"), (3, "created"), (4, "error"), (5, "created"), (6, "deduplicated"),
        (7, "error"), (8, "error"), (9, "error"), (10, "created"),
    ]
    errors = {d["record"]: d["error"] for d in docs if d["error"]}
    assert errors[2].startswith("invalid JSON at line 2")
    assert errors[4] == "missing title (a trigger needs a title or summary)"
    assert errors[7] == errors[8] == "record is a number, not an object"
    assert errors[9] == "record larger than 4 MiB"
    assert all(d["incident"] is None and d["dedup_key"] is None for d in docs if d["action"] == "error")
    assert "Error: record 2 (line 2): invalid JSON" in err
    assert "Error: record 4 (line 4): missing title" in err
    assert "Error: record 9 (line 8): record larger than 4 MiB" in err
    assert "Warning: record 3 (line 3): unknown service 'nope': sent to catch-all" in err
    assert "Warning: record 6 (line 6): unknown severity 'whatever', using error" in err
    rows = incidents(db)
    assert [(r.service, r.title, r.alert_count) for r in rows] == [
        ("payments", "disk full", 2), ("catch-all", "unknown service", 1), ("payments", "big details", 1),
        ("grouped", "after the bad ones", 1),
    ]
    assert len(rows[2].details["blob"]) == 1024 * 1024


def test_unknown_service_without_default_service_is_an_error(cli, tmp_path, db):
    apply(cli, tmp_path, NO_DEFAULT_YAML)
    stream = ndjson([{"service": "nope", "title": "a"}, {"title": "no service at all"},
                     {"service": "payments", "title": "fine"}])
    code, docs, err = ingest(cli, stream)
    assert code == 1
    assert docs[0] == out(1, "error", None, None, "unknown service 'nope' (and no default_service in the config)")
    assert docs[1]["error"].startswith("no service (name one in the record, with --service")
    assert docs[2]["action"] == "created"
    assert [r.title for r in incidents(db)] == ["fine"]


def test_acknowledge_and_resolve_of_unknown_keys_are_ignored(setup, db):
    stream = ndjson([{"service": "payments", "action": "acknowledge", "dedup_key": "nothing"},
                     {"service": "payments", "action": "resolve", "title": "never triggered"}])
    r = setup("--now", T0, "trigger", "-", input=stream)
    assert r.code == 0, r
    assert r.err.strip() == "2 records: 2 ignored"
    code, docs, _ = ingest(setup, stream)
    assert docs == [out(1, "ignored", None, "nothing"), out(2, "ignored", None, auto_key("never triggered"))]
    assert incidents(db) == []


def test_text_lines_need_a_service(cli, tmp_path, db):
    apply(cli, tmp_path, NO_DEFAULT_YAML)
    code, docs, err = ingest(cli, b"disk full on db-1\n\n")
    assert code == 1 and docs == [out(1, "error", None, None, "plain text needs --service")]
    code, docs, _ = ingest(cli, b"disk full on db-1\ndisk full on db-1\n", "--service", "payments")
    assert code == 0
    assert [d["action"] for d in docs] == ["created", "deduplicated"]
    assert docs[0]["dedup_key"] == auto_key("disk full on db-1")


def test_text_lines_take_the_config_default_service(setup, db):
    code, docs, _ = ingest(setup, "\ufeffdisk full\n".encode())  # a byte order mark is dropped
    assert code == 0 and docs[0]["action"] == "created"
    assert [(r.service, r.title) for r in incidents(db)] == [("catch-all", "disk full")]


def test_unknown_service_option_is_not_found(setup):
    r = setup("trigger", "-", "--service", "nope", input=b'{"title": "x"}\n')
    assert r.code == 3 and "no service 'nope'" in r.err


# --------------------------------------------------------------------------
# Batches and order.


def test_dedup_counts_across_batch_boundaries(setup, db):
    keys = ["a", "b", "c"]
    records = [{"service": "payments", "title": f"problem {keys[i % 3]}", "dedup_key": keys[i % 3]}
               for i in range(50)]
    code, docs, _ = ingest(setup, ndjson(records), "--batch-size", "7")
    assert code == 0
    assert [d["record"] for d in docs] == list(range(1, 51))
    assert [d["action"] for d in docs] == ["created"] * 3 + ["deduplicated"] * 47
    assert [d["incident"] for d in docs] == [1, 2, 3] * 16 + [1, 2]
    rows = incidents(db)
    assert [(r.dedup_key, r.alert_count) for r in rows] == [("a", 17), ("b", 17), ("c", 16)]
    for row in rows:
        entries = timeline(db, row.id)
        assert [kind for kind, _ in entries].count("alert") == row.alert_count - 1
        assert entries[:2] == [("triggered", row.title), ("notified", "paged alice (level 0)")]
    assert len(pages(db, "incident_id", "user", "level")) == 3  # only the openings paged


def test_records_apply_in_order_within_one_batch(setup, db):
    k = {"service": "payments", "title": "flapping", "dedup_key": "flap"}
    stream = ndjson([
        k, k,  # 1 opens #1, 2 adds to it
        {**k, "action": "resolve"},  # 3 closes #1
        k,  # 4 opens #2
        {**k, "action": "acknowledge"}, k,  # 5 acknowledges #2, 6 adds to it
        {**k, "action": "acknowledge"},  # 7 already acknowledged: ignored, naming #2
        {**k, "action": "resolve"}, {**k, "action": "resolve"},  # 8 closes #2, 9 finds nothing open
        k,  # 10 opens #3
    ])
    code, docs, err = ingest(setup, stream)
    assert code == 0, err
    assert [(d["action"], d["incident"]) for d in docs] == [
        ("created", 1), ("deduplicated", 1), ("resolved", 1), ("created", 2), ("acknowledged", 2),
        ("deduplicated", 2), ("ignored", 2), ("resolved", 2), ("ignored", None), ("created", 3),
    ]
    assert [(r.status, r.alert_count) for r in incidents(db)] == [("resolved", 2), ("resolved", 2), ("triggered", 1)]
    assert [kind for kind, _ in timeline(db, 2)] == ["triggered", "notified", "acknowledged", "alert", "resolved"]
    assert [kind for kind, _ in timeline(db, 1)] == ["triggered", "notified", "alert", "resolved"]


def test_acknowledge_and_resolve_by_title(setup, db):
    t = {"service": "payments", "title": "queue backlog"}
    code, docs, _ = ingest(setup, ndjson([t, {**t, "action": "ack"}, {**t, "action": "resolved"}]))
    assert code == 0
    key = auto_key("queue backlog")
    assert docs == [out(1, "created", 1, key), out(2, "acknowledged", 1, key), out(3, "resolved", 1, key)]


def test_batches_commit_when_full_or_when_the_first_record_is_old(setup, db):
    """The batching rule itself, on a clock the test moves."""
    from pager_cli.alerts.stream import read_alerts
    from pager_cli.app.ingest import Ingest
    from pager_cli.times import UTC

    now = [0.0]
    committed = []
    ingest_ = Ingest(db, lambda: datetime(2026, 11, 23, 10, tzinfo=UTC), committed.append, batch_size=3,
                     latency=1.0, monotonic=lambda: now[0])
    alerts = list(read_alerts(io.BytesIO(ndjson([{"service": "payments", "title": f"t{i}"} for i in range(6)]))))
    assert ingest_.due_in() is None
    ingest_.add(alerts[0])
    now[0] = 0.4
    assert ingest_.due_in() == pytest.approx(0.6)
    ingest_.add(alerts[1])
    assert committed == []  # neither full nor old
    now[0] = 1.0
    ingest_.add(alerts[2])  # full, and old
    assert [len(b.results) for b in committed] == [3]
    ingest_.add(alerts[3])
    now[0] = 2.5
    assert ingest_.due_in() == 0.0  # a reader waiting on a quiet input commits now
    ingest_.commit()
    ingest_.add(alerts[4])
    now[0] = 3.6
    ingest_.add(alerts[5])  # the first of the batch is 1.1 s old when this one arrives
    ingest_.close()
    assert [[r.record for r in b.results] for b in committed] == [[1, 2, 3], [4], [5, 6]]
    assert [r.alert_count for r in incidents(db)] == [1] * 6


def test_require_ack_before_resolve_holds_the_sources_resolve(setup, db):
    s = {"service": "strict", "title": "needs an ack", "dedup_key": "s"}
    stream = ndjson([s, {**s, "action": "resolve"}, {**s, "action": "ack"}, {**s, "action": "resolve"}])
    code, docs, err = ingest(setup, stream)
    assert code == 0, err
    assert docs[1] == out(2, "ignored", 1, "s")
    assert [d["action"] for d in docs] == ["created", "ignored", "acknowledged", "resolved"]
    assert ("held", "resolved by the source; needs an acknowledgement") in timeline(db, 1)
    assert incidents(db)[0].status == "resolved"


def test_dedup_by_service(setup, db):
    code, docs, _ = ingest(setup, ndjson([{"service": "grouped", "title": "a"}, {"service": "grouped", "title": "b"}]))
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("created", "grouped"), ("deduplicated", "grouped")]
    assert timeline(db, 1)[-1] == ("alert", "b")


def test_a_stream_opens_incidents_exactly_as_trigger_does(setup, db):
    """Same assignment, escalation state, pages and timeline as `pager trigger`."""
    assert setup("--now", T0, "trigger", "--service", "payments", "--dedup-key", "one", "DB down").code == 0
    code, _, _ = ingest(setup, ndjson([{"service": "payments", "title": "DB down", "dedup_key": "two"}]))
    assert code == 0
    a, b = incidents(db)
    fields = ("service", "title", "severity", "status", "alert_count", "assignees", "escalation_policy",
              "escalation_level", "escalation_pass", "escalation_step", "level_reached_at", "next_escalation_at",
              "created_at", "last_alert_at", "details")
    assert {f: getattr(a, f) for f in fields} == {f: getattr(b, f) for f in fields}
    assert timeline(db, 1) == timeline(db, 2)
    assert [(user, level) for _, user, level in pages(db, "incident_id", "user", "level")] == [("alice", 0), ("alice", 0)]


# --------------------------------------------------------------------------
# Output.


def test_human_output_pages_on_stdout_summary_on_stderr(setup):
    stream = ndjson([{"service": "payments", "title": "disk full"}, {"service": "payments", "title": "disk full"},
                     {"service": "payments"}])
    r = setup("--now", T0, "trigger", "-", input=stream)
    assert r.code == 1
    assert r.out == "PAGE alice #1 [error] payments: disk full\n"
    assert r.err.splitlines() == [
        "Error: record 3 (line 3): missing title (a trigger needs a title or summary)",
        "3 records: 1 created, 1 deduplicated, 1 error",
    ]


def test_progress_line_on_a_terminal(setup, monkeypatch):
    import io

    from rich.console import Console

    from pager_cli.cli import ingest as cli_ingest
    from pager_cli.cli import output

    screen = io.StringIO()
    monkeypatch.setattr(cli_ingest, "_isatty", lambda stream: stream is sys.stderr)
    monkeypatch.setattr(cli_ingest, "_PROGRESS_AFTER", 0.0)
    monkeypatch.setattr(output, "console", lambda stderr=False: Console(file=screen, force_terminal=True, width=100))
    records = [{"service": "payments", "title": "t", "dedup_key": str(i % 5)} for i in range(40)]
    r = setup("--now", T0, "trigger", "-", "--batch-size", "10", input=ndjson(records))
    assert r.code == 0, r
    assert "40 records: 5 created, 35 deduplicated" in screen.getvalue()


# --------------------------------------------------------------------------
# Real processes: a quiet pipe, concurrent streams.


@pytest.mark.slow
def test_a_quiet_pipe_is_committed_within_the_latency(setup, db):
    proc = start_pager("--now", T0, "trigger", "-", "--json", "--batch-latency", "1s")
    try:
        began = time.monotonic()
        proc.stdin.write(b'{"service": "payments", "title": "first", "dedup_key": "q"}\n')
        proc.stdin.flush()
        ready, _, _ = select_module.select([proc.stdout], [], [], 30)
        assert ready, "nothing committed while the pipe stayed open"
        line = proc.stdout.readline()
        assert json.loads(line) == out(1, "created", 1, "q")
        assert time.monotonic() - began < 15  # the process start, then about one second
        [row] = incidents(db)  # committed while the pipe is still open
        assert row.title == "first"
        proc.stdin.write(b'{"service": "payments", "title": "first", "dedup_key": "q"}\n')
        proc.stdin.close()
        assert json.loads(proc.stdout.readline()) == out(2, "deduplicated", 1, "q")
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_batch_latency_option_is_checked(setup):
    r = setup("trigger", "-", "--batch-latency", "soon", input=b"")
    assert r.code == 2 and "bad duration" in r.err
