"""PagerDuty-style bodies from real senders (tests/fixtures/real) through
`pager trigger -` as a real process: Events API v2 from pdpyras, Zabbix,
Uptime Kuma, Alertmanager and Grafana in the sequences they send; Events API
v1 (the API schema's example, a Ruby script, Alertmanager's `service_key`
mode). Outcomes are checked in the database."""

from __future__ import annotations

import json

import pytest

from senders_kit import KEY, CONFIG, actions, configure, incidents, kinds, pages, real, send

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(cli, tmp_path):
    configure(cli, tmp_path)


def test_pdpyras_trigger_acknowledge_resolve(setup, db):
    code, docs, err = send(real("pdpyras-trigger.json"))
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("created", "srv01/HTTP")]
    [row] = incidents(db)
    assert (row.service, row.severity, row.status) == ("web", "critical", "triggered")
    assert pages(db) == [1]
    assert actions(send(real("pdpyras-trigger.json"))[1]) == ["deduplicated"]
    assert actions(send(real("pdpyras-acknowledge.json"))[1]) == ["acknowledged"]
    assert incidents(db)[0].status == "acknowledged"
    assert actions(send(real("pdpyras-resolve.json"))[1]) == ["resolved"]
    assert incidents(db)[0].status == "resolved"
    assert kinds(db, 1) == ["triggered", "notified", "alert", "acknowledged", "resolved"]


def test_zabbix_trigger_acknowledge_twice_resolve(setup, db):
    code, docs, err = send(real("zabbix-pagerduty-trigger.json"))
    assert code == 0, err
    [row] = incidents(db)
    assert (row.dedup_key, row.severity) == ("1183", "error")
    assert row.details["client"] == "Zabbix" and row.details["links"][0]["text"] == "Event link"
    assert row.details["custom_details"]["Event host"] == "web-01"
    assert actions(send(real("zabbix-pagerduty-acknowledge.json"))[1]) == ["acknowledged"]
    code, docs, _ = send(real("zabbix-pagerduty-acknowledge.json"))  # every acked update sends one
    assert code == 0 and actions(docs) == ["ignored"]
    assert actions(send(real("zabbix-pagerduty-resolve.json"))[1]) == ["resolved"]
    assert incidents(db)[0].status == "resolved"
    assert kinds(db, 1) == ["triggered", "notified", "acknowledged", "resolved"]


def test_uptime_kuma_trigger_resolve_and_test_button(setup, db):
    code, docs, err = send(real("uptime-kuma-pagerduty-trigger.json"))
    assert code == 0, err
    [row] = incidents(db)
    assert (row.dedup_key, row.severity) == ("Uptime Kuma/7", "critical") and "🔴" in row.title
    code, docs, _ = send(real("uptime-kuma-pagerduty-resolve.json"))  # it still carries a payload
    assert [(d["action"], d["incident"]) for d in docs] == [("resolved", 1)]
    assert len(incidents(db)) == 1 and incidents(db)[0].status == "resolved"
    code, docs, _ = send(real("uptime-kuma-pagerduty-test-button.json"))
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("created", "Uptime Kuma/undefined")]


def test_alertmanager_pagerduty_receiver_trigger_then_resolve(setup, db):
    code, docs, err = send(real("alertmanager-pagerduty-v2-trigger.json"))
    assert code == 0, err
    [row] = incidents(db)
    assert (row.service, row.title, row.dedup_key) == ("am-pagerduty", "[FIRING:1] PagerDuty Test", "<dedup_key>")
    code, docs, _ = send(real("alertmanager-pagerduty-v2-resolve.json"))
    assert actions(docs) == ["resolved"] and incidents(db)[0].status == "resolved"


def test_grafana_pagerduty_notifier_unknown_routing_key(setup, db):
    data = real("grafana-pagerduty-trigger.json")
    code, docs, err = send(data)
    assert code == 1 and actions(docs) == ["error"] and incidents(db) == []
    assert "unknown routing key" in err and "pagerduty_recv" not in err
    code, docs, err = send(data, "--service", "web")
    assert code == 0 and actions(docs) == ["created"]
    assert "Warning: record 1 (line 1): unknown routing key: sent to web" in err
    [row] = incidents(db)
    assert (row.service, row.severity, row.dedup_key) == ("web", "warning", json.loads(data)["dedup_key"])
    assert {"client", "client_url", "links", "custom_details"} <= set(row.details)


