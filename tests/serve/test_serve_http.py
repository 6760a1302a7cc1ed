"""`pager serve` over HTTP with plain http.client: PagerDuty Events v2 and
change events, Alertmanager and `trigger -` bodies, the token, the limits, the
health check and the stop. Each test checks the database, not only the answer."""

from __future__ import annotations

import json
import re
import signal
import socket
import time

import pytest

from dbread import rows
from serve_kit import KEY, TOKEN, configure, served, hook_file, start  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

TRIGGER = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "db/disk",
           "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"}}


def incidents(db_path) -> list[tuple]:  # noqa: ANN001
    return rows(db_path, "SELECT id, service, status, dedup_key, title, alert_count FROM incident ORDER BY id")


def test_v2_trigger_acknowledge_resolve(served, db_path):
    status, answer = served.post("/v2/enqueue", TRIGGER, token=None)
    assert (status, answer) == (202, {"status": "success", "message": "Event processed", "dedup_key": "db/disk"})
    assert incidents(db_path) == [(1, "web", "triggered", "db/disk", "Disk full on db1", 1)]
    assert served.post("/v2/enqueue", TRIGGER, token=None)[0] == 202
    assert incidents(db_path)[0][5] == 2  # deduplicated: one more alert
    ack = {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "db/disk"}
    assert served.post("/v2/enqueue", ack, token=None) == (
        202, {"status": "success", "message": "Event processed", "dedup_key": "db/disk"})
    assert incidents(db_path)[0][2] == "acknowledged"
    assert served.post("/v2/enqueue", {**ack, "event_action": "resolve"}, token=None)[0] == 202
    assert incidents(db_path)[0][2] == "resolved"


def test_a_trigger_without_dedup_key_gets_one(served, db_path):
    body = {k: v for k, v in TRIGGER.items() if k != "dedup_key"}
    status, answer = served.post("/v2/enqueue", body, token=None)
    assert status == 202 and len(answer["dedup_key"]) == 32
    assert incidents(db_path)[0][3] == answer["dedup_key"]


def test_the_routing_key_may_come_in_a_header(served, db_path):
    body = {k: v for k, v in TRIGGER.items() if k != "routing_key"}
    assert served.post("/v2/enqueue", body, token=None, headers={"X-Routing-Key": KEY})[0] == 202
    assert incidents(db_path)[0][1] == "web"


@pytest.mark.parametrize("body, error", [
    ({**TRIGGER, "payload": {"source": "db1", "severity": "critical"}}, "'payload.summary' is missing or blank"),
    ({**TRIGGER, "payload": {"summary": "x", "severity": "critical"}}, "'payload.source' is missing or blank"),
    ({**TRIGGER, "payload": {"summary": "x", "source": "y"}}, "'payload.severity' is missing or invalid"),
    ({**TRIGGER, "payload": {"summary": "x", "source": "y", "severity": "major"}}, "'payload.severity'"),
    ({**TRIGGER, "event_action": "close"}, "'event_action' is missing or invalid"),
    ({**TRIGGER, "routing_key": "no-such-key-000000000000000000000"}, "unknown routing key"),
    ({**TRIGGER, "routing_key": "web"}, "unknown routing key"),  # a service's name is no routing key here
    ({"routing_key": KEY, "event_action": "resolve"}, "'dedup_key' is required"),
    ("{not json", "invalid JSON"),
    ("[1, 2]", "not a JSON object"),
])
def test_an_invalid_event_is_400_as_pagerduty_answers_it(served, db_path, body, error):
    status, answer = served.post("/v2/enqueue", body, token=None)
    assert status == 400
    assert answer["status"] == "invalid event" and answer["message"] == "Event object is invalid"
    assert any(error in e for e in answer["errors"]), answer
    assert incidents(db_path) == []


