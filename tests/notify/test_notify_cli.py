"""`pager deliveries` and `pager notify test` (PRODUCT.md §9), in process and
as real processes, against a real local HTTP server (pytest-httpserver) and a
real command contact. The database is checked, not only the printed text.
Last, a whole scenario run as processes, every output captured: no contact's
URL, header, secret or token is ever printed."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
import sqlalchemy as sa

from conftest import run_pager
from outbox_kit import rows, start_server, stop_server
from pager_cli.notify import outbox
from pager_cli.store import tables as m
from pager_cli.store.db import open_database

T0 = "2026-11-23T09:00:00Z"
SINK = """
import json, os, sys
doc = json.load(sys.stdin)
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"event": doc["event"], "contact": os.environ["PAGER_CONTACT"]}) + "\\n")
"""


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    stop_server(srv)


@pytest.fixture
def sink(tmp_path):
    """A command contact that records each delivery it gets, one JSON line each."""
    script = tmp_path / "sink.py"
    script.write_text(SINK)
    return script, tmp_path / "sink.log"


def config(tmp_path, server, sink) -> str:
    script, log = sink
    path = tmp_path / "pager.yaml"
    path.write_text(textwrap.dedent(f"""\
        timezone: UTC
        users:
          alice:
            name: Alice
            contacts:
              hook: {{webhook: "{server.url_for('/hook')}", secret: "${{HOOK_SECRET}}"}}
              gone: {{webhook: "{server.url_for('/gone')}"}}
              script: {{command: ["{sys.executable}", "{script}", "{log}"]}}
            notify:
              - {{contact: hook}}
              - {{contact: script, after: 5m}}
          bob:
            name: Bob
        escalation_policies:
          p: {{levels: [{{targets: ["user:alice"], delay: 10m}}, {{targets: ["user:bob"], delay: 10m}}]}}
        services:
          payments: {{escalation_policy: p}}
          search: {{escalation_policy: p}}
        """))
    return str(path)


@pytest.fixture
def applied(cli, tmp_path, server, sink):
    server.expect_request("/hook", method="POST").respond_with_data("ok")
    server.expect_request("/gone", method="POST").respond_with_data("gone", status=404)
    r = cli("schedules", "apply", config(tmp_path, server, sink), env={"HOOK_SECRET": "hmac-k"})
    assert r.code == 0, r
    return server


def sunk(sink) -> list[dict]:
    _, log = sink
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# -- notify test ---------------------------------------------------------------------

def test_notify_test_one_contact_sent_is_exit_0_and_recorded(cli, db, applied):
    r = cli("--now", T0, "notify", "test", "alice", "--contact", "hook")
    assert (r.code, r.out) == (0, "alice hook: sent\n"), r
    (row,) = rows(db)
    assert (row.user, row.contact, row.event, row.state, row.attempts, row.incident_id) == (
        "alice", "hook", "test", "sent", 1, None)
    (request, _), = applied.log
    assert json.loads(request.get_data())["event"] == "test"
    assert request.headers["X-Pager-Signature"].startswith("sha256=")


def test_notify_test_every_contact_a_404_is_exit_1(cli, db, applied, sink):
    r = cli("notify", "test", "alice")
    assert r.code == 1, r
    assert r.out.splitlines() == ["alice hook: sent", "alice gone: failed (HTTP 404)", "alice script: sent"]
    assert [(x.contact, x.state, x.error) for x in rows(db)] == [
        ("hook", "sent", None), ("gone", "failed", "HTTP 404"), ("script", "sent", None)]
    assert sunk(sink) == [{"event": "test", "contact": "script"}]


def test_notify_test_json(cli, applied):
    r = cli("notify", "test", "alice", "--contact", "gone", "--json")
    assert r.code == 1
    assert r.json() == [{"user": "alice", "contact": "gone", "state": "failed", "error": "HTTP 404"}]


def test_notify_test_unknown_user_or_contact_is_3_and_no_contacts_is_1(cli, db, applied):
    r = cli("notify", "test", "zoe")
    assert (r.code, r.out) == (3, "") and r.err.startswith("Error: no user 'zoe'")
    r = cli("notify", "test", "alice", "--contact", "pager")
    assert r.code == 3 and "alice's contacts: hook, gone, script" in r.err
    r = cli("notify", "test", "bob")
    assert r.code == 1 and "bob has no contacts" in r.err and r.out == ""
    assert rows(db) == []
    assert applied.log == []


def test_a_test_message_is_tried_once_not_retried_by_the_next_run(cli, db, applied):
    """A 500 is worth retrying for a page, but whoever runs the test is watching:
    the test is `failed` at once, and a later outbox run does not send it again."""
    applied.clear()
    applied.expect_request("/hook", method="POST").respond_with_data("down", status=500)
    r = cli("--now", T0, "notify", "test", "alice", "--contact", "hook")
    assert (r.code, r.out) == (1, "alice hook: failed (HTTP 500)\n")
    (row,) = rows(db)
    assert (row.state, row.error, row.attempts) == ("failed", "HTTP 500", 1)
    from outbox_kit import T0 as t0
    from datetime import timedelta

    assert outbox.run(db, t0 + timedelta(minutes=5)) == []
    assert len(applied.log) == 1


# -- deliveries ----------------------------------------------------------------------

@pytest.fixture
def history(cli, db, applied):
    """Two incidents paged at 09:00 and 09:20: the first's hook and script
    (due 09:05) rows sent by the runs at 09:00 and 09:20, the second's hook row
    sent, its script row canceled by the ack at 09:21; then a failed test."""
    from outbox_kit import T0 as t0
    from datetime import timedelta

    first = cli("--now", T0, "trigger", "--service", "payments", "DB down", "--json").json()["id"]
    outbox.run(db, t0)
    second = cli("--now", "2026-11-23T09:20:00Z", "trigger", "--service", "search", "index stale",
                 "--json").json()["id"]
    outbox.run(db, t0 + timedelta(minutes=20))
    assert cli("--now", "2026-11-23T09:21:00Z", "ack", str(second)).code == 0
    assert cli("--now", "2026-11-23T09:30:00Z", "notify", "test", "alice", "--contact", "gone").code == 1
    return first, second


def test_deliveries_table_and_filters(cli, db, history):
    first, second = history
    r = cli("deliveries")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert lines[0].strip() == "Deliveries, newest first (times in UTC)"
    assert lines[1].split() == ["ID", "Inc", "User", "Contact", "Event", "Lvl", "Due", "State", "Try", "Sent",
                                "Error"]
    body = [line.split() for line in lines[3:]]
    assert body[0] == ["5", "—", "alice", "gone", "test", "—", "11-23", "09:30", "failed", "1", "—", "HTTP", "404"]
    assert body[1] == ["4", f"#{second}", "alice", "script", "page", "0", "11-23", "09:25", "canceled", "0", "—",
                       "incident", "acknowledged"]
    assert body[-1] == ["1", f"#{first}", "alice", "hook", "page", "0", "11-23", "09:00", "sent", "1", "11-23",
                        "09:00"]
    r = cli("--tz", "Europe/Berlin", "deliveries", "--incident", str(first))
    assert "times in Europe/Berlin" in r.out and "11-23 10:00" in r.out and "#2" not in r.out

    def ids(*args):
        r = cli("deliveries", "--json", *args)
        assert r.code == 0, r
        return [doc["id"] for doc in r.json()]

    assert ids() == [5, 4, 3, 2, 1]
    assert ids("--incident", str(first)) == [2, 1]
    assert ids("--state", "pending") == []
    assert ids("--state", "sent") == [3, 2, 1]
    assert ids("--user", "bob") == []
    assert ids("--since", "2026-11-23T09:20:00Z") == [5, 4, 3]
    assert ids("--since", "2026-11-23 09:20", "--state", "canceled", "--incident", str(second)) == [4]
    assert ids("--limit", "2") == [5, 4]
    assert ids("--limit", "0") == [5, 4, 3, 2, 1]
    # --since takes TIME like every command: relative to --now
    r = cli("--now", "2026-11-23T09:40:00Z", "deliveries", "--json", "--since", "-15m")
    assert [doc["id"] for doc in r.json()] == [5, 4]
    # the listing agrees with the database
    assert [(x.id, x.state) for x in rows(db)] == [(1, "sent"), (2, "sent"), (3, "sent"), (4, "canceled"),
                                                     (5, "failed")]
    assert rows(db)[1].sent_at.isoformat() == "2026-11-23T09:20:00+00:00"


def test_deliveries_json_shape(cli, history, sink):
    first, _ = history
    r = cli("deliveries", "--incident", str(first), "--json")
    assert r.json() == [
        {"id": 2, "incident": first, "user": "alice", "contact": "script", "event": "page", "level": 0,
         "due_at": "2026-11-23T09:05:00Z", "state": "sent", "attempts": 1, "sent_at": "2026-11-23T09:20:00Z",
         "error": None},
        {"id": 1, "incident": first, "user": "alice", "contact": "hook", "event": "page", "level": 0,
         "due_at": "2026-11-23T09:00:00Z", "state": "sent", "attempts": 1, "sent_at": "2026-11-23T09:00:00Z",
         "error": None}]
    assert r.out.count("\n") == 1  # one plain document, never wrapped
    assert sunk(sink) == [{"event": "page", "contact": "script"}]


def test_deliveries_exit_codes(cli, history):
    r = cli("deliveries", "--state", "lost")
    assert r.code == 2 and r.out == ""
    assert "pending, sending, sent, failed, unknown, canceled, bundled" in r.err
    assert cli("deliveries", "--incident", "99").code == 3
    r = cli("deliveries", "--user", "zoe")
    assert r.code == 3 and "no user 'zoe'" in r.err
    assert cli("deliveries", "--since", "yesterday-ish").code == 2
    assert cli("deliveries", "--limit", "-1").code == 2
    r = cli("deliveries", "--state", "unknown")
    assert (r.code, r.out) == (0, "") and "No deliveries." in r.err


@pytest.mark.slow
def test_deliveries_as_a_process_fit_80_columns(history):
    proc = run_pager("deliveries", env={"COLUMNS": "80"})
    assert proc.returncode == 0 and proc.stderr == b""
    lines = proc.stdout.decode().splitlines()
    assert len(lines) > 4 and all(len(line) <= 80 for line in lines)


# -- secrets never printed -----------------------------------------------------------

SECRETS = {"HOOK_PATH": "pathtok-Q7x9v", "HOOK_SECRET": "hmackey-K2p4w", "HOOK_BEARER": "bearer-Z8m1q",
           "APPRISE_TOKEN": "apprtok-T5r3y", "SMTP_PASSWORD": "smtppw-W6n0e", "CMD_TOKEN": "cmdtok-J3v7u"}

SECRET_CONFIG = """\
timezone: UTC
smtp: {{host: 127.0.0.1, port: {smtp_port}, tls: none, from: pager@example.com,
       username: pager, password: "${{SMTP_PASSWORD}}"}}
