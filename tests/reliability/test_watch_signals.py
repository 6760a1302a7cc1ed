"""`pager watch` stopped by a service manager: SIGTERM, and a second SIGTERM
while it is still shutting down (systemd, a supervisor or an impatient `kill`
send them 10–50 ms apart). The first asks watch to stop; every later one is
absorbed: exit 0 every time, never death by signal, and the escalations of
the last tick are in the database whole.
"""

from __future__ import annotations

import signal
import time

import pytest

from reliability_kit import T0, Collector, copy_db, make_template, query, run, start

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The config applied and one incident open at T0 on the fast policy."""
    path = make_template(tmp_path_factory.mktemp("watch-signals"))
    opened = run(["--now", T0, "trigger", "--service", "load", "disk full"], path)
    assert opened.code == 0, opened
    return path


@pytest.mark.parametrize("gap_ms", [10, 30, 50, 10, 30, 50])
def test_a_second_sigterm_while_stopping_is_absorbed(template, tmp_path, gap_ms):
    db = copy_db(template, tmp_path / "pager.db")
    # at T0+1m the first level is due: the first tick escalates and prints it,
    # which says the loop (and its signal handlers) are running
    proc = start(["--now", "2026-11-23T10:01:00Z", "watch", "--interval", "1s"], db)
    out = Collector(proc.stdout)
    out.start()
    try:
        assert out.first.wait(60) and out.lines, "watch printed nothing"
        proc.send_signal(signal.SIGTERM)
        time.sleep(gap_ms / 1000)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out.join(5)
    assert proc.returncode == 0, (proc.returncode, err)
    assert b"Traceback" not in err and err == b"", err
    assert out.data().decode().startswith("ESCALATED #1 load: to level 1\n")
    assert query(db, "SELECT escalation_level FROM incident WHERE id = 1") == [(1,)]
