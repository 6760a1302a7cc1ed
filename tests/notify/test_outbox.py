"""The outbox at session level, against real peers: a local HTTP server for
webhooks and Apprise's json://, a local SMTP server (aiosmtpd), real child
processes for commands. Time is replayed with `now`; nothing sleeps."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import textwrap
from datetime import timedelta

import pytest
from werkzeug import Response

from outbox_kit import (MINUTE, SECRET, T0, TOKEN, assert_no_secret, bodies, free_port, rows, run, setup, start_server,
                        states, stop_server, transition, trigger)
from pager_cli.notify import outbox


@pytest.fixture
def server():
    srv = start_server()
    yield srv
    stop_server(srv)


def hook(server, path="/hook/s3cr3t", **options) -> dict:
    return {"webhook": server.url_for(path), "secret": "${HOOK_SECRET}",
            "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"}, **options}


ENV = {"HOOK_SECRET": SECRET, "HOOK_TOKEN": TOKEN}


def test_a_page_makes_one_delivery_per_rule_due_at_page_time_plus_after(db, server):
    setup(db, {"contacts": {"hook": hook(server), "later": hook(server, "/later")},
               "notify": [{"contact": "hook", "after": "0m"}, {"contact": "later", "after": "3m"}]}, env=ENV)
    incident = trigger(db)
    assert [(r.contact, r.event, r.level, r.step, r.due_at, r.state) for r in rows(db)] == [
        ("hook", "page", 0, 0, T0, "pending"), ("later", "page", 0, 0, T0 + 3 * MINUTE, "pending")]
    server.expect_request("/hook/s3cr3t", method="POST").respond_with_data("ok")
    server.expect_request("/later", method="POST").respond_with_data("ok")
    outcomes = run(db, T0)
    assert [(o.contact, o.state) for o in outcomes] == [("hook", "sent")]
    assert states(db) == [("hook", "page", "sent"), ("later", "page", "pending")]
    (request, _), = server.log
    body = request.get_data()
    doc = json.loads(body)
    first = rows(db)[0]
    assert doc["event"] == "page" and doc["delivery"] == first.id and doc["attempt"] == 1
    assert (doc["user"], doc["contact"], doc["level"]) == ("alice", "hook", 0)
    assert doc["text"] == f"[CRITICAL] payments: DB connection failed (#{incident})"
    assert doc["incident"]["id"] == incident and doc["incident"]["status"] == "triggered"
    assert doc["incident"]["assignees"] == ["alice"] and doc["ack_url"] is None
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["X-Pager-Signature"] == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert request.headers["Idempotency-Key"].startswith(f"{first.id}-")
    assert first.sent_at == T0 and first.attempts == 1
    assert run(db, T0 + MINUTE) == []  # nothing due yet: the 3m rule waits
    assert [o.contact for o in run(db, T0 + 3 * MINUTE)] == ["later"]
    assert len(server.log) == 2
    assert run(db, T0 + 10 * MINUTE) == []  # sent is sent


@pytest.mark.slow
def test_http_500_is_retried_after_30s_and_2min_then_failed(db, server):
    setup(db, {"contacts": {"hook": hook(server)}, "notify": [{"contact": "hook"}]}, env=ENV)
    trigger(db)
    server.expect_request("/hook/s3cr3t").respond_with_data("down", status=500)
    (first,) = run(db, T0)
    assert (first.state, first.error) == ("pending", "HTTP 500")
    (row,) = rows(db)
    assert (row.attempts, row.due_at) == (1, T0 + timedelta(seconds=30))
    assert run(db, T0 + timedelta(seconds=29)) == []
    (second,) = run(db, T0 + timedelta(seconds=30))
    assert second.state == "pending" and rows(db)[0].due_at == T0 + timedelta(seconds=30) + 2 * MINUTE
    assert run(db, T0 + 2 * MINUTE) == []
    (third,) = run(db, T0 + timedelta(seconds=150))
    assert (third.state, third.error, third.problem) == ("failed", "HTTP 500 (after 3 attempts)", True)
    assert len(server.log) == 3
    assert [json.loads(r.get_data())["attempt"] for r, _ in server.log] == [1, 2, 3]
    assert run(db, T0 + timedelta(hours=1)) == []
    assert rows(db)[0].attempts == 3
    assert_no_secret(db)


def test_http_404_fails_at_once(db, server):
    setup(db, {"contacts": {"hook": hook(server)}, "notify": [{"contact": "hook"}]}, env=ENV)
    trigger(db)
    server.expect_request("/hook/s3cr3t").respond_with_data("no", status=404)
    (outcome,) = run(db, T0)
    assert (outcome.state, outcome.error, outcome.problem) == ("failed", "HTTP 404", True)
    assert outcome.line() == "alice hook: failed (HTTP 404) [page #1, delivery 1]"
    assert run(db, T0 + timedelta(hours=1)) == [] and len(server.log) == 1
    assert_no_secret(db)


@pytest.mark.slow
def test_a_timeout_is_retried(db, server):
    def slow(request):
        server.released.wait(5)
        return Response("late")

    setup(db, {"contacts": {"hook": hook(server, timeout="1s")}, "notify": [{"contact": "hook"}]}, env=ENV)
    trigger(db)
    server.expect_request("/hook/s3cr3t").respond_with_handler(slow)
    (outcome,) = run(db, T0)
    assert (outcome.state, outcome.error) == ("pending", "timed out after 1s")
    assert rows(db)[0].due_at == T0 + timedelta(seconds=30)
    assert_no_secret(db)


def test_acknowledging_cancels_what_is_not_sent_and_updates_reach_updates_contacts_only(db, server):
    setup(db, {"contacts": {"hook": hook(server, updates=True), "phone": hook(server, "/phone"),
                            "quiet": hook(server, "/quiet")},
               "notify": [{"contact": "hook"}, {"contact": "phone", "after": "5m"}]}, env=ENV)
    incident = trigger(db)
    server.expect_request("/hook/s3cr3t").respond_with_data("ok")
    assert [o.contact for o in run(db, T0)] == ["hook"]
    transition(db, incident, "acknowledge", T0 + 2 * MINUTE)
    assert states(db) == [("hook", "page", "sent"), ("phone", "page", "canceled"),
                          ("hook", "acknowledged", "pending")]
    assert rows(db, contact="phone")[0].error == "incident acknowledged"
    assert [(o.contact, o.event, o.state) for o in run(db, T0 + 2 * MINUTE)] == [("hook", "acknowledged", "sent")]
    assert run(db, T0 + 10 * MINUTE) == []  # the 5m phone rule is never sent
    transition(db, incident, "resolve", T0 + 20 * MINUTE)
    run(db, T0 + 20 * MINUTE)
    events = [(b["event"], b["incident"]["status"]) for b in bodies(server)]
    assert events == [("page", "triggered"), ("acknowledged", "acknowledged"), ("resolved", "resolved")]
    assert {r.path for r, _ in server.log} == {"/hook/s3cr3t"}  # never /phone, never /quiet


def test_resolve_before_anything_was_sent_cancels_and_updates_once_per_contact(db, server):
    setup(db, {"contacts": {"hook": hook(server, updates=True)},
               "notify": [{"contact": "hook"}, {"contact": "hook", "after": "1m"}]}, env=ENV)
    incident = trigger(db)
    transition(db, incident, "resolve", T0)
    assert states(db) == [("hook", "page", "canceled"), ("hook", "page", "canceled"), ("hook", "resolved", "pending")]


def test_catch_up_sends_only_the_current_steps_deliveries(db, server):
    """The machine was off for 12 minutes: both steps are recorded, only bob
    (the current level) is messaged; alice's late page is superseded."""
    setup(db, {"contacts": {"hook": hook(server, "/alice")}, "notify": [{"contact": "hook"}]},
          {"contacts": {"hook": hook(server, "/bob")}, "notify": [{"contact": "hook"}]}, env=ENV, delays=("5m", "1h"))
    with db.write() as session:  # the trigger's own send never happened (say it was killed)
        from pager_cli.incidents import lifecycle

        lifecycle.trigger(session, T0, "payments", "disk full", "critical")
    from pager_cli.escalation.engine import escalate_check

    assert [e.kind for piece in escalate_check(db, T0 + 12 * MINUTE) for e in piece] == ["escalated", "page"]
    server.expect_request("/bob").respond_with_data("ok")
    assert [(o.user, o.state) for o in run(db, T0 + 12 * MINUTE)] == [("bob", "sent")]
    assert [(r.user, r.state, r.error) for r in rows(db)] == [("alice", "canceled", "superseded"),
                                                                ("bob", "sent", None)]


