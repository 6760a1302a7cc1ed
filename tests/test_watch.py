"""`pager watch`: one frame (--once) as plain text, escalations done on each
tick, the replay clock, and stopping cleanly on SIGTERM / SIGINT — in process,
as a subprocess on a pipe, and on a pseudo-terminal with the Live view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from pager_cli.store import tables as m
from pager_cli.app.clock import Clock
from dbread import pages
from scenario import write_scenario

EVIL = "[red]x[/] \x1b[2J\x1b]0;pwn\x07 [link=y]z"
EVIL_SHOWN = "[red]x[/] \\x1b[2J\\x1b]0;pwn\\x07 [link=y]z"


@pytest.fixture
def setup(cli, tmp_path):
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    return cli


def two_incidents(cli):
    """#1 payments (critical) at 10:00; #2 grouped, hostile title, at 10:02, plus a second alert."""
    assert cli("--now", "2026-11-23T10:00:00Z", "trigger", "-s", "payments", "--severity", "critical", "DB down").code == 0
    assert cli("--now", "2026-11-23T10:02:00Z", "trigger", "-s", "grouped", EVIL).code == 0
    assert cli("--now", "2026-11-23T10:03:00Z", "trigger", "-s", "grouped", "again").code == 0  # dedup: service


def test_once_shows_one_plain_frame(setup, db):
    two_incidents(setup)
    r = setup("--now", "2026-11-23T10:06:00Z", "watch", "--once", env={"COLUMNS": "120"})
    assert r.code == 0, r
    assert "\x1b" not in r.out and "\x07" not in r.out
    lines = r.out.splitlines()
    assert max(len(line) for line in lines) <= 120
    # the tick escalated #1 (due 10:05) and printed it as escalate-check does, before the frame
    assert lines[:2] == ["ESCALATED #1 payments: to level 1", "PAGE grace #1 [critical] payments: DB down"]
    assert lines[2].startswith("pager watch  2026-11-23 10:06 UTC")
    words = [line.split() for line in lines]
    # who is on call now, and until when
    assert "On call" in r.out
    assert ["primary", "alice", "2026-11-24", "09:00", "UTC"] in words
    assert ["nights", "—", "nobody", "—"] in words
    # open incidents: id, age, severity, service, status, level, assignees, alert count, title (literal)
    assert "Open incidents (2)" in r.out
    assert words[lines.index(next(x for x in lines if x.startswith("1 ")))][:8] == \
        ["1", "6m", "critical", "payments", "triggered", "1", "grace", "1"]
    row2 = next(x for x in lines if x.startswith("2 "))
    assert row2.split()[:8] == ["2", "4m", "error", "grouped", "triggered", "0", "alice", "2"]
    assert EVIL_SHOWN in row2
    # the latest pages and escalations, newest first
    latest = lines[lines.index(next(x for x in lines if x.startswith("Latest pages"))) + 3:]
    assert [x.split("UTC", 1)[1].strip() for x in latest if x.strip()] == [
        "PAGE grace #1 [critical] payments: DB down",
        "ESCALATED #1 payments: to level 1",
        f"PAGE alice #2 [error] grouped: {EVIL_SHOWN}",
        "PAGE alice #1 [critical] payments: DB down",
    ]


def test_once_performs_due_escalations_exactly_once(setup, db):
    setup("--now", "2026-11-23T10:00:00Z", "trigger", "-s", "payments", "DB down")
    r = setup("--now", "2026-11-23T10:16:00Z", "watch", "--once")
    assert r.code == 0, r
    assert pages(db) == [(1, "alice", 0, 0), (1, "grace", 1, 1), (1, "alice", 0, 2)]
    again = setup("--now", "2026-11-23T10:16:00Z", "watch", "--once")
    assert again.code == 0 and not again.out.startswith(("PAGE", "ESCALATED"))
    assert len(pages(db)) == 3
    with db.read() as s:
        incident = s.get(m.Incident, 1)
    assert (incident.escalation_level, incident.escalation_pass, incident.assignees) == (0, 1, ["alice"])


def test_once_json_is_events_then_the_frame(setup):
    two_incidents(setup)
    r = setup("--now", "2026-11-23T10:06:00Z", "watch", "--once", "--json")
    assert r.code == 0, r
    docs = [json.loads(line) for line in r.out.splitlines()]
    assert [(d["event"], d.get("user")) for d in docs] == [("escalated", None), ("page", "grace"), ("frame", None)]
    assert "PAGE grace #1" in r.err  # console pages go to stderr with --json
    frame = docs[-1]
    assert frame["at"] == "2026-11-23T10:06:00Z"
    assert {"schedule": "primary", "user": "alice", "shift_start": "2026-11-23T09:00:00Z",
            "shift_end": "2026-11-24T09:00:00Z"} in frame["on_call"]
    assert frame["open_incidents"] == 2
    assert [(i["id"], i["escalation_level"], i["assignees"], i["alert_count"]) for i in frame["incidents"]] == \
        [(2, 0, ["alice"], 2), (1, 1, ["grace"], 1)]
    assert frame["incidents"][0]["title"] == EVIL
    assert [(a["event"], a["incident"]) for a in frame["latest"]] == [("page", 1), ("escalated", 1), ("page", 2), ("page", 1)]


