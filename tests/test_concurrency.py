"""Real processes sharing one database file: racing triggers of one key make
exactly one incident and count every alert; no "database is locked"."""

from __future__ import annotations

import pytest

import subprocess
import sys

from sqlmodel import select

from pager_cli.store import tables as m
from scenario import write_scenario

pytestmark = [pytest.mark.slow, pytest.mark.races]


def test_eight_processes_trigger_one_key(cli, db, tmp_path):
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    waves = 2
    cmd = [sys.executable, "-m", "pager_cli", "--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments",
           "--dedup-key", "shared", "same problem"]
    for _ in range(waves):
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(8)]
        errs = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, errs
        assert not any(b"locked" in e for e in errs)
    per_process = waves
    with db.read() as s:
        rows = list(s.exec(select(m.Incident)))
        pages = list(s.exec(select(m.Page)))
        alerts = list(s.exec(select(m.TimelineEntry).where(m.TimelineEntry.kind == "alert")))
    assert len(rows) == 1
    assert rows[0].alert_count == 8 * per_process
    assert len(alerts) == 8 * per_process - 1
    assert len(pages) == 1  # only the opening trigger paged
