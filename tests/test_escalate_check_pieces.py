"""A long catch-up commits in small pieces, as real processes: an `ack` from
another process lands in the middle of it (while the check waits on its stdout
pipe, between two pieces) and stops that incident's steps, and the result is
what an uninterrupted run gives: every step at its own instant, exactly once."""

from __future__ import annotations

import pytest

import subprocess
import sys
from datetime import datetime, timedelta

from catch_up import add, page_rows, setup, steps
from conftest import run_pager
from pager_cli.store import tables as m

pytestmark = [pytest.mark.slow, pytest.mark.races]

REPEAT = 300  # steps per incident before `exhausted`
T0 = datetime(2026, 11, 23, 10, 0)
LATER = "2026-11-24T10:00:00Z"  # 24 h later: every incident is long exhausted


def expected_steps() -> list[tuple[str, str]]:
    minutes = [(T0 + timedelta(minutes=k)).strftime("%d %H:%M") for k in range(1, REPEAT + 2)]
    return [("escalated", at) for at in minutes[:-1]] + [("exhausted", minutes[-1])]


def test_an_ack_during_a_long_catch_up_lands_and_stops_that_incident(tmp_path, db):
    setup(tmp_path, REPEAT, 8)
    # #9 opens 250 min later: the check steps incidents in the order they fell due, so it
    # reaches #9 only after the others' first 250 steps each
    add(1, "2026-11-23T14:10:00Z", first=8)
    check = subprocess.Popen([sys.executable, "-m", "pager_cli", "--now", LATER, "escalate-check"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert check.stdout.readline().startswith(b"ESCALATED #1 ")  # a first piece has committed
        # Nobody reads its stdout now: once the pipe is full it waits there, outside any
        # transaction, long before it reaches #9 (8 × 250 steps ahead of it).
        ack = run_pager("--now", LATER, "ack", "9", env={"PAGER_BUSY_TIMEOUT": "5"})
        assert ack.returncode == 0, ack.stderr
        assert check.poll() is None  # still catching up
        rest, err = check.communicate(timeout=300)
    finally:
        if check.poll() is None:
            check.kill()
    assert check.returncode == 0, err
    assert b"ESCALATED #9 " not in rest and b"PAGE alice #9 " not in rest
    with db.read() as s:
        acked = s.get(m.Incident, 9)
        others = [s.get(m.Incident, i) for i in range(1, 9)]
    assert acked.status == "acknowledged" and acked.escalation_step == 0 and acked.next_escalation_at is None
    assert steps(db, 9) == []
    for incident in others:
        assert incident.next_escalation_at is None and incident.escalation_step == REPEAT
        assert steps(db, incident.id) == expected_steps()


def test_pieces_and_racing_checkers_give_the_uninterrupted_result(tmp_path, db):
    setup(tmp_path, REPEAT, 6)
    checkers = [subprocess.Popen([sys.executable, "-m", "pager_cli", "--now", LATER, "escalate-check"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in checkers]
    assert [p.returncode for p in checkers] == [0, 0], [e for _, e in outs]
    lines = [ln for out, _ in outs for ln in out.decode().splitlines()]
    assert len(lines) == 6 * (2 * REPEAT + 1) and len([ln for ln in lines if ln.startswith("EXHAUSTED")]) == 6
    for incident_id in range(1, 7):
        assert steps(db, incident_id) == expected_steps()
    pages = page_rows(db)
    assert len(pages) == len(set(pages)) == 6 * (REPEAT + 1)
    for incident_id in range(1, 7):
        mine = sorted((step, at) for i, step, at in pages if i == incident_id)
        assert mine == [(k, (T0 + timedelta(minutes=k)).strftime("%d %H:%M")) for k in range(REPEAT + 1)]
    assert run_pager("--now", LATER, "escalate-check").stdout == b""