def test_once_with_nothing_configured(cli):
    r = cli("watch", "--once")
    assert r.code == 0, r
    assert "No schedules yet" in r.out and "No open incidents." in r.out and "Nothing paged yet." in r.out


@pytest.mark.parametrize("interval", ["0s", "0", "soon", "500ms", "-5s"])
def test_bad_interval_is_a_usage_error(cli, interval):
    r = cli("watch", "--once", "--interval", interval)
    assert r.code == 2, r
    assert r.err.startswith("Error: ") and "Traceback" not in r.err


def test_replay_clock_moves_at_real_speed_from_the_first_tick():
    ticks = iter([100.0, 101.5, 160.0])
    start = datetime(2026, 11, 23, 10, 4, 59, tzinfo=timezone.utc)
    clock = Clock(start, monotonic=lambda: next(ticks)).moving()
    assert clock() == start
    assert clock() == start + timedelta(seconds=1.5)
    assert clock() == start + timedelta(seconds=60)


def test_live_clock_is_read_afresh_each_tick():
    clock = Clock().moving()
    assert not clock.replay and clock() > datetime(2020, 1, 1, tzinfo=timezone.utc)


def test_a_one_shot_replay_clock_stays_at_its_instant():
    start = datetime(2026, 11, 23, 10, 4, 59, tzinfo=timezone.utc)
    ticks = iter([100.0, 101.5, 160.0])
    clock = Clock(start, monotonic=lambda: next(ticks))
    assert [clock(), clock(), clock()] == [start] * 3
    assert Clock.from_option("2026-11-23T10:04:59Z")() == start


def test_sigterm_during_a_write_lets_the_step_finish(setup, db, monkeypatch):
    """The signal lands inside the escalation transaction: the step still
    commits whole and its pages are printed, then watch stops, exit 0."""
    from pager_cli.escalation import engine as escalation

    setup("--now", "2026-11-23T10:00:00Z", "trigger", "-s", "payments", "DB down")
    real_advance = escalation.advance

    def advance(session, incident, now, *budget):
        os.kill(os.getpid(), signal.SIGTERM)
        return real_advance(session, incident, now, *budget)

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(escalation, "advance", advance)
    r = setup("--now", "2026-11-23T10:05:00Z", "watch", "--interval", "1h")
    assert r.code == 0, r
    assert r.out.splitlines() == ["ESCALATED #1 payments: to level 1", "PAGE grace #1 [error] payments: DB down"]
    assert pages(db) == [(1, "alice", 0, 0), (1, "grace", 1, 1)]
    with db.read() as s:
        assert s.get(m.Incident, 1).escalation_level == 1
    assert signal.getsignal(signal.SIGTERM) == before


def wait_for_page(db, count, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(pages(db)) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no page #{count} within {timeout}s: {pages(db)}")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_loop_on_a_pipe_prints_plain_lines_and_stops_on_a_signal(setup, db, signum):
    setup("--now", "2026-11-23T10:00:00Z", "trigger", "-s", "payments", "DB down")
    # the first tick, at 10:04:59, finds nothing due; the replay clock moves on
    # and a tick after 10:05:00 escalates
    proc = subprocess.Popen(
        [sys.executable, "-m", "pager_cli", "--now", "2026-11-23T10:04:59Z", "watch", "--interval", "1s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_for_page(db, 2)
        time.sleep(0.3)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert b"Traceback" not in err and err == b""
    assert out.decode().splitlines() == ["ESCALATED #1 payments: to level 1", "PAGE grace #1 [error] payments: DB down"]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_live_view_on_a_terminal_stops_on_sigterm(setup, db):
    two_incidents(setup)
    master, slave = os.openpty()
    env = dict(os.environ, COLUMNS="120", TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pager_cli", "--now", "2026-11-23T10:06:00Z", "watch", "--interval", "1s"],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env,
    )
    os.close(slave)
    screen = bytearray()

    def read():
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            screen.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for_page(db, 3)
        deadline = time.monotonic() + 10
        while b"Latest pages" not in screen and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=5)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        reader.join(2)
        os.close(master)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err
    text = screen.decode(errors="replace")
    assert "Open incidents (2)" in text and "PAGE grace #1 [critical] payments: DB down" in text
    assert EVIL_SHOWN in text  # shown literally
    assert "\x1b[2J" not in text and "\x1b]0;pwn" not in text  # the title's escapes never reach the terminal


@pytest.mark.slow
def test_a_locked_database_is_retried_at_the_next_tick(setup, monkeypatch):
    from pager_cli.cli import watch
    from pager_cli.cli.escalation import Printer
    from pager_cli.errors import DatabaseError

    calls = []

    def run_tick(c, clock):
        calls.append(clock())
        if len(calls) == 1:
            raise DatabaseError("database x is locked", hint="retry")
        os.kill(os.getpid(), signal.SIGTERM)
        return Printer(json=False), calls[-1]

    monkeypatch.setattr(watch, "run_tick", run_tick)
    r = setup("--now", "2026-11-23T10:00:00Z", "watch", "--interval", "1s")
    assert r.code == 0, r
    assert len(calls) == 2 and calls[1] - calls[0] >= timedelta(seconds=1)
    assert r.err == "Error: database x is locked; retrying at the next tick (hint: retry)\n"
