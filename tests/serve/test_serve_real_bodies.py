"""Every body of tests/fixtures/real posted as it is, to the endpoint its
sender posts to, through a running `pager serve`: the answers its sender
expects, and the incidents the database then holds."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from dbread import rows
from serve_kit import served, hook_file  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

REAL = FIXTURES / "real"


def body(name: str) -> bytes:
    return (REAL / name).read_bytes()


def open_keys(db_path) -> dict[str, tuple]:  # noqa: ANN001
    return {key: (service, status) for key, service, status in
            rows(db_path, "SELECT dedup_key, service, status FROM incident")}


def test_pagerduty_v2_senders(served, db_path):
    accepted = {}
    for name in ("pdpyras-trigger.json", "zabbix-pagerduty-trigger.json", "uptime-kuma-pagerduty-trigger.json",
                 "uptime-kuma-pagerduty-test-button.json", "pagerduty-api-schema-v2-event.json",
                 "alertmanager-pagerduty-v2-trigger.json"):
        status, answer = served.post("/v2/enqueue", body(name), token=None)
        assert status == 202, (name, answer)
        assert answer["status"] == "success" and answer["message"] == "Event processed"
        accepted[name] = answer["dedup_key"]
    assert accepted["pdpyras-trigger.json"] == "srv01/HTTP"
    assert accepted["zabbix-pagerduty-trigger.json"] == "1183"
    assert accepted["uptime-kuma-pagerduty-trigger.json"] == "Uptime Kuma/7"
    keys = open_keys(db_path)
    assert keys["srv01/HTTP"] == ("web", "triggered") and keys["1183"][1] == "triggered"
    assert len(keys) == 6
    for name in ("pdpyras-acknowledge.json", "zabbix-pagerduty-acknowledge.json", "zabbix-pagerduty-acknowledge.json",
                 "pdpyras-resolve.json", "zabbix-pagerduty-resolve.json", "uptime-kuma-pagerduty-resolve.json",
                 "alertmanager-pagerduty-v2-resolve.json"):
        status, answer = served.post("/v2/enqueue", body(name), token=None)
        assert status == 202, (name, answer)
    keys = open_keys(db_path)
    assert keys["srv01/HTTP"][1] == keys["1183"][1] == keys["Uptime Kuma/7"][1] == "resolved"
    assert keys[accepted["alertmanager-pagerduty-v2-trigger.json"]] == ("am-pagerduty", "resolved")


def test_grafana_pagerduty_notifier_with_an_unknown_routing_key_is_400(served, db_path):
    status, answer = served.post("/v2/enqueue", body("grafana-pagerduty-trigger.json"), token=None)
    assert status == 400 and answer["errors"] == ["unknown routing key: no service has this routing_key"]
    assert open_keys(db_path) == {}


def test_change_events_open_nothing(served, db_path):
    for name in ("pdpyras-change-event.json", "go-pagerduty-change-event.json",
                 "pagerduty-api-schema-change-event.json"):
        status, answer = served.post("/v2/change/enqueue", body(name), token=None)
        assert status == 202, (name, answer)
    assert open_keys(db_path) == {}
    assert rows(db_path, "SELECT count(*) FROM page") == [(0,)]


def test_alertmanager_and_grafana_webhooks(served, db_path):
    for name, created in (("alertmanager-alertmonitor-firing.json", 3), ("grafana-docs-webhook-firing.json", 2),
                          ("grafana-webhook-default-payload.json", 1), ("goalert-alertmanager-smoke.json", 1)):
        status, answer = served.post("/alertmanager/web", body(name))
        assert status == 200, (name, answer)
        assert [r["action"] for r in answer["records"]] == ["created"] * created, name
    status, answer = served.post("/alertmanager/web", body("alertmanager-alertmonitor-resolved.json"))
    assert [r["action"] for r in answer["records"]] == ["resolved"] * 3
    status, answer = served.post("/alertmanager/web", body("alertmanager-ericsson-resolved.json"))
    assert status == 200 and [r["action"] for r in answer["records"]] == ["ignored"]
    statuses = [s for _, s in open_keys(db_path).values()]
    assert statuses.count("resolved") == 3 and statuses.count("triggered") == 4


def test_stdin_shaped_bodies_on_events(served, db_path):
    for name in ("pagerduty-api-schema-v1-trigger.json", "goalert-generic-smoke.json", "goalert-generic-docs.json",
                 "datadog-webhook-test-notification.json", "grafana-legacy-webhook-test.json"):
        status, headers, data = served.request("POST", "/events/web", body(name))
        assert status == 200 and b'"action": "created"' in data, (name, data)
    assert len(open_keys(db_path)) == 5