def test_a_change_event_is_timeline_context_never_an_incident(served, db_path):
    assert served.post("/v2/enqueue", TRIGGER, token=None)[0] == 202
    change = {"routing_key": KEY, "payload": {"summary": "Deployed v2.3", "source": "ci"}}
    assert served.post("/v2/change/enqueue", change, token=None) == (
        202, {"status": "success", "message": "Change event processed"})
    assert len(incidents(db_path)) == 1
    assert rows(db_path, "SELECT kind, text FROM timeline WHERE kind = 'change'") == [("change", "Deployed v2.3")]
    assert served.post("/v2/change/enqueue", {**change, "routing_key": "nope"}, token=None)[0] == 400


def test_alertmanager_body_routes_to_the_service_in_the_path(served, db_path):
    from conftest import FIXTURES

    body = (FIXTURES / "alertmanager-firing.json").read_bytes()
    status, answer = served.post("/alertmanager/shop", body)
    assert status == 200 and [r["action"] for r in answer["records"]] == ["created", "created"]
    assert {(i[1], i[3]) for i in incidents(db_path)} == {("shop", "am:791cec13fcba0368"),
                                                          ("shop", "am:8df98227bdd81384")}
    assert served.post("/alertmanager/nope", body)[0] == 404
    assert served.post("/alertmanager/shop", {"title": "not alertmanager"})[0] == 400


def test_events_take_what_trigger_takes_and_answer_ndjson(served, db_path):
    body = '{"title": "one", "dedup_key": "k1"}\nplain text line\n{"action": "resolve", "dedup_key": "k1"}\n[1]\n'
    status, headers, data = served.request("POST", "/events/shop", body)
    assert status == 200 and headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [(d["record"], d["action"]) for d in lines] == [(1, "created"), (2, "created"), (3, "resolved"),
                                                           (4, "error")]
    assert [(i[1], i[2], i[4]) for i in incidents(db_path)] == [("shop", "resolved", "one"),
                                                                ("shop", "triggered", "plain text line")]


def test_every_endpoint_but_the_public_ones_needs_the_token(served, db_path):
    for token in (None, "wrong-token-0123456789", TOKEN + "x"):
        status, headers, _ = served.request("POST", "/events/web", '{"title": "x"}', token=token)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert served.post("/alertmanager/web", {"alerts": []}, token=token)[0] == 401
    assert incidents(db_path) == []
    assert served.request("GET", "/healthz", token=None)[:1] == (200,)
    assert json.loads(served.request("GET", "/healthz", token=None)[2]) == {"status": "ok"}
    assert served.request("GET", "/nowhere")[0] == 404
    assert served.request("GET", "/v2/enqueue")[0] == 405


def test_a_body_over_1_mib_is_413_and_not_read(served, db_path):
    body = {"title": "big", "details": {"blob": "x" * (1024 * 1024)}}
    assert served.post("/events/web", body)[0] == 413
    status, answer = served.post("/v2/enqueue", {**TRIGGER, "payload": {**TRIGGER["payload"], "pad": "y" * 2**20}},
                                 token=None)
    assert status == 413
    assert incidents(db_path) == []


def test_a_client_sending_one_byte_a_second_is_cut_off(cli, tmp_path, db_path, hook_file):
    configure(cli, tmp_path)
    server = start("--", "--read-timeout", "2s")
    try:
        request = (b"POST /v2/enqueue HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 400\r\n\r\n" + json.dumps(TRIGGER).encode().ljust(400))
        sock = socket.create_connection((server.host, server.port))
        started, cut = time.monotonic(), False
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
                time.sleep(1)
            except OSError:
                cut = True
                break
            sock.settimeout(0.01)
            try:
                if sock.recv(1) == b"":
                    cut = True
                    break
            except TimeoutError:
                pass
            if time.monotonic() - started > 15:
                break
        assert cut, "the slow client was never cut off"
        assert time.monotonic() - started < 6
        # the server still answers others meanwhile
        assert server.post("/v2/enqueue", TRIGGER, token=None)[0] == 202
        sock.close()
    finally:
        code, err = server.stop()
    assert code == 0
    assert "Disk full" not in err and KEY not in err  # no body, no key in any log line


