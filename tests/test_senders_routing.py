"""Routing of Alertmanager-shaped bodies from real senders (tests/fixtures/real)
through `pager trigger -` as a real process: `labels.service`, else the
service named like the body's `receiver`, else `--service`, else the config's
`default_service`; an alert that lands somewhere it did not name says so, once
per stream."""

from __future__ import annotations

import json

import pytest

from senders_kit import CONFIG, actions, configure, incidents, real, send

pytestmark = pytest.mark.slow

FIRING = "alertmanager-alertmonitor-firing.json"  # receiver `alertmonitor_swarm`, no `service` label
NOWHERE = "no service label, no service named like the receiver 'alertmonitor_swarm'"


@pytest.fixture
def setup(cli, tmp_path):
    configure(cli, tmp_path)


def test_the_service_named_like_the_receiver(cli, tmp_path, db):
    configure(cli, tmp_path, CONFIG + "  alertmonitor_swarm:\n    escalation_policy: main\n")
    code, docs, err = send(real(FIRING), "--service", "web")
    assert code == 0, err
    assert actions(docs) == ["created"] * 3 and "Warning" not in err
    assert {r.service for r in incidents(db)} == {"alertmonitor_swarm"}
    code, docs, err = send(real("alertmanager-alertmonitor-resolved.json"))
    assert actions(docs) == ["resolved"] * 3 and "Warning" not in err


def test_the_service_option_says_so_once_per_stream(setup, db):
    # Two bodies in one stream, one record per batch: one warning in all.
    code, docs, err = send(real(FIRING) + real(FIRING), "--service", "web", "--batch-size", "1")
    assert code == 0, err
    assert actions(docs) == ["created"] * 3 + ["deduplicated"] * 3
    assert err.count("Warning") == 1
    assert f"Warning: record 1 (line 1): {NOWHERE}: sent to web" in err
    assert {r.service for r in incidents(db)} == {"web"}
    # Another stream says it again.
    code, docs, err = send(real(FIRING), "--service", "web")
    assert err.count(f"{NOWHERE}: sent to web") == 1


def test_the_default_service_then_nothing(cli, tmp_path, db):
    configure(cli, tmp_path, CONFIG.replace("timezone: UTC\n", "timezone: UTC\ndefault_service: shop\n", 1))
    code, docs, err = send(real(FIRING))
    assert code == 0, err
    assert err.count(f"{NOWHERE}: sent to shop") == 1
    assert {r.service for r in incidents(db)} == {"shop"}

    configure(cli, tmp_path)  # no default_service
    code, docs, err = send(real("grafana-webhook-default-payload.json"))
    assert code == 1 and actions(docs) == ["error"]
    assert docs[0]["error"] == ("no service label, no service named like the receiver 'my_receiver'"
                                " (and no default_service in the config)")


def test_a_service_label_wins_and_an_unknown_one_says_so(setup, db):
    body = json.loads(real(FIRING))
    body["alerts"][0]["labels"]["service"] = "shop"
    body["alerts"][1]["labels"]["service"] = "nope"
    code, docs, err = send(json.dumps(body).encode() + b"\n", "--service", "web")
    assert code == 0, err
    assert [r.service for r in incidents(db)] == ["shop", "web", "web"]
    assert "Warning: record 2 (line 1): unknown service 'nope', no service named like the receiver" in err
    assert f"Warning: record 3 (line 1): {NOWHERE}: sent to web" in err
    assert "record 1" not in err


def test_a_grafana_body_routes_by_its_receiver(cli, tmp_path, db):
    configure(cli, tmp_path, CONFIG + "  my_receiver:\n    escalation_policy: main\n")
    code, docs, err = send(real("grafana-webhook-default-payload.json"))
    assert code == 0 and "Warning" not in err, err
    assert [r.service for r in incidents(db)] == ["my_receiver"]
