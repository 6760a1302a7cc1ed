"""Generic-looking bodies from real senders (tests/fixtures/real) through
`pager trigger -` as a real process: GoAlert's generic API (a string
`details`, `action: close`, `dedup`), Grafana's legacy webhook and Datadog's
webhook. Outcomes are checked in the database."""

from __future__ import annotations

import json

import pytest

from senders_kit import actions, configure, incidents, kinds, real, send

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(cli, tmp_path):
    configure(cli, tmp_path)


def test_goalert_generic_smoke_body(setup, db):
    data = real("goalert-generic-smoke.json")
    code, docs, err = send(data)
    assert code == 1 and "no service" in err and incidents(db) == []
    code, docs, err = send(data, "--service", "web")
    assert code == 0 and actions(docs) == ["created"], err
    assert incidents(db)[0].title == "json"


def test_goalert_generic_string_details_are_kept_as_text(setup, db):
    code, docs, err = send(real("goalert-generic-docs.json"), "--service", "web")
    assert code == 0, err
    assert actions(docs) == ["created"]
    [row] = incidents(db)
    assert row.title == "test"
    assert row.details == {"text": "test", "meta": {"example_key": "example_value", "example_key2": "example_value2"}}


def test_goalert_generic_dedup_and_close(setup, db):
    def line(**fields) -> bytes:
        return json.dumps(fields).encode() + b"\n"

    stream = line(summary="disk full", details="sda1 at 99%", dedup="host1/disk") + line(
        summary="disk full", dedup="host1/disk") + line(summary="disk full", dedup="host1/disk", action="close")
    code, docs, err = send(stream, "--service", "web")
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [
        ("created", "host1/disk"), ("deduplicated", "host1/disk"), ("resolved", "host1/disk")]
    [row] = incidents(db)
    assert (row.status, row.details) == ("resolved", {"text": "sda1 at 99%"})
    assert kinds(db, 1)[-1] == "resolved"


def test_a_string_details_is_kept_in_any_format(setup, db):
    stream = json.dumps({"service": "web", "title": "a", "details": "plain words"}).encode() + b"\n"
    code, docs, err = send(stream)
    assert code == 0, err
    assert incidents(db)[0].details == {"text": "plain words"}


def test_grafana_legacy_webhook_and_datadog_are_generic(setup, db):
    code, docs, err = send(real("grafana-legacy-webhook-test.json"), "--service", "web")
    assert code == 0 and actions(docs) == ["created"], err
    code, docs, err = send(real("datadog-webhook-test-notification.json"), "--service", "web")
    assert code == 0 and actions(docs) == ["created"], err  # its `event_type` is not PagerDuty v1's
    assert [r.title for r in incidents(db)] == ["[Alerting] Test notification", "[Triggered] [TEST] Host Cluster Alert"]