users:
  alice:
    name: Alice
    contacts:
      hook: {{webhook: "{base}/hook/${{HOOK_PATH}}", secret: "${{HOOK_SECRET}}",
              headers: {{Authorization: "Bearer ${{HOOK_BEARER}}"}}, updates: true}}
      push: {{apprise: "json://{host}/apprise/${{APPRISE_TOKEN}}"}}
      mail: {{email: alice@example.com}}
      script: {{command: ["{python}", "{script}", "{log}", "--token=${{CMD_TOKEN}}"]}}
      {broken}
    notify:
      - {{contact: hook}}
      - {{contact: push}}
      - {{contact: mail}}
      - {{contact: script, after: 2m}}
  bob:
    name: Bob
    contacts:
      hook: {{webhook: "{base}/bob/${{HOOK_PATH}}", headers: {{Authorization: "Bearer ${{HOOK_BEARER}}"}}}}
    notify: [{{contact: hook}}]
escalation_policies:
  p: {{levels: [{{targets: ["user:alice"], delay: 5m}}, {{targets: ["user:bob"], delay: 5m}}], repeat: 1}}
services:
  payments: {{escalation_policy: p}}
"""

RUN_OUTBOX = """
import sys
from datetime import datetime
from pager_cli.notify import outbox
from pager_cli.store.db import open_database
db = open_database(sys.argv[1])
for o in outbox.run(db, datetime.fromisoformat(sys.argv[2])):
    print(o.line(), repr(o), o.to_json())
