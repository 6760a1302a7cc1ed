"""What a sender's alerts may do to an open incident, through `pager trigger -`
as a real process with real senders' bodies (tests/fixtures/real): a resolve
for a `require_ack_before_resolve` incident nobody acknowledged is held on the
timeline, and a more severe alert raises the incident's severity, never lowers it."""

from __future__ import annotations

import json

import pytest

from senders_kit import CONFIG, actions, configure, incidents, kinds, real, send, timeline

pytestmark = pytest.mark.slow

HELD = ("held", "resolved by the source; needs an acknowledgement")


@pytest.fixture
def strict_web(cli, tmp_path):
    configure(cli, tmp_path, CONFIG.replace("    routing_key: 0123456789abcdef0123456789abcdef\n",
                                            "    routing_key: 0123456789abcdef0123456789abcdef\n"
                                            "    require_ack_before_resolve: true\n"))


def test_zabbix_resolve_before_anyone_acknowledged_is_held(strict_web, db):
    assert send(real("zabbix-pagerduty-trigger.json"))[0] == 0
    code, docs, err = send(real("zabbix-pagerduty-resolve.json"))
    assert code == 0, err
    assert [(d["action"], d["incident"], d["error"]) for d in docs] == [("ignored", 1, None)]
    [row] = incidents(db)
    assert row.status == "triggered" and row.next_escalation_at is not None  # escalation goes on
    assert timeline(db, 1)[-1] == HELD

    assert actions(send(real("zabbix-pagerduty-acknowledge.json"))[1]) == ["acknowledged"]
    assert actions(send(real("zabbix-pagerduty-resolve.json"))[1]) == ["resolved"]
    assert incidents(db)[0].status == "resolved"
    assert kinds(db, 1)[-3:] == ["held", "acknowledged", "resolved"]


def test_alertmanager_resolved_body_for_a_strict_service_is_held(cli, tmp_path, db):
    configure(cli, tmp_path)
    firing = real("alertmanager-alertmonitor-firing.json")
    assert send(firing, "--service", "strict")[0] == 0
    code, docs, err = send(real("alertmanager-alertmonitor-resolved.json"), "--service", "strict")
    assert code == 0, err
    assert actions(docs) == ["ignored"] * 3
    assert [r.status for r in incidents(db)] == ["triggered"] * 3
    assert all(timeline(db, i)[-1] == HELD for i in (1, 2, 3))


@pytest.fixture
def plain(cli, tmp_path):
    configure(cli, tmp_path)
    return cli


def test_a_more_severe_alert_raises_the_incident_and_a_lesser_one_does_not_lower_it(plain, db):
    # Zabbix's trigger (severity error), then the same problem at critical, then at info.
    trigger = json.loads(real("zabbix-pagerduty-trigger.json"))
    crit = json.loads(json.dumps(trigger))
    crit["payload"]["severity"] = "critical"
    info = json.loads(json.dumps(trigger))
    info["payload"]["severity"] = "info"
    stream = b"".join(json.dumps(b).encode() + b"\n" for b in (trigger, crit, info))
    code, docs, err = send(stream)
    assert code == 0, err
    assert actions(docs) == ["created", "deduplicated", "deduplicated"]
    [row] = incidents(db)
    assert row.severity == "critical"
    assert kinds(db, 1).count("severity") == 1
    assert ("severity", "raised from error to critical") in timeline(db, 1)

    # Across streams too, and through `pager trigger` itself.
    code, docs, err = send(json.dumps(dict(trigger, dedup_key="other")).encode() + b"\n")
    assert code == 0 and actions(docs) == ["created"], (docs, err)
    assert incidents(db)[1].severity == "error"
    r = plain("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "web", "--dedup-key", "other",
            "--severity", "critical", "Zabbix again")
    assert r.code == 0, r
    assert incidents(db)[1].severity == "critical" and kinds(db, 2)[-1] == "severity"
