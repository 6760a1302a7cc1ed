"""Timers (PRODUCT.md §12), replayed with --now and checked in the database:
heartbeats late at the instant their rule puts them (a late run catches up),
resolved by the next ping; maintenance holds (config windows on a zone's wall
clock, DST included, and windows started from the command line) that record
alerts, page nobody and start escalating at level 0 at the window's end; ack
timeout; auto-resolve from the last alert; snooze; config removals ending a
timer; and racing escalate-check processes doing each timer once."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import run_pager, start_pager
from dbread import incidents, kinds, pages, rows, timeline

CONFIG = """\
timezone: Europe/Berlin
users:
  alice: {name: Alice}
  bob: {name: Bob}
escalation_policies:
  p:
    levels:
      - {targets: [user:alice], delay: 5m}
      - {targets: [user:bob], delay: 10m}
services:
  payments: {escalation_policy: p, ack_timeout: 30m, auto_resolve: 4h}
  backups: {escalation_policy: p}
heartbeats:
  nightly-backup: {service: backups, interval: 25h, severity: critical}
maintenance:
  - {services: [payments], days: [tue], from: "22:00", to: "23:00", timezone: Europe/Berlin}
"""


QUIET = CONFIG.replace("interval: 25h", "interval: 100d")  # for the tests of other timers


def write(tmp_path, text: str = CONFIG, name: str = "pager.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def pager(cli, tmp_path):
    r = cli("--now", "2026-12-07T01:00:00Z", "schedules", "apply", write(tmp_path))
    assert r.code == 0, r
    return cli


@pytest.fixture
def quiet(cli, tmp_path):
    r = cli("--now", "2026-12-07T01:00:00Z", "schedules", "apply", write(tmp_path, QUIET))
    assert r.code == 0, r
    return cli


def check(cli, now: str) -> list[str]:
    r = cli("--now", now, "escalate-check")
    assert r.code == 0, r
    return r.out.splitlines()


# -- config ---------------------------------------------------------------------

def test_timer_config_is_validated_with_file_and_line(cli, tmp_path):
    bad = CONFIG.replace("ack_timeout: 30m", "ack_timeout: soon").replace(
        "{service: backups, interval: 25h", "{service: nope, interval: 0s") + \
        '  - {services: [payments], days: [wed], from: "01:00"}\n'
    path = write(tmp_path, bad)
    r = cli("schedules", "validate", path)
    assert r.code == 2
    lines = r.err.splitlines()
    assert any(f"{path}:11: services.payments.ack_timeout: bad duration" in ln for ln in lines), r.err
    assert any(f"{path}:14: heartbeats.nightly-backup.service: unknown service 'nope'" in ln for ln in lines), r.err
    assert any(f"{path}:14: heartbeats.nightly-backup.interval:" in ln for ln in lines), r.err
    assert any(f"{path}:17: maintenance[1].to: missing" in ln for ln in lines), r.err  # a window without an end


def test_apply_twice_changes_nothing_and_keeps_heartbeat_state(pager, tmp_path, db_path):
    assert pager("--now", "2026-12-07T05:00:00Z", "heartbeat", "nightly-backup").code == 0
    r = pager("--now", "2026-12-07T06:00:00Z", "schedules", "apply", write(tmp_path))
    assert r.code == 0 and "heartbeat" not in r.out and "maintenance" not in r.out, r
    assert rows(db_path, "SELECT last_ping_at, late_at FROM heartbeat") == [
        ("2026-12-07 05:00:00.000000", "2026-12-08 06:00:00.000000")]


# -- heartbeats -----------------------------------------------------------------

def test_never_pinged_heartbeat_opens_its_incident_at_applied_plus_interval_even_if_checked_later(pager, db_path):
    assert check(pager, "2026-12-08T01:59:00Z") == []  # applied 01:00 + 25h = 02:00 next day
    out = check(pager, "2026-12-08T02:20:00Z")  # a late run
    assert out[0] == "LATE #1 heartbeat nightly-backup missed (last ping never): #1"
    [inc] = incidents(db_path)
    assert (inc.dedup_key, inc.title, inc.severity, inc.created_at) == (
        "heartbeat:nightly-backup", "heartbeat nightly-backup missed (last ping never)", "critical",
        "2026-12-08 02:00:00.000000")
    # it opened at 02:00, so its escalation caught up from there: bob at 02:05
    assert pages(db_path, "user", "level", "at", fmt="%H:%M") == [("alice", 0, "02:00"), ("bob", 1, "02:05")]
    assert out[-1] == "EXHAUSTED #1 backups: no acknowledgement after 1 pass over p; paging stopped"
    assert check(pager, "2026-12-08T02:30:00Z") == []
    assert len(incidents(db_path)) == 1  # exactly once


def test_the_next_ping_resolves_the_incident_and_states_are_listed(pager, db_path):
    doc = pager("--now", "2026-12-07T02:00:00Z", "--json", "heartbeats").json()
    assert [(d["name"], d["service"], d["interval"], d["last_ping"], d["state"]) for d in doc] == [
        ("nightly-backup", "backups", "1d1h", None, "never")]
    check(pager, "2026-12-08T02:01:00Z")
    assert pager("--now", "2026-12-08T02:02:00Z", "--json", "heartbeats").json()[0]["state"] == "late"
    r = pager("--now", "2026-12-08T03:00:00Z", "heartbeat", "nightly-backup")
    assert r.code == 0 and r.out == "#1 resolved by heartbeat nightly-backup\n", r
    [inc] = incidents(db_path)
    assert (inc.status, inc.resolved_by, inc.resolved_at) == ("resolved", "heartbeat", "2026-12-08 03:00:00.000000")
    doc = pager("--now", "2026-12-08T04:00:00Z", "--json", "heartbeats").json()[0]
    assert (doc["state"], doc["last_ping"], doc["late_at"]) == ("ok", "2026-12-08T03:00:00Z", "2026-12-09T04:00:00Z")
    # late again from the last ping + interval, with that ping in the title
    check(pager, "2026-12-09T04:30:00Z")
    assert incidents(db_path)[1].title == "heartbeat nightly-backup missed (last ping 2026-12-08T03:00:00Z)"
    assert incidents(db_path)[1].created_at == "2026-12-09 04:00:00.000000"


def test_a_ping_after_the_heartbeat_went_late_unseen_records_the_incident_then_resolves_it(pager, db_path):
    r = pager("--now", "2026-12-08T02:30:00Z", "--json", "heartbeat", "nightly-backup")
    assert r.code == 0, r
    assert r.json()["resolved"] == 1
    [inc] = incidents(db_path)
    assert (inc.created_at, inc.resolved_at) == ("2026-12-08 02:00:00.000000", "2026-12-08 02:30:00.000000")


def test_unknown_heartbeat_is_exit_3(pager):
    r = pager("heartbeat", "nope")
    assert r.code == 3 and r.err.startswith("Error: no heartbeat 'nope'"), r


def test_removing_a_heartbeat_from_the_config_ends_it(pager, tmp_path, db_path):
    text = CONFIG.replace("heartbeats:\n  nightly-backup: {service: backups, interval: 25h, severity: critical}\n", "")
    r = pager("--now", "2026-12-07T05:00:00Z", "schedules", "apply", write(tmp_path, text))
    assert "removed: heartbeat nightly-backup" in r.out, r
    assert check(pager, "2026-12-10T00:00:00Z") == []
    assert incidents(db_path) == []
    assert pager("heartbeat", "nightly-backup").code == 3


# -- maintenance ----------------------------------------------------------------

def test_alerts_in_a_config_window_are_recorded_page_nobody_and_escalate_from_level_0_at_its_end(quiet, db_path):
    # Tuesday 2026-12-08, 22:00-23:00 Berlin = 21:00-22:00 UTC
    r = quiet("--now", "2026-12-08T21:10:00Z", "trigger", "-s", "payments", "--dedup-key", "db", "db down")
    assert r.code == 0 and "PAGE" not in r.out and "in maintenance until 2026-12-08T22:00:00Z" in r.err, r
    quiet("--now", "2026-12-08T21:20:00Z", "trigger", "-s", "payments", "--dedup-key", "db", "db down")
    assert check(quiet, "2026-12-08T21:59:00Z") == []
    [inc] = incidents(db_path)
    assert (inc.alert_count, inc.status, inc.held_until) == (2, "triggered", "2026-12-08 22:00:00.000000")
    assert pages(db_path) == []
    assert ("held", "maintenance until 2026-12-08T22:00:00Z") in timeline(db_path, 1)
    out = check(quiet, "2026-12-08T22:20:00Z")  # a late run: level 0 at 22:00, level 1 at 22:05
    assert out[0] == "PAGE alice #1 [error] payments: db down", out
    assert pages(db_path, "user", "level", "at", fmt="%H:%M") == [("alice", 0, "22:00"), ("bob", 1, "22:05")]
    assert incidents(db_path)[0]["held_until"] is None


def test_an_escalating_incident_is_held_at_its_next_step_in_a_window(quiet, db_path):
    quiet("--now", "2026-12-08T20:58:00Z", "trigger", "-s", "payments", "db down")  # alice paged at 20:58
    assert check(quiet, "2026-12-08T21:30:00Z") == []  # its step at 21:03 is in the window: held
    assert kinds(db_path, 1)[-1] == "held"
    out = check(quiet, "2026-12-08T22:00:00Z")
    assert out == ["PAGE alice #1 [error] payments: db down"]  # level 0 again, reached at the end
    assert pages(db_path, "user", "level", "step", "at", fmt="%H:%M") == [("alice", 0, 0, "20:58"), ("alice", 0, 1, "22:00")]


def test_config_window_follows_the_wall_clock_across_the_fall_back_night(cli, tmp_path, db_path):
    # Sunday 2026-10-25 Berlin falls back 03:00 CEST -> 02:00 CET: 01:30-03:30 local is 3 real hours
    text = QUIET.replace('days: [tue], from: "22:00", to: "23:00"', 'days: [sun], from: "01:30", to: "03:30"')
    assert cli("--now", "2026-10-20T00:00:00Z", "schedules", "apply", write(tmp_path, text)).code == 0
    r = cli("--now", "2026-10-25T01:45:00Z", "--json", "services").json()
    assert [d["maintenance_until"] for d in r if d["service"] == "payments"] == ["2026-10-25T02:30:00Z"]
    cli("--now", "2026-10-24T23:31:00Z", "trigger", "-s", "payments", "db down")  # 01:31 CEST: held
    assert incidents(db_path)[0]["held_until"] == "2026-10-25 02:30:00.000000"
    check(cli, "2026-10-25T02:29:00Z")
    assert pages(db_path) == []
    check(cli, "2026-10-25T02:30:00Z")
    assert pages(db_path, "user", "at", fmt="%H:%M") == [("alice", "02:30")]


def test_config_window_starting_in_the_spring_forward_gap_starts_at_the_transition(cli, tmp_path):
    # Sunday 2026-03-29 Berlin springs forward 02:00 CET -> 03:00 CEST: 02:30 is the transition, 01:00 UTC
    text = QUIET.replace('days: [tue], from: "22:00", to: "23:00"', 'days: [sun], from: "02:30", to: "03:30"')
    assert cli("--now", "2026-03-20T00:00:00Z", "schedules", "apply", write(tmp_path, text)).code == 0

    def until(now: str):
        doc = cli("--now", now, "--json", "services").json()
        return [d["maintenance_until"] for d in doc if d["service"] == "payments"][0]

    assert until("2026-03-29T00:59:00Z") is None
    assert until("2026-03-29T01:00:00Z") == "2026-03-29T01:30:00Z"
    assert until("2026-03-29T01:30:00Z") is None


def test_command_window_holds_and_ending_it_starts_escalation_at_its_end(quiet, db_path):
    r = quiet("--now", "2026-12-09T10:00:00Z", "--json", "maintenance", "start", "payments", "--for", "2h",
              "--comment", "db upgrade")
    assert r.code == 0, r
    window = r.json()
    assert (window["id"], window["end"], window["comment"], window["active"]) == (1, "2026-12-09T12:00:00Z", "db upgrade", True)
    assert rows(db_path, "SELECT services, comment FROM maintenance_window") == [('["payments"]', "db upgrade")]
    doc = quiet("--now", "2026-12-09T10:30:00Z", "--json", "services").json()
    assert {d["service"]: d["maintenance_until"] for d in doc} == {"payments": "2026-12-09T12:00:00Z", "backups": None}
    quiet("--now", "2026-12-09T10:10:00Z", "trigger", "-s", "payments", "api slow")
    assert check(quiet, "2026-12-09T10:40:00Z") == [] and pages(db_path) == []
    listed = quiet("--now", "2026-12-09T10:40:00Z", "--json", "maintenance", "list").json()
    assert [(w["id"], w["source"]) for w in listed] == [(1, "command"), (None, "config")]
    assert quiet("--now", "2026-12-09T10:45:00Z", "maintenance", "end", "1").code == 0
    assert rows(db_path, 'SELECT "end", ended_at FROM maintenance_window') == [
        ("2026-12-09 10:45:00.000000", "2026-12-09 10:45:00.000000")]
    check(quiet, "2026-12-09T10:52:00Z")
    assert pages(db_path, "user", "level", "at", fmt="%H:%M") == [("alice", 0, "10:45"), ("bob", 1, "10:50")]
    r = quiet("--now", "2026-12-09T11:00:00Z", "maintenance", "end", "1")
    assert r.code == 0 and "already ended" in r.err
    assert quiet("maintenance", "end", "9").code == 3


def test_every_maintenance_window_has_an_end(quiet):
    r = quiet("maintenance", "start", "payments")
    assert r.code == 2 and "every window has an end" in r.err, r
    assert quiet("--now", "2026-12-09T10:00:00Z", "maintenance", "start", "payments", "--until", "2026-12-09T09:00:00Z").code == 2
    assert quiet("maintenance", "start", "nope", "--for", "1h").code == 3


def test_removing_a_window_from_the_config_ends_it(quiet, tmp_path, db_path):
    quiet("--now", "2026-12-08T21:10:00Z", "trigger", "-s", "payments", "db down")
    text = QUIET[:QUIET.index("maintenance:")]
    r = quiet("--now", "2026-12-08T21:30:00Z", "schedules", "apply", write(tmp_path, text))
    assert "removed: maintenance payments tue 22:00-23:00 Europe/Berlin" in r.out, r
    check(quiet, "2026-12-08T21:31:00Z")
    assert pages(db_path, "user", "at", fmt="%H:%M") == [("alice", "21:30")]


# -- ack timeout, auto-resolve, snooze -----------------------------------------

def test_ack_timeout_triggers_again_and_pages_the_current_level_again(quiet, db_path):
    quiet("--now", "2026-12-09T10:00:00Z", "trigger", "-s", "payments", "api slow")
    check(quiet, "2026-12-09T10:05:00Z")  # bob, level 1
    quiet("--now", "2026-12-09T10:06:00Z", "ack", "1")
    assert check(quiet, "2026-12-09T10:35:59Z") == []
    out = check(quiet, "2026-12-09T10:36:00Z")
    assert out == ["PAGE bob #1 [error] payments: api slow"]
    inc = incidents(db_path)[0]
    assert (inc.status, inc.escalation_level, inc.acknowledged_by) == ("triggered", 1, None)
    assert timeline(db_path, 1)[-2] == ("retriggered", "ack timeout: acknowledged, not resolved; triggered again at level 1")
    assert pages(db_path, "user", "level", "step") == [("alice", 0, 0), ("bob", 1, 1), ("bob", 1, 2)]


def test_auto_resolve_counts_from_the_last_alert(quiet, db_path):
    quiet("--now", "2026-12-09T10:00:00Z", "trigger", "-s", "payments", "--dedup-key", "k", "api slow")
    quiet("--now", "2026-12-09T10:01:00Z", "ack", "1")
    quiet("--now", "2026-12-09T10:20:00Z", "resolve", "1") if False else None
    quiet("--now", "2026-12-09T12:00:00Z", "trigger", "-s", "payments", "--dedup-key", "k", "api slow")
    check(quiet, "2026-12-09T15:00:00Z")  # 4h after the first alert, 3h after the last
    assert incidents(db_path)[0].status != "resolved"
    out = check(quiet, "2026-12-09T17:00:00Z")
    assert "RESOLVED #1 payments: no alert for 4h: resolved" in out
    inc = incidents(db_path)[0]
    assert (inc.status, inc.resolved_by, inc.resolved_at) == ("resolved", "auto-resolve", "2026-12-09 16:00:00.000000")


def test_snooze_only_an_acknowledged_incident_and_it_comes_back_at_its_level(quiet, db_path):
    quiet("--now", "2026-12-09T10:00:00Z", "trigger", "-s", "backups", "disk full")
    r = quiet("--now", "2026-12-09T10:01:00Z", "snooze", "1", "--for", "1h")
    assert r.code == 4 and "only an acknowledged incident" in r.err, r
    quiet("--now", "2026-12-09T10:01:00Z", "ack", "1")
    r = quiet("--now", "2026-12-09T10:02:00Z", "--json", "snooze", "1", "--for", "1h")
    assert r.code == 0 and r.json()["snoozed_until"] == "2026-12-09T11:02:00Z", r
    show = quiet("--now", "2026-12-09T10:03:00Z", "--json", "show", "1").json()
    assert show["snoozed_until"] == "2026-12-09T11:02:00Z"
    assert {"kind": "snoozed", "at": "2026-12-09T10:02:00Z", "by": "tester", "text": "until 2026-12-09T11:02:00Z"} in show["timeline"]
    assert check(quiet, "2026-12-09T11:01:00Z") == []
    assert check(quiet, "2026-12-09T11:10:00Z")[0] == "PAGE alice #1 [error] backups: disk full"
    inc = incidents(db_path)[0]
    assert (inc.status, inc.snoozed_until) == ("triggered", None)
    assert pages(db_path, "user", "level", "at", fmt="%H:%M") == [("alice", 0, "10:00"), ("alice", 0, "11:02"),
                                                                   ("bob", 1, "11:07")]
    assert quiet("snooze", "9", "--for", "1h").code == 3


# -- exactly once, under racing checkers ------------------------------------------

@pytest.mark.slow
@pytest.mark.races
def test_racing_checkers_do_each_timer_once(cli, tmp_path, db_path):
    beats = "".join(f"  job{i}: {{service: backups, interval: 1h}}\n" for i in range(10))
    text = CONFIG.replace("heartbeats:\n", "heartbeats:\n" + beats)
    assert cli("--now", "2026-12-09T00:00:00Z", "schedules", "apply", write(tmp_path, text)).code == 0
    for i in range(10):
        cli("--now", "2026-12-09T00:10:00Z", "trigger", "-s", "payments", f"incident {i}")
    procs = [start_pager("--now", "2026-12-09T05:00:00Z", "escalate-check", stdin=subprocess.DEVNULL) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1] for o in outs]
    lines = [ln for out, _ in outs for ln in out.decode().splitlines()]
    assert sum(ln.startswith("LATE ") for ln in lines) == 10
    assert sum(ln.startswith("RESOLVED ") for ln in lines) == 10
    late = incidents(db_path, service="backups")
    assert sorted(i.dedup_key for i in late) == sorted(f"heartbeat:job{i}" for i in range(10))
    assert {i.created_at for i in late} == {"2026-12-09 01:00:00.000000"}
    assert {i.resolved_at for i in incidents(db_path, service="payments")} == {"2026-12-09 04:10:00.000000"}
    every = pages(db_path, "incident_id", "user", "step")
    assert len(every) == len(set(every)) == 10 * 2 + 10 * 2
    assert run_pager("--now", "2026-12-09T05:00:00Z", "escalate-check").stdout == b""


def test_heartbeat_loads_no_incident_machinery(pager, db_path):
    """`pager heartbeat` runs after every cron job: a ping builds no ORM model
    and loads neither the escalation engine nor the incident lifecycle."""
    code = ("import sys, runpy; sys.argv=['pager','heartbeat','nightly-backup'];\n"
            "try:\n runpy.run_module('pager_cli', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('pager_cli.')))")
    proc = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True,
                          env={**__import__("os").environ})
    loaded = json.loads(proc.stdout.strip().splitlines()[-1].replace("'", '"'))
    for heavy in ("pager_cli.store.tables.incident", "pager_cli.escalation.engine", "pager_cli.incidents.lifecycle"):
        assert heavy not in loaded, (heavy, proc.stderr)