def test_api_schema_v2_event(setup, db):
    code, docs, err = send(real("pagerduty-api-schema-v2-event.json"), "--service", "web")
    assert code == 0, err
    [row] = incidents(db)
    assert (row.dedup_key, row.severity) == ("srv01/mysql", "critical")
    assert {"images", "links", "client"} <= set(row.details)


# --------------------------------------------------------------------------
# Events API v1.


def test_v1_trigger_from_the_api_schema(setup, db):
    code, docs, err = send(real("pagerduty-api-schema-v1-trigger.json"))
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("created", "srv01/HTTP")]
    [row] = incidents(db)
    assert (row.service, row.title) == ("shop", "FAILURE for production/HTTP on machine srv01.acme.com")
    assert row.details["ping time"] == "1500ms" and row.details["client"] == "Sample Monitoring Service"
    assert row.details["client_url"] == "https://monitoring.service.com" and len(row.details["contexts"]) == 4
    assert pages(db) == [1]


def test_v1_acknowledge_from_a_ruby_script(cli, tmp_path, db):
    # The script's service key is its placeholder: here it is `shop`'s.
    configure(cli, tmp_path, CONFIG.replace("ruby: {escalation_policy: main, routing_key: CHANGE_THIS}", "ruby: {escalation_policy: main}").replace(
        "routing_key: e93facc04764012d7bfb002500d5d1a6", "routing_key: CHANGE_THIS"))
    ack = real("pagerduty-v1-acknowledge-ruby.json")
    code, docs, err = send(ack)
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("ignored", "srv01/HTTP")]  # nothing open yet
    code, docs, err = send(real("pagerduty-api-schema-v1-trigger.json"), "--service", "shop")
    assert actions(docs) == ["created"] and "unknown routing key: sent to shop" in err
    code, docs, err = send(ack)
    assert code == 0, err
    assert [(d["action"], d["incident"]) for d in docs] == [("acknowledged", 1)]
    assert incidents(db)[0].status == "acknowledged"


def test_alertmanager_service_key_mode_the_v1_fields_decide(setup, db):
    def body(event_type: str) -> dict:  # as Alertmanager's PagerDuty receiver sends it with `service_key`
        return {"service_key": KEY, "incident_key": "8d3c9f0e", "event_type": event_type,
                "description": "[FIRING:1] DiskFull", "event_action": "", "payload": None,
                "client": "Alertmanager", "client_url": "http://alertmanager:9093",
                "details": {"firing": "Labels:\n - alertname = DiskFull\n", "num_firing": "1"}}

    code, docs, err = send(json.dumps(body("trigger")).encode() + b"\n")
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("created", "8d3c9f0e")]
    [row] = incidents(db)
    assert (row.service, row.title, row.details["num_firing"]) == ("web", "[FIRING:1] DiskFull", "1")
    code, docs, err = send(json.dumps(body("resolve")).encode() + b"\n")
    assert code == 0, err
    assert actions(docs) == ["resolved"] and incidents(db)[0].status == "resolved"


def test_v1_bad_bodies_are_bad_records(setup, db):
    stream = b"".join(json.dumps(b).encode() + b"\n" for b in (
        {"service_key": KEY, "event_type": "trigger"},
        {"service_key": KEY, "event_type": "resolve"},
        {"service_key": KEY, "event_type": "snooze", "incident_key": "k"},
        {"service_key": KEY, "event_type": "trigger", "description": "no key given"},
    ))
    code, docs, err = send(stream)
    assert code == 1
    assert [d["error"] for d in docs[:3]] == [
        "missing title (a trigger needs a description)",
        "event_type resolve needs an incident_key",
        "unknown event_type 'snooze' (expected trigger, acknowledge or resolve)",
    ]
    assert docs[3]["action"] == "created" and len(docs[3]["dedup_key"]) == 32  # a key is made for it
