"""Several machines, one PostgreSQL server: three groups of real processes
(as three hosts would run them) talk to the server over TCP (127.0.0.1) at
once: triggers racing on the same keys, `escalate-check` loops, acks and a
`watch`. One incident per racing key, every escalation step and every page
exactly once, and what a SIGKILLed checker reported before it died is in the
database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from conftest import start_pager
from dbread import incidents, rows
from scenario import write_scenario

pytestmark = [pytest.mark.slow, pytest.mark.postgresql_only]

T0 = "2026-11-23T10:00:00Z"
KEYS = 8  # racing keys; three machines trigger each one
CHECK_TIMES = [f"2026-11-23T10:{m:02d}:00Z" for m in (3, 6, 9, 12, 16, 21, 26)]


def _wait(procs: list[subprocess.Popen], timeout: float = 240) -> list[tuple[int, str, str]]:
    done = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        done.append((p.returncode, out.decode(), err.decode()))
    return done


def _checker_loop(db: str, times: list[str]) -> subprocess.Popen:
    """One machine's cron: escalate-check at each of `times`, NDJSON out."""
    script = " && ".join(f"python -m pager_cli --now {t} --json escalate-check" for t in times)
    env = {**os.environ, "PAGER_DB": db}
    return subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)


def test_three_machines_share_one_server(cli, pager_db, tmp_path):
    assert pager_db.startswith("postgresql://") and "@127.0.0.1:" in pager_db  # TCP, as another host would
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0

    # machine 1, 2 and 3 each trigger every key at once
    triggers = [start_pager("--now", T0, "trigger", "-s", "payments", "--dedup-key", f"k{k}", f"disk {k} full",
                            stdin=subprocess.DEVNULL)
                for _machine in range(3) for k in range(KEYS)]
    results = _wait(triggers)
    assert [code for code, _, _ in results] == [0] * len(triggers), [err for _, _, err in results if err]
    opened = incidents(pager_db)
    assert sorted(i.dedup_key for i in opened) == sorted(f"k{k}" for k in range(KEYS))
    assert all(i.alert_count == 3 for i in opened)
    ids = {i.dedup_key: i.id for i in opened}

    # the three checkers' loops, a watch on machine 3, acks from machine 2 in the middle
    loops = [_checker_loop(pager_db, CHECK_TIMES) for _ in range(3)]
    watch = start_pager("--now", "2026-11-23T10:10:00Z", "watch", "--json", "--interval", "1s", stdin=subprocess.DEVNULL)
    acked = [ids["k0"], ids["k1"]]
    acks = [start_pager("--now", "2026-11-23T10:07:00Z", "ack", str(i), "--by", "bob", stdin=subprocess.DEVNULL)
            for i in acked]
    victim = _checker_loop(pager_db, CHECK_TIMES[-3:])  # a fourth loop, SIGKILLed while it works
    time.sleep(1.5)
    os.killpg(victim.pid, signal.SIGKILL)
    killed_out = victim.communicate(timeout=60)[0].decode()
    assert [code for code, _, _ in _wait(acks)] == [0, 0]
    loop_results = _wait(loops)
    assert [code for code, _, _ in loop_results] == [0, 0, 0], [err for _, _, err in loop_results]
    watch.send_signal(signal.SIGTERM)
    watch_out, watch_err = watch.communicate(timeout=60)
    assert watch.returncode == 0, watch_err

    # what any process reported as paged is in the database, once
    stored = Counter((i, u, s) for i, u, s in rows(pager_db, 'SELECT incident_id, "user", step FROM page'))
    assert all(n == 1 for n in stored.values()), [k for k, n in stored.items() if n > 1]
    stored_pages = {(i, u) for i, u, _ in stored}
    reported = [json.loads(line) for out in [killed_out, watch_out.decode(), *(o for _, o, _ in loop_results)]
                for line in out.splitlines() if line.startswith("{")]
    for event in reported:
        if event.get("event") == "page":
            assert (event["incident"], event["user"]) in stored_pages, event
    # across every machine, each page was reported at most once
    said = Counter((e["incident"], e["user"], e["at"]) for e in reported if e.get("event") == "page")
    assert all(n == 1 for n in said.values()), [k for k, n in said.items() if n > 1]

    # a last run: every unacknowledged incident went through all four steps, once each
    final = cli("--now", "2026-11-23T10:40:00Z", "escalate-check")
    assert final.code == 0, final
    for incident in incidents(pager_db):
        steps = [s for (s,) in rows(pager_db, "SELECT step FROM page WHERE incident_id = ? ORDER BY step", (incident.id,))]
        escalated = rows(pager_db, "SELECT count(*) FROM timeline WHERE incident_id = ? AND kind = 'escalated'",
                         (incident.id,))[0][0]
        if incident.id in acked:
            assert incident.status == "acknowledged"
            assert steps == list(range(len(steps))) and 1 <= len(steps) <= 4
        else:
            assert incident.status == "triggered"
            assert steps == [0, 1, 2, 3], (incident.id, steps)
            assert escalated == 3