def test_listening_beyond_loopback_needs_a_token(cli, tmp_path):
    (tmp_path / "c.yaml").write_text("services:\n  web: {}\n")
    assert cli("schedules", "apply", tmp_path / "c.yaml").code == 0
    r = cli("serve", "--listen", "0.0.0.0:0")
    assert r.code == 2 and r.err.startswith("Error: refusing to listen on 0.0.0.0 without a token"), r
    for bad in ("localhost", "127.0.0.1:99999"):
        r = cli("serve", "--listen", bad)
        assert r.code == 2 and "HOST:PORT" in r.err, r


def test_requests_sent_together_are_answered_in_order(served, db_path):
    """The writer answers PagerDuty events once committed while the connection's
    thread reads on: a client that sends its requests without waiting still
    gets the answers in order, the last before the connection closes."""
    def request(body: bytes, close: bool = False) -> bytes:
        head = f"POST /v2/enqueue HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body
    second = json.dumps({**TRIGGER, "dedup_key": "db/cpu"}).encode()
    sock = socket.create_connection((served.host, served.port))
    sock.sendall(request(json.dumps(TRIGGER).encode()) + request(b"{not json") + request(second, close=True))
    data = b""
    sock.settimeout(30)
    while chunk := sock.recv(65536):  # until the server closes the connection
        data += chunk
    sock.close()
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)  # (each body ends where the next answer begins)
    assert statuses == [b"202", b"400", b"202"]
    assert data.index(b'"db/disk"') < data.index(b"invalid event") < data.index(b'"db/cpu"')
    assert [row[3] for row in incidents(db_path)] == ["db/disk", "db/cpu"]


def test_a_client_that_never_reads_its_answers_is_cut_off(served, db_path):
    """The writer never waits to write an answer: a client that pipelines
    events and reads nothing (its receive window full) is disconnected, and a
    client beside it is answered meanwhile; every event answered is stored."""
    import threading

    body = json.dumps(TRIGGER).encode()
    one = f"POST /v2/enqueue HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    sock.connect((served.host, served.port))
    ended = threading.Event()

    def flood() -> None:
        try:
            for _ in range(400):
                sock.sendall(one * 50)
        except OSError:  # reset or broken pipe: the server cut the connection
            pass
        ended.set()

    threading.Thread(target=flood, daemon=True).start()
    assert ended.wait(60), "the server kept a client that reads no answers"
    status, answer = served.post("/v2/enqueue", {**TRIGGER, "dedup_key": "db/other"})
    assert status == 202 and answer["dedup_key"] == "db/other"
    sock.close()
    stored = {row[3]: row[5] for row in incidents(db_path)}
    assert set(stored) == {"db/disk", "db/other"} and 0 < stored["db/disk"] < 20_000


def test_sigterm_finishes_and_exits_0(served, db_path):
    con = served.connection()
    con.request("POST", "/v2/enqueue", body=json.dumps(TRIGGER))
    assert con.getresponse().read()  # an idle keep-alive connection stays open
    code, err = served.stop(signal.SIGTERM)
    assert code == 0, err
    assert err.strip().splitlines()[-1] == "stopped"
    assert incidents(db_path)[0][1:3] == ("web", "triggered")


@pytest.mark.sqlite_only  # holds SQLite's write lock from another connection
def test_a_database_busy_past_the_timeout_is_503_with_retry_after(cli, tmp_path, db_path, hook_file):
    import sqlite3

    configure(cli, tmp_path)
    server = start(env={"PAGER_BUSY_TIMEOUT": "1"})
    try:
        assert server.post("/v2/enqueue", TRIGGER, token=None)[0] == 202
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            status, headers, data = server.request("POST", "/v2/enqueue", json.dumps(TRIGGER), token=None)
            assert status == 503 and headers["Retry-After"] == "5"
            # every endpoint that writes answers alike (the dispatch maps a busy database)
            status, headers, data = server.request("POST", "/heartbeat/nosuch", b"")
            assert status == 503 and headers["Retry-After"] == "5", data
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert server.post("/v2/enqueue", TRIGGER, token=None)[0] == 202  # the sender's retry goes through
        assert incidents(db_path)[0][5] == 2  # the refused one was not counted
    finally:
        code, _ = server.stop()
    assert code == 0
