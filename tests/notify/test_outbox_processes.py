"""The outbox's promises that only real processes can show: a claim is
committed before the send, so a sender killed in between leaves `unknown` and
nothing is sent twice; and several processes sending at once send each due
delivery exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from werkzeug import Response

from outbox_kit import MINUTE, T0, rows, run, setup, start_server, stop_server, trigger

pytestmark = [pytest.mark.slow, pytest.mark.races]

CHILD = """
import sys
from datetime import datetime
from pager_cli.store.db import open_database
from pager_cli.notify import outbox

db = open_database(sys.argv[1])
now = datetime.fromisoformat(sys.argv[2])
outcomes = outbox.run(db, now, limit=int(sys.argv[3]))
print(len(outcomes), sum(o.state == "sent" for o in outcomes))
"""


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    stop_server(srv)


def child(db_path, now, limit=500) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(db_path), now.isoformat(), str(limit)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_sender_killed_between_claim_and_answer_leaves_unknown_never_resent(db, db_path, server):
    arrived = threading.Event()
    requests = []

    def hang(request):
        requests.append(request.path)
        arrived.set()
        server.released.wait(30)
        return Response("too late")

    server.expect_request("/hook").respond_with_handler(hang)
    setup(db, {"contacts": {"hook": {"webhook": server.url_for("/hook")}}, "notify": [{"contact": "hook"}]})
    trigger(db)
    proc = child(db_path, T0)
    try:
        assert arrived.wait(60), proc.stderr.read1() if proc.poll() is not None else "no request"
        (row,) = rows(db)
        assert (row.state, row.attempts) == ("sending", 1)  # the claim was committed before the send
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert run(db, T0 + 30 * timedelta(seconds=1)) == []  # still claimed: nobody sends it
    (expired,) = run(db, T0 + 2 * MINUTE)
    assert (expired.state, expired.problem) == ("unknown", True)
    assert "claim expired" in expired.error
    assert run(db, T0 + timedelta(hours=1)) == []
    (row,) = rows(db)
    assert (row.state, row.attempts, row.sent_at) == ("unknown", 1, None)
    assert requests == ["/hook"]  # one request, from the killed sender; none since


def test_four_processes_send_each_due_delivery_exactly_once(db, db_path, server):
    keys: Counter = Counter()
    lock = threading.Lock()

    def count(request):
        with lock:
            keys[request.headers["Idempotency-Key"]] += 1
        time.sleep(0.02)  # a receiver that takes a moment, so the senders overlap
        return Response("ok")

    server.expect_request("/hook").respond_with_handler(count)
    server.expect_request("/other").respond_with_handler(count)
    contact = {"rate": "1000/1m"}
    setup(db, {"contacts": {"a": {"webhook": server.url_for("/hook"), **contact},
                            "b": {"webhook": server.url_for("/other"), **contact}},
               "notify": [{"contact": "a"}, {"contact": "b"}]})
    for n in range(40):
        trigger(db, f"disk {n} full")
    procs = [child(db_path, T0, limit=7) for _ in range(4)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        results.append(tuple(map(int, out.split())))
    assert sum(sent for _, sent in results) == 80
    assert len(keys) == 80 and set(keys.values()) == {1}
    assert sum(1 for _, sent in results if sent) >= 2  # the work was shared, not done by one
    assert {r.state for r in rows(db)} == {"sent"} and {r.attempts for r in rows(db)} == {1}