def test_a_later_rule_of_an_earlier_level_still_goes_when_it_falls_due_after_the_step(db, server):
    setup(db, {"contacts": {"hook": hook(server, "/alice")}, "notify": [{"contact": "hook", "after": "5m"}]},
          {"contacts": {"hook": hook(server, "/bob")}, "notify": [{"contact": "hook"}]}, env=ENV, delays=("2m", "1h"))
    trigger(db)
    from pager_cli.escalation.engine import escalate_check

    list(escalate_check(db, T0 + 2 * MINUTE))
    server.expect_request("/bob").respond_with_data("ok")
    server.expect_request("/alice").respond_with_data("ok")
    assert [o.user for o in run(db, T0 + 2 * MINUTE)] == ["bob"]
    assert [o.user for o in run(db, T0 + 5 * MINUTE)] == ["alice"]


def test_a_burst_of_20_against_rate_5_per_15m_sends_5_then_one_digest_naming_the_other_15(db, server):
    setup(db, {"contacts": {"hook": hook(server)}, "notify": [{"contact": "hook"}]}, env=ENV)
    ids = [trigger(db, f"disk {n} full", T0 + timedelta(seconds=n)) for n in range(20)]
    server.expect_request("/hook/s3cr3t").respond_with_data("ok")
    outcomes = run(db, T0 + MINUTE)
    assert len(outcomes) == 5 and all(o.state == "sent" for o in outcomes)
    assert len(server.log) == 5
    assert [r.state for r in rows(db, event="page")].count("bundled") == 15
    assert run(db, T0 + 10 * MINUTE) == []  # the window does not allow more yet
    assert run(db, T0 + 16 * MINUTE - timedelta(seconds=1)) == []
    (digest,) = run(db, T0 + 16 * MINUTE)
    assert (digest.event, digest.state, digest.incident) == ("digest", "sent", None)
    doc = bodies(server)[-1]
    assert doc["event"] == "digest" and "incident" not in doc
    assert sorted(i["id"] for i in doc["incidents"]) == ids[5:]
    assert doc["text"].startswith("[DIGEST] 15 incidents for alice")
    named = {b["incident"]["id"] for b in bodies(server)[:5]} | {i["id"] for i in doc["incidents"]}
    assert named == set(ids)  # every incident named in one message
    held = rows(db, state="bundled")
    assert len(held) == 15 and {r.bundle_id for r in held} == {digest.delivery}
    assert run(db, T0 + 2 * 16 * MINUTE) == [] and len(server.log) == 6


