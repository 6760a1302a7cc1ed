"""The commands send what they make: `trigger` sends the level-0 page right
after its commit, `escalate-check` (the tick) sends what falls due later and
exits 1 when a delivery failed for good, `ack` cancels what was still to come —
each a real `pager` process against a real local HTTP server."""

from __future__ import annotations

import json

import pytest
import yaml
from pytest_httpserver import HTTPServer

from conftest import run_pager
from dbread import deliveries

pytestmark = pytest.mark.slow


def _config(tmp_path, url: str, phone_url: str) -> str:
    doc = {
        "timezone": "UTC",
        "users": {
            "alice": {"name": "Alice", "contacts": {"hook": {"webhook": url}, "phone": {"webhook": phone_url}},
                      "notify": [{"contact": "hook", "after": "0m"}, {"contact": "phone", "after": "5m"}]},
            "bob": {"name": "Bob", "contacts": {"hook": {"webhook": url}}, "notify": [{"contact": "hook", "after": "0m"}]},
        },
        "escalation_policies": {"p": {"levels": [{"targets": ["user:alice"], "delay": "10m"},
                                                 {"targets": ["user:bob"], "delay": "10m"}]}},
        "services": {"payments": {"escalation_policy": "p"}},
    }
    path = tmp_path / "pager.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def test_trigger_sends_its_page_and_the_tick_sends_the_rest(cli, tmp_path, db_path, httpserver: HTTPServer):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request("/phone", method="POST").respond_with_data("gone", status=404)
    config = _config(tmp_path, httpserver.url_for("/hook"), httpserver.url_for("/phone"))
    assert run_pager("schedules", "apply", config, check=True).returncode == 0

    made = run_pager("--now", "2026-11-23T09:00:00Z", "trigger", "--service", "payments", "DB down", check=True)
    assert b"PAGE alice #1" in made.stdout
    bodies = [json.loads(request.data) for request, _ in httpserver.log]
    assert [(b["event"], b["user"], b["contact"], b["incident"]["id"]) for b in bodies] == [("page", "alice", "hook", 1)]
    assert deliveries(db_path) == [("alice", "hook", "page", "sent"), ("alice", "phone", "page", "pending")]
    doc = cli("show", "1", "--json").json()  # show lists them
    assert [(d["user"], d["contact"], d["event"], d["state"]) for d in doc["deliveries"]] == [
        ("alice", "hook", "page", "sent"), ("alice", "phone", "page", "pending")]
    text = cli("--tz", "UTC", "show", "1").out
    assert "Deliveries" in text and "pending" in text and "sent" in text

    # nothing due yet: no output, nothing sent
    quiet = run_pager("--now", "2026-11-23T09:04:00Z", "escalate-check")
    assert (quiet.returncode, quiet.stdout) == (0, b"")
    assert len(httpserver.log) == 1

    # the phone rule falls due and its receiver says 404: failed for good, exit 1, said on stdout
    late = run_pager("--now", "2026-11-23T09:05:00Z", "escalate-check")
    assert late.returncode == 1, late
    assert b"DELIVERY alice phone: failed (HTTP 404)" in late.stdout
    assert b"failed for good" in late.stderr
    assert deliveries(db_path)[1] == ("alice", "phone", "page", "failed")

    # level 1 ten minutes in: bob is paged and his hook gets it in the same tick
    step = run_pager("--now", "2026-11-23T09:10:00Z", "escalate-check")
    assert step.returncode == 0, step
    assert b"PAGE bob #1" in step.stdout and b"DELIVERY bob hook: sent" in step.stdout
    assert ("bob", "hook", "page", "sent") in deliveries(db_path)


def test_an_ack_cancels_a_rule_still_to_come(tmp_path, db_path, httpserver: HTTPServer):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request("/phone", method="POST").respond_with_data("ok")
    config = _config(tmp_path, httpserver.url_for("/hook"), httpserver.url_for("/phone"))
    run_pager("schedules", "apply", config, check=True)
    run_pager("--now", "2026-11-23T09:00:00Z", "trigger", "--service", "payments", "DB down", check=True)
    run_pager("--now", "2026-11-23T09:02:00Z", "ack", "1", check=True)
    later = run_pager("--now", "2026-11-23T09:30:00Z", "escalate-check")
    assert (later.returncode, later.stdout) == (0, b"")
    assert deliveries(db_path) == [("alice", "hook", "page", "sent"), ("alice", "phone", "page", "canceled")]
    assert [request.path for request, _ in httpserver.log] == ["/hook"]


def test_a_stream_of_alerts_sends_its_pages(tmp_path, db_path, httpserver: HTTPServer):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request("/phone", method="POST").respond_with_data("ok")
    run_pager("schedules", "apply", _config(tmp_path, httpserver.url_for("/hook"), httpserver.url_for("/phone")),
              check=True)
    lines = "\n".join(json.dumps({"service": "payments", "title": f"disk {i}"}) for i in range(3))
    done = run_pager("--now", "2026-11-23T09:00:00Z", "trigger", "-", input=lines + "\n")
    assert done.returncode == 0, done
    sent = sorted(json.loads(request.data)["incident"]["id"] for request, _ in httpserver.log)
    assert sent == [1, 2, 3]
