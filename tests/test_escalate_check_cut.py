"""A closed stdout never stops the work: `escalate-check | head -1` and a plain
`watch` whose reader went away still do every due step, then exit 1 saying on
stderr that their output was cut. Real processes, real pipes."""

from __future__ import annotations

import pytest

import os
import subprocess

from sqlmodel import func, select

from catch_up import setup
from conftest import pager_argv, pager_env, start_pager
from pager_cli.store import tables as m

pytestmark = [pytest.mark.slow, pytest.mark.races]

INCIDENTS = 300
STEPS = 10  # each incident has ten steps due: far more output than a pipe holds


def run_and_hang_up(*args: str) -> tuple[int, bytes, bytes]:
    """Start `pager ARGS`, read its first line, close the pipe; (exit code, that line, stderr)."""
    proc = start_pager(*args, stdin=subprocess.DEVNULL)
    try:
        first = proc.stdout.readline()
        proc.stdout.close()
        err = proc.stderr.read()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, first, err


def assert_every_step_done(db) -> None:
    with db.read() as s:
        by_step = dict(s.exec(select(m.Incident.escalation_step, func.count()).group_by(m.Incident.escalation_step)).all())
        pages = s.exec(select(func.count()).select_from(m.Page)).one()
    assert by_step == {STEPS: INCIDENTS}
    assert pages == INCIDENTS * (STEPS + 1)


def test_escalate_check_piped_into_head_does_every_due_step(tmp_path, db):
    setup(tmp_path, 20, INCIDENTS)
    code, first, err = run_and_hang_up("--now", "2026-11-23T10:10:00Z", "escalate-check")
    assert first.startswith(b"ESCALATED #")
    assert code == 1, err
    assert err.decode().splitlines() == [
        "Error: output was cut (stdout was closed); every due step was done and is in the database "
        "(hint: read the run's pages and steps with `pager show ID` or `pager list`)"]
    assert_every_step_done(db)


def test_escalate_check_json_to_a_closed_stdout(tmp_path, db):
    setup(tmp_path, 20, INCIDENTS)
    code, first, err = run_and_hang_up("--now", "2026-11-23T10:10:00Z", "escalate-check", "--json")
    assert first.startswith(b'{"event": "escalated"')
    assert code == 1 and b"output was cut" in err and b"Traceback" not in err
    assert_every_step_done(db)


def test_plain_watch_finishes_its_tick_when_the_reader_goes_away(tmp_path, db):
    setup(tmp_path, 20, INCIDENTS)
    code, first, err = run_and_hang_up("--now", "2026-11-23T10:10:00Z", "watch", "--interval", "1m")
    assert first.startswith(b"ESCALATED #")
    assert code == 1 and b"output was cut" in err and b"Traceback" not in err
    assert_every_step_done(db)


def test_escalate_check_with_stdout_closed_from_the_start(tmp_path, db):
    setup(tmp_path, 20, INCIDENTS)
    read, write = os.pipe()
    os.close(read)
    with open(write, "wb") as out:  # a stdout whose reader is already gone
        proc = subprocess.run(pager_argv("--now", "2026-11-23T10:10:00Z", "escalate-check"),
                              stdout=out, stderr=subprocess.PIPE, env=pager_env(), timeout=300)
    assert proc.returncode == 1 and b"output was cut" in proc.stderr, proc.stderr
    assert_every_step_done(db)