def test_held_deliveries_of_an_acknowledged_incident_are_canceled(db, server):
    setup(db, {"contacts": {"hook": hook(server, rate="1/15m")}, "notify": [{"contact": "hook"}]}, env=ENV)
    first, second, third = (trigger(db, f"t{n}") for n in range(3))
    server.expect_request("/hook/s3cr3t").respond_with_data("ok")
    assert len(run(db, T0)) == 1
    transition(db, second, "acknowledge", T0 + MINUTE)
    (digest,) = run(db, T0 + 15 * MINUTE + timedelta(seconds=1))
    assert [i["id"] for i in bodies(server)[-1]["incidents"]] == [third]
    assert rows(db, incident_id=second)[0].state == "canceled"


@pytest.mark.slow
def test_each_kind_delivers_through_the_outbox(db, server, tmp_path):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server_, session, envelope):  # noqa: N802
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    out = tmp_path / "command.json"
    script = tmp_path / "page.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, json
        doc = json.load(sys.stdin)
        with open({str(out)!r}, "w") as f:
            json.dump({{"doc": doc, "user": os.environ["PAGER_USER"], "contact": os.environ["PAGER_CONTACT"],
                       "event": os.environ["PAGER_EVENT"]}}, f)
    """))
    try:
        setup(db, {"contacts": {"hook": hook(server),
                                "push": {"apprise": f"json://127.0.0.1:{server.port}/ntfy/s3cr3t"},
                                "mail": {"email": "alice@example.com"},
                                "phone": {"command": [sys.executable, str(script)]}},
                   "notify": [{"contact": c} for c in ("hook", "push", "mail", "phone")]},
              smtp={"host": "127.0.0.1", "port": controller.port, "tls": "none", "from": "pager@example.com"},
              env=ENV)
        server.expect_request("/hook/s3cr3t").respond_with_data("ok")
        server.expect_request("/ntfy/s3cr3t").respond_with_data("ok")
        incident = trigger(db)
        outcomes = run(db, T0)
    finally:
        controller.stop()
    assert sorted((o.contact, o.state, o.error) for o in outcomes) == [
        ("hook", "sent", None), ("mail", "sent", None), ("phone", "sent", None), ("push", "sent", None)]
    (mail,) = inbox.messages
    assert mail.rcpt_tos == ["alice@example.com"]
    assert f"[CRITICAL] payments: DB connection failed (#{incident})" in mail.content.decode()
    apprise = [json.loads(r.get_data()) for r, _ in server.log if r.path == "/ntfy/s3cr3t"][0]
    assert apprise["title"] == f"[CRITICAL] payments: DB connection failed (#{incident})"
    ran = json.loads(out.read_text())
    assert (ran["user"], ran["contact"], ran["event"]) == ("alice", "phone", "page")
    assert ran["doc"]["incident"]["id"] == incident
    assert {r.state for r in rows(db)} == {"sent"}


def test_command_exit_codes_decide_retry_or_failed(db, tmp_path):
    retry, fail = tmp_path / "retry.sh", tmp_path / "fail.sh"
    retry.write_text("#!/bin/sh\nexit 75\n")
    fail.write_text("#!/bin/sh\necho 'token=s3cr3t' >&2\nexit 3\n")
    for script in (retry, fail):
        script.chmod(0o755)
    setup(db, {"contacts": {"a": {"command": [str(retry)]}, "b": {"command": [str(fail), "s3cr3t"]}},
               "notify": [{"contact": "a"}, {"contact": "b"}]})
    trigger(db)
    assert sorted((o.contact, o.state, o.error) for o in run(db, T0)) == [
        ("a", "pending", "exit 75"), ("b", "failed", "exit 3")]
    assert_no_secret(db)


def test_test_contacts_sends_each_or_one_contact_now(db, server):
    setup(db, {"contacts": {"hook": hook(server), "gone": hook(server, "/gone")}}, env=ENV)
    server.expect_request("/hook/s3cr3t").respond_with_data("ok")
    server.expect_request("/gone").respond_with_data("no", status=404)
    outcomes = outbox.test_contacts(db, "alice", now=T0)
    assert [o.line() for o in outcomes] == ["alice hook: sent", "alice gone: failed (HTTP 404)"]
    assert bodies(server, "/hook/s3cr3t")[0]["event"] == "test"
    assert [o.contact for o in outbox.test_contacts(db, "alice", "hook", now=T0)] == ["hook"]
    from pager_cli.errors import NotFound

    with pytest.raises(NotFound):
        outbox.test_contacts(db, "alice", "nope", now=T0)
    with pytest.raises(NotFound):
        outbox.test_contacts(db, "zoe", now=T0)
    assert [r.event for r in rows(db)] == ["test", "test", "test"]
    assert_no_secret(db)


def test_deliveries_listing_and_its_json(db, server):
    setup(db, {"contacts": {"hook": hook(server)}, "notify": [{"contact": "hook"}]}, env=ENV)
    first, second = trigger(db, "a"), trigger(db, "b")
    server.expect_request("/hook/s3cr3t").respond_with_data("no", status=404)
    run(db, T0)
    with db.read() as session:
        docs = outbox.deliveries(session)
        assert [d["incident"] for d in docs] == [second, first]
        assert docs[0] == {"id": 2, "incident": second, "user": "alice", "contact": "hook", "event": "page",
                           "level": 0, "due_at": "2026-11-23T09:00:00Z", "state": "failed", "attempts": 1,
                           "sent_at": None, "error": "HTTP 404"}
        assert [d["id"] for d in outbox.deliveries(session, incident=first)] == [1]
        assert outbox.deliveries(session, user="bob") == []
        assert len(outbox.deliveries(session, state="failed", limit=1)) == 1
        assert outbox.deliveries(session, since=T0 + MINUTE) == []
        from pager_cli.errors import UsageError

        with pytest.raises(UsageError):
            outbox.deliveries(session, state="lost")


def test_record_after_the_claim_expired_and_a_send_the_deadline_never_started(db, server):
    from pager_cli.notify.channels import RETRY, SENT, Result

    setup(db, {"contacts": {"hook": hook(server), "other": hook(server, "/other")},
               "notify": [{"contact": "hook"}, {"contact": "other"}]}, env=ENV)
    trigger(db)
    with db.write() as session:
        first, second = outbox.claim(session, T0)
    assert [r.state for r in rows(db)] == ["sending", "sending"]
    with db.write() as session:
        assert [o.state for o in outbox.expire_claims(session, T0 + 2 * MINUTE)] == ["unknown", "unknown"]
        # a late answer that says nothing for sure leaves it unknown; one that says sent is believed
        assert outbox.record(session, T0 + 2 * MINUTE, first.id, Result(RETRY, "HTTP 503")).state == "unknown"
        assert outbox.record(session, T0 + 2 * MINUTE, second.id, Result(SENT)).state == "sent"
    trigger(db, "another")
    with db.write() as session:
        third, _ = outbox.claim(session, T0 + 3 * MINUTE)
        back = outbox.record(session, T0 + 3 * MINUTE, third.id, Result(RETRY, "deadline: not attempted", False))
    assert (back.state, back.attempts) == ("pending", 0)
    with db.write() as session:
        assert [c.attempts for c in outbox.claim(session, T0 + 3 * MINUTE)] == [1]
