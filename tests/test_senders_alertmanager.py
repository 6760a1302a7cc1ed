"""Alertmanager-shaped bodies from real senders (tests/fixtures/real), through
`pager trigger -` as a real process: Alertmanager before fingerprints, Grafana's
`version: "1"` webhook, GoAlert's version-less test body; then the firing →
resolved sequences they really send. Outcomes are checked in the database."""

from __future__ import annotations

import json

import pytest

from senders_kit import (
    REAL,
    actions,
    configure,
    fingerprints,
    firing_copy,
    incidents,
    kinds,
    real,
    resolved_copy,
    send,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(cli, tmp_path):
    configure(cli, tmp_path)


def test_the_real_fixtures_are_kept_byte_for_byte():
    # The collection they were copied from, where it exists (not in every checkout).
    shared = next((p / "shared/fixtures/real" for p in REAL.parents if (p / "shared/fixtures/real").is_dir()), None)
    ours = sorted(REAL.glob("*.json"))
    assert len(ours) == 28
    for path in ours:
        data = path.read_bytes()
        assert data.endswith(b"\n") and json.loads(data) is not None
        if shared is not None:
            assert (shared / path.name).read_bytes() == data, path.name


def test_grafana_webhook_firing_then_resolved(setup, db):
    firing = real("grafana-docs-webhook-firing.json")
    keys = fingerprints(firing)
    assert keys == ["am:c6eadffa33fcdf37", "am:bc97ff14869b13e3"]  # as given (the sample's labels were edited)
    code, docs, err = send(firing, "--service", "web")
    assert code == 0, err
    assert actions(docs) == ["created", "created"]
    assert [d["dedup_key"] for d in docs] == keys
    rows = incidents(db)
    assert [(r.service, r.title, r.dedup_key, r.status) for r in rows] == [
        ("web", "This alert was triggered for zone us-1", keys[0], "triggered"),
        ("web", "This alert was triggered for zone eu-1", keys[1], "triggered"),
    ]
    assert rows[0].details["values"] == {"B": 44.23943737541908, "C": 1}

    # Grafana's recovery: the same alerts `resolved`, the body's title and state
    # changed. It resolves the two incidents and opens none.
    body = json.loads(resolved_copy(firing))
    body.update(title="[RESOLVED] High memory usage", state="ok")
    code, docs, err = send(json.dumps(body, indent=2).encode(), "--service", "web")
    assert code == 0, err
    assert actions(docs) == ["resolved", "resolved"] and [d["incident"] for d in docs] == [1, 2]
    rows = incidents(db)
    assert len(rows) == 2 and [r.status for r in rows] == ["resolved", "resolved"]
    assert kinds(db, 1)[-1] == "resolved"


def test_grafana_default_payload_fingerprint_is_its_labels(setup, db):
    data = real("grafana-webhook-default-payload.json")
    body = json.loads(data)
    del body["alerts"][0]["fingerprint"]
    assert fingerprints(json.dumps(body).encode()) == ["am:fac0861a85de433a"]  # the FNV of its labels

    code, docs, err = send(data, "--service", "web")
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("created", "am:fac0861a85de433a")]
    [row] = incidents(db)
    assert (row.title, row.service) == ("alert1", "web")  # no annotations.summary: labels.alertname
    assert row.details["generatorURL"] == "http://localhost/test?orgId=1"

    code, docs, _ = send(data, "--service", "web")
    assert actions(docs) == ["deduplicated"]
    code, docs, _ = send(resolved_copy(data), "--service", "web")
    assert actions(docs) == ["resolved"]
    assert [r.status for r in incidents(db)] == ["resolved"]


def test_goalert_alertmanager_body_without_version(setup, db):
    data = real("goalert-alertmanager-smoke.json")
    code, docs, err = send(data, "--service", "web")
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("created", fingerprints(data)[0])]
    [row] = incidents(db)
    assert row.title == "My alert summary"
    code, docs, _ = send(resolved_copy(data), "--service", "web")
    assert actions(docs) == ["resolved"] and incidents(db)[0].status == "resolved"


def test_alertmanager_without_fingerprints_firing_then_resolved(setup, db):
    firing, resolved = real("alertmanager-alertmonitor-firing.json"), real("alertmanager-alertmonitor-resolved.json")
    keys = fingerprints(firing)
    assert len(set(keys)) == 3 and fingerprints(resolved) == keys
    code, docs, err = send(firing, "--service", "web")
    assert code == 0, err
    assert actions(docs) == ["created"] * 3 and [d["dedup_key"] for d in docs] == keys
    rows = incidents(db)
    assert {(r.title, r.severity, r.service) for r in rows} == {("ICMP ping failed", "error", "web")}

    code, docs, err = send(resolved, "--service", "web")
    assert code == 0, err
    assert actions(docs) == ["resolved"] * 3 and [d["incident"] for d in docs] == [1, 2, 3]
    assert [r.status for r in incidents(db)] == ["resolved"] * 3
    code, docs, _ = send(resolved, "--service", "web")
    assert actions(docs) == ["ignored"] * 3 and len(incidents(db)) == 3


def test_alertmanager_resolve_alone_is_ignored_then_resolves_what_its_firing_opened(setup, db):
    resolved = real("alertmanager-ericsson-resolved.json")
    code, docs, err = send(resolved, "--service", "web")
    assert code == 0, err
    assert [(d["action"], d["dedup_key"]) for d in docs] == [("ignored", "am:fbab788ec4c1018b")]
    assert incidents(db) == []

    code, docs, _ = send(firing_copy(resolved), "--service", "web")
    assert actions(docs) == ["created"]
    assert incidents(db)[0].severity == "warning"  # `Warning`
    code, docs, _ = send(resolved, "--service", "web")
    assert [(d["action"], d["incident"]) for d in docs] == [("resolved", 1)]
    assert incidents(db)[0].status == "resolved"