db.close()
"""


@pytest.mark.slow
def test_no_secret_is_ever_printed_in_a_whole_scenario(tmp_path, db_path, server, sink):
    """Contacts whose URL path, HMAC secret, Authorization header, Apprise URL,
    SMTP password and command argument hold secrets from ${ENV}; every command
    of a day with an incident, as real processes, every byte of stdout and
    stderr kept: none holds a secret. The outbox did send (the webhook saw the
    bearer token), so the check is not vacuous."""
    import socket
    import subprocess

    from pytest_httpserver import HTTPServer as _  # noqa: F401 - the real peer is the `server` fixture

    server.expect_request(f"/hook/{SECRETS['HOOK_PATH']}", method="POST").respond_with_data("ok")
    server.expect_request(f"/bob/{SECRETS['HOOK_PATH']}", method="POST").respond_with_data("no", status=500)
    server.expect_request(f"/apprise/{SECRETS['APPRISE_TOKEN']}", method="POST").respond_with_data("ok")
    with socket.socket() as s:  # an SMTP port nobody listens on: the mail fails, naming no password
        s.bind(("127.0.0.1", 0))
        smtp_port = s.getsockname()[1]
    script, log = sink
    base = f"http://127.0.0.1:{server.port}"
    fields = dict(smtp_port=smtp_port, base=base, host=f"127.0.0.1:{server.port}", python=sys.executable,
                  script=script, log=log)
    good = tmp_path / "pager.yaml"
    good.write_text(SECRET_CONFIG.format(broken="", **fields))
    broken = tmp_path / "broken.yaml"
    broken.write_text(SECRET_CONFIG.format(
        broken='bad: {webhook: "ftp://user:${HOOK_SECRET}@127.0.0.1/${HOOK_PATH}", secret: "${HOOK_SECRET}", '
               'headers: {"X-Token ${HOOK_BEARER}": "${HOOK_BEARER}"}, timeout: 0s, rate: "many"}',
        **fields))
    captured: list[tuple[tuple, int, bytes, bytes]] = []

    def pager(*args, code=None):
        proc = run_pager(*args, env=SECRETS)
        captured.append((args, proc.returncode, proc.stdout, proc.stderr))
        if code is not None:
            assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        return proc

    def send(at):
        proc = subprocess.run([sys.executable, "-c", RUN_OUTBOX, str(db_path), at], capture_output=True,
                              env={**__import__("os").environ, **SECRETS}, timeout=120)
        captured.append((("outbox.run", at), proc.returncode, proc.stdout, proc.stderr))
        assert proc.returncode == 0, proc.stderr
        return proc

    pager("schedules", "validate", str(good), code=0)
    pager("schedules", "validate", str(broken), code=2)
    pager("schedules", "apply", str(broken), code=2)
    pager("schedules", "apply", str(broken), "--dry-run", code=2)
    pager("schedules", "apply", str(good), "--dry-run", code=0)
    pager("schedules", "apply", str(good), code=0)
    pager("--now", "2026-11-23T09:00:00Z", "trigger", "--service", "payments", "--severity", "critical",
          "DB connection failed", code=0)
    send("2026-11-23T09:00:00+00:00")
    for at in ("09:01", "09:03", "09:06", "09:11", "09:40"):
        pager("--now", f"2026-11-23T{at}:00Z", "escalate-check")
        send(f"2026-11-23T{at}:00+00:00")
    pager("--now", "2026-11-23T09:12:00Z", "trigger", "--service", "payments", "disk full", code=0)
    pager("--now", "2026-11-23T09:13:00Z", "ack", "2", code=0)
    send("2026-11-23T09:13:00+00:00")
    pager("--now", "2026-11-23T09:14:00Z", "resolve", "2", code=0)
    pager("--now", "2026-11-23T09:45:00Z", "resolve", "1", code=0)
    send("2026-11-23T09:45:00+00:00")
    pager("notify", "test", "alice", code=1)  # the mail fails: nobody listens on the SMTP port
    pager("notify", "test", "alice", "--json", code=1)
    pager("notify", "test", "bob", "--contact", "hook", code=1)
    pager("notify", "test", "alice", "--contact", "hook", code=0)
    for args in (("deliveries",), ("deliveries", "--json"), ("deliveries", "--state", "failed"),
                 ("show", "1"), ("show", "1", "--json"), ("list", "--status", "all"),
                 ("list", "--status", "all", "--json"), ("services",), ("services", "--json"),
                 ("--now", "2026-11-24T00:00:00Z", "metrics"), ("--now", "2026-11-24T00:00:00Z", "metrics", "--json"),
                 ("oncall",), ("schedules", "list")):
        pager(*args, code=0)

    everything = b"\n".join(out + b"\n" + err for _, _, out, err in captured).decode()
    for name, value in SECRETS.items():
        assert value not in everything, f"{name} was printed"
    assert "Traceback" not in everything
    # not vacuous: the secrets were in force and the outbox sent with them
    requests = [request for request, _ in server.log]
    assert any(r.path == f"/hook/{SECRETS['HOOK_PATH']}" and r.headers["Authorization"] == f"Bearer {SECRETS['HOOK_BEARER']}"
               for r in requests)
    assert any(r.path == f"/apprise/{SECRETS['APPRISE_TOKEN']}" for r in requests)
    assert any(r.path.startswith("/bob/") for r in requests)
    assert sunk(sink)  # the command contact ran
    database = open_database(str(db_path))
    try:
        d = m.deliveries
        with database.read() as session:
            found = session.connection().execute(sa.select(d.c.contact, d.c.event, d.c.state, d.c.error)).all()
    finally:
        database.close()
    states = {(r.contact, r.state) for r in found}
    assert ("hook", "sent") in states and ("push", "sent") in states and ("script", "sent") in states
    assert any(r.contact == "mail" and r.state in ("failed", "pending") and r.error for r in found)
    assert any(r.event == "acknowledged" for r in found)  # hook has updates: true
    stored_errors = " ".join(r.error or "" for r in found)
    for value in SECRETS.values():
        assert value not in stored_errors
