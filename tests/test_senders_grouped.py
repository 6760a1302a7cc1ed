"""Per-alert state inside `dedup: service` incidents (PRODUCT.md §5), through
`pager trigger -` as a real process with real senders' bodies in the sequences
they send: the incident folds every alert of the service, each alert key keeps
its own firing/resolved state, and a sender's resolve resolves the incident
only with its last firing alert; the timeline says which alerts remain."""

from __future__ import annotations

import json

import pytest

from conftest import run_pager
from dbread import alert_states, incidents, kinds, timeline
from senders_kit import actions, configure, fingerprints, real, resolved_copy, send

pytestmark = pytest.mark.slow

AM_FIRING = real("alertmanager-alertmonitor-firing.json")
AM_RESOLVED = real("alertmanager-alertmonitor-resolved.json")
GRAFANA = real("grafana-docs-webhook-firing.json")


@pytest.fixture
def grouped(cli, tmp_path):
    configure(cli, tmp_path)


def _with_statuses(data: bytes, *statuses: str) -> bytes:
    """The group notification Alertmanager (or Grafana) sends when some of its
    alerts have recovered: the same alerts, each with its own status."""
    body = json.loads(data)
    for alert, status in zip(body["alerts"], statuses):
        alert["status"] = status
    body["status"] = "firing" if "firing" in statuses else "resolved"
    return json.dumps(body).encode() + b"\n"


def _answers(docs: list[dict]) -> list[tuple]:
    return [(d["action"], d["incident"]) for d in docs]


def test_alertmanager_group_resolves_its_incident_with_its_last_firing_alert(grouped, db):
    a, b, c = keys = fingerprints(AM_FIRING)
    code, docs, err = send(AM_FIRING, "--service", "grouped")
    assert code == 0, err
    assert _answers(docs) == [("created", 1), ("deduplicated", 1), ("deduplicated", 1)]
    assert alert_states(db, 1) == [(k, "firing") for k in keys]

    # The next group notification: the first alert has recovered, the others fire on.
    code, docs, err = send(_with_statuses(AM_FIRING, "resolved", "firing", "firing"), "--service", "grouped")
    assert code == 0, err
    assert _answers(docs) == [("ignored", 1), ("deduplicated", 1), ("deduplicated", 1)]
    [row] = incidents(db)
    assert row.status == "triggered" and row.resolved_at is None and row.next_escalation_at is not None
    assert alert_states(db, 1) == [(a, "resolved"), (b, "firing"), (c, "firing")]
    assert ("alert_resolved", f"ICMP ping failed ({a}) resolved; still firing (2): "
            f"ICMP ping failed ({b}); ICMP ping failed ({c})") in timeline(db, 1)

    # Then the group's resolved notification (the real body): the last one resolves the incident.
    code, docs, err = send(AM_RESOLVED, "--service", "grouped")
    assert code == 0, err
    assert _answers(docs) == [("ignored", 1), ("ignored", 1), ("resolved", 1)]
    [row] = incidents(db)
    assert row.status == "resolved" and row.resolved_at is not None
    assert alert_states(db, 1) == [(k, "resolved") for k in keys]
    assert kinds(db, 1)[-3:] == ["alert_resolved", "alert_resolved", "resolved"]
    assert timeline(db, 1)[-2] == ("alert_resolved", f"ICMP ping failed ({b}) resolved; still firing (1): "
                                                     f"ICMP ping failed ({c})")


def test_grafana_alert_that_fires_again_keeps_the_incident_open(grouped, db):
    memory, cpu = fingerprints(GRAFANA)
    assert send(GRAFANA, "--service", "grouped")[0] == 0
    # memory recovers, then fires again, then cpu recovers: memory still fires
    for body in (_with_statuses(GRAFANA, "resolved", "firing"), _with_statuses(GRAFANA, "firing", "resolved")):
        code, docs, err = send(body, "--service", "grouped")
        assert code == 0, err
    assert incidents(db)[0].status == "triggered"
    assert alert_states(db, 1) == [(memory, "firing"), (cpu, "resolved")]
    code, docs, err = send(resolved_copy(GRAFANA), "--service", "grouped")
    assert _answers(docs) == [("resolved", 1), ("ignored", None)]  # cpu's second resolve: no open incident
    assert alert_states(db, 1) == [(memory, "resolved"), (cpu, "resolved")]
    # The group fires again: a new incident, with its own alert keys.
    assert actions(send(GRAFANA, "--service", "grouped")[1]) == ["created", "deduplicated"]
    assert [r.status for r in incidents(db)] == ["resolved", "triggered"]
    assert alert_states(db, 2) == [(memory, "firing"), (cpu, "firing")]


def test_one_stream_fires_and_resolves_within_a_batch(grouped, db):
    stream = AM_FIRING + b"\n" + _with_statuses(AM_FIRING, "resolved", "resolved", "firing") + AM_RESOLVED
    code, docs, err = send(stream, "--service", "grouped")
    assert code == 0, err
    assert actions(docs) == ["created", "deduplicated", "deduplicated",
                             "ignored", "ignored", "deduplicated",
                             "ignored", "ignored", "resolved"]
    assert all(d["incident"] == 1 for d in docs)
    assert incidents(db)[0].status == "resolved"
    assert [s for _, s in alert_states(db, 1)] == ["resolved"] * 3


def test_pager_trigger_keeps_alert_keys_that_a_stream_resolves(cli, grouped, db):
    now = ("--now", "2026-11-23T10:00:00Z")
    for key in ("disk-a", "disk-b"):
        r = cli(*now, "trigger", "--service", "grouped", "--dedup-key", key, f"{key} full")
        assert r.code == 0, r
    assert alert_states(db, 1) == [("disk-a", "firing"), ("disk-b", "firing")]
    resolve = b'{"service": "grouped", "dedup_key": "disk-a", "title": "disk-a full", "action": "resolve"}\n'
    assert _answers(send(resolve)[1]) == [("ignored", 1)]
    assert timeline(db, 1)[-1] == ("alert_resolved", "disk-a full (disk-a) resolved; still firing (1): "
                                                     "disk-b full (disk-b)")
    assert _answers(send(resolve.replace(b"disk-a", b"disk-b"))[1]) == [("resolved", 1)]
    assert incidents(db)[0].status == "resolved"


def test_a_strict_grouped_service_holds_the_last_resolve_until_acknowledged(cli, tmp_path, db):
    from senders_kit import CONFIG

    configure(cli, tmp_path, CONFIG.replace("    dedup: service\n",
                                            "    dedup: service\n    require_ack_before_resolve: true\n"))
    assert send(AM_FIRING, "--service", "grouped")[0] == 0
    code, docs, err = send(AM_RESOLVED, "--service", "grouped")
    assert _answers(docs) == [("ignored", 1)] * 3
    assert incidents(db)[0].status == "triggered"
    assert kinds(db, 1)[-3:] == ["alert_resolved", "alert_resolved", "held"]
    run_pager("--now", "2026-11-23T10:01:00Z", "ack", "1", "--by", "alice", check=True)
    # every alert is resolved already: the first resolve resolves the incident
    assert _answers(send(AM_RESOLVED, "--service", "grouped", now="2026-11-23T10:02:00Z")[1]) == [
        ("resolved", 1), ("ignored", None), ("ignored", None)]
    assert incidents(db)[0].status == "resolved"
