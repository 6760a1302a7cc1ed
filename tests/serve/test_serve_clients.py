"""Real clients against a running `pager serve`: pdpyras (PagerDuty's Python
client) with its URL pointed at serve, a burst of events then kill -9, and
the ack links that messages carry."""

from __future__ import annotations

import json
import signal
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import run_pager
from dbread import rows
from serve_kit import KEY, configure, deliveries_sent, hook_file, served, start  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def status_of(db_path, key: str) -> str | None:  # noqa: ANN001
    found = rows(db_path, "SELECT status FROM incident WHERE dedup_key = ?", (key,))
    return found[0][0] if found else None


def test_pdpyras_trigger_acknowledge_resolve(served, db_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pdpyras announces its own deprecation
        import pdpyras

    session = pdpyras.EventsAPISession(KEY)
    session.url = served.url
    key = session.trigger("Payment API down", "api-1", severity="critical", custom_details={"region": "eu"})
    assert status_of(db_path, key) == "triggered"
    assert rows(db_path, "SELECT service, severity, title FROM incident") == [("web", "critical", "Payment API down")]
    assert session.trigger("Payment API down", "api-1", dedup_key=key) == key
    assert rows(db_path, "SELECT alert_count FROM incident") == [(2,)]
    assert session.acknowledge(key) == key
    assert status_of(db_path, key) == "acknowledged"
    assert session.resolve(key) == key
    assert status_of(db_path, key) == "resolved"
    changes = pdpyras.ChangeEventsAPISession(KEY)
    changes.url = served.url
    changes.submit("Deployed 1.2.3", "ci")
    assert rows(db_path, "SELECT count(*) FROM incident") == [(1,)]


def test_kill_9_right_after_a_burst_loses_no_acknowledged_event(cli, tmp_path, db_path, hook_file):
    configure(cli, tmp_path)
    server = start()
    acknowledged, lock = [], threading.Lock()

    def client(n: int) -> None:
        con = server.connection()
        for i in range(60):
            key = f"burst-{n}-{i}"
            body = {"routing_key": KEY, "event_action": "trigger", "dedup_key": key,
                    "payload": {"summary": f"event {key}", "source": "bench", "severity": "warning"}}
            con.request("POST", "/v2/enqueue", body=json.dumps(body))
            response = con.getresponse()
            response.read()
            if response.status == 202:
                with lock:
                    acknowledged.append(key)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(client, range(8)))
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    assert len(acknowledged) == 480
    stored = {key for (key,) in rows(db_path, "SELECT dedup_key FROM incident")}
    assert set(acknowledged) <= stored


def test_ack_link_get_shows_post_acknowledges_as_the_paged_user(served, db_path, hook_file):
    trigger = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "k1",
               "payload": {"summary": "Queue stuck", "source": "mq", "severity": "critical"}}
    assert served.post("/v2/enqueue", trigger, token=None)[0] == 202
    page = deliveries_sent(hook_file, 1)[0]
    assert page["event"] == "page" and page["user"] == "alice"
    link = page["ack_url"]
    assert link.startswith("http://pager.example.test/ack/")
    path = link[len("http://pager.example.test"):]
    for _ in range(2):  # a mail scanner GETs every link: nothing happens
        status, headers, html = served.request("GET", path, token=None)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert b'<form method="post">' in html and b"Queue stuck" in html
    assert status_of(db_path, "k1") == "triggered"
    status, _, html = served.request("POST", path, token=None)
    assert status == 200 and b"acknowledged as alice" in html
    assert rows(db_path, "SELECT status, acknowledged_by FROM incident") == [("acknowledged", "alice")]
    assert served.request("POST", path, token=None)[0] == 200  # again: already acknowledged, said so
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert served.request("POST", tampered, token=None)[0] == 403
    other = path.replace("/ack/1.", "/ack/2.")
    assert served.request("POST", other, token=None)[0] == 403  # the signature covers the delivery


def test_an_expired_ack_link_is_refused(cli, tmp_path, db_path, hook_file):
    configure(cli, tmp_path)
    proc = run_pager("--now", "2026-11-23T10:00:00Z", "trigger", "Queue stuck", "--service", "web")
    assert proc.returncode == 0, proc.stderr
    path = "/ack/" + deliveries_sent(hook_file, 1)[0]["ack_url"].split("/ack/")[1]
    late = start("--now", "2026-11-24T10:00:01Z")
    try:
        status, _, html = late.request("POST", path, token=None)
        assert status == 410 and b"expired" in html
        assert late.request("GET", path, token=None)[0] == 410
    finally:
        late.stop()
    assert status_of(db_path, rows(db_path, "SELECT dedup_key FROM incident")[0][0]) == "triggered"
    in_time = start("--now", "2026-11-24T09:59:00Z")
    try:
        assert in_time.request("POST", path, token=None)[0] == 200
    finally:
        in_time.stop()
    assert rows(db_path, "SELECT status, acknowledged_by FROM incident") == [("acknowledged", "alice")]
