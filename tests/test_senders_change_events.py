"""PagerDuty change events from real clients (pdpyras, go-pagerduty, the API
schema's example), through `pager trigger -` as a real process: never an
incident or a page, a `change` entry on each open incident of the service
their routing key selects, and the answer `ignored`."""

from __future__ import annotations

import pytest

from senders_kit import actions, configure, incidents, kinds, pages, real, send, timeline

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(cli, tmp_path):
    configure(cli, tmp_path)


@pytest.mark.parametrize("name, service", [
    ("pdpyras-change-event.json", "web"),
    ("go-pagerduty-change-event.json", "builds"),
    ("pagerduty-api-schema-change-event.json", "pipeline"),
])
def test_a_change_event_alone_opens_nothing(setup, db, name, service):
    code, docs, err = send(real(name))
    assert code == 0, err
    assert docs == [{"record": 1, "action": "ignored", "incident": None, "dedup_key": None, "error": None}]
    assert incidents(db) == [] and pages(db) == []


def test_a_change_event_goes_on_the_timeline_of_each_open_incident_of_its_service(setup, db):
    assert send(real("pdpyras-trigger.json"))[0] == 0
    assert send(real("uptime-kuma-pagerduty-trigger.json"))[0] == 0
    assert send(real("go-pagerduty-change-event.json"))[0] == 0  # another service's change
    assert send(real("pagerduty-api-schema-v2-event.json"), "--service", "shop")[0] == 0  # another service
    paged = pages(db)

    code, docs, err = send(real("pdpyras-change-event.json"))
    assert code == 0, err
    assert actions(docs) == ["ignored"]
    rows = incidents(db)
    assert len(rows) == 3 and pages(db) == paged
    summary = "Build Success: Increase snapshot create timeout to 30 seconds"
    for incident in rows[:2]:  # web's two open incidents
        assert timeline(db, incident.id)[-1] == ("change", summary)
        assert kinds(db, incident.id).count("change") == 1
    assert "change" not in kinds(db, rows[2].id)

    # A resolved incident takes no more changes.
    assert send(real("pdpyras-resolve.json"))[0] == 0
    send(real("pdpyras-change-event.json"))
    assert kinds(db, 1).count("change") == 1 and kinds(db, 2).count("change") == 2


def test_a_change_event_in_a_stream_sees_the_incident_opened_just_before(setup, db):
    stream = real("pdpyras-trigger.json") + real("pdpyras-change-event.json") + real("pdpyras-trigger.json")
    code, docs, err = send(stream)
    assert code == 0, err
    assert actions(docs) == ["created", "ignored", "deduplicated"]
    assert kinds(db, 1)[-2:] == ["change", "alert"]
