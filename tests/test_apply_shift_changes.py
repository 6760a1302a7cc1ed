"""`schedules apply FILE --dry-run` says who gains and who loses which
stretches of the next 28 days, across a DST change, and writes nothing."""

from __future__ import annotations

import pytest
from datetime import timedelta

import yaml

from conftest import utc
from test_apply import dump

NOW = "2026-10-22T07:00Z"  # 09:00 CEST, a handoff; Berlin falls back on 2026-10-25


def _config(users=("alice", "bob", "carol"), overrides=(), extra=None) -> dict:
    doc = {
        "timezone": "Europe/Berlin",
        "users": {u: {"name": u.title()} for u in ("alice", "bob", "carol", "dave")},
        "schedules": {"primary": {"layers": [{"name": "daily", "rotation": "daily", "start": "2026-10-01T09:00",
                                              "users": list(users)}], "overrides": list(overrides)}},
    }
    doc["schedules"].update(extra or {})
    return doc


def _write(tmp_path, doc, name="pager.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_swap_shows_every_day_that_changes_hands_and_writes_nothing(cli, tmp_path, db_path):
    assert cli("schedules", "apply", _write(tmp_path, _config())).code == 0
    before = dump(db_path)
    swapped = _write(tmp_path, _config(users=("alice", "carol", "bob")), "swapped.yaml")
    r = cli("--now", NOW, "schedules", "apply", swapped, "--dry-run", "--json")
    assert r.code == 0, r
    doc = r.json()
    assert (doc["dry_run"], doc["changed"], doc["created"], doc["removed"]) == (True, ["schedule primary"], [], [])
    found = doc["shift_changes"]
    # day k from 2026-10-01 is users[k mod 3]: days 22, 25, … go from bob to carol, days 23, 26, … back
    assert found[:3] == [
        {"schedule": "primary", "start": "2026-10-23T07:00:00Z", "end": "2026-10-24T07:00:00Z",
         "before": "bob", "after": "carol"},
        {"schedule": "primary", "start": "2026-10-24T07:00:00Z", "end": "2026-10-25T08:00:00Z",  # 25 hours
         "before": "carol", "after": "bob"},
        {"schedule": "primary", "start": "2026-10-26T08:00:00Z", "end": "2026-10-27T08:00:00Z",
         "before": "bob", "after": "carol"},
    ]
    assert len(found) == 18 and found[-1]["end"] == "2026-11-18T08:00:00Z"
    assert dump(db_path) == before  # nothing written

    text = cli("--now", NOW, "schedules", "apply", swapped, "--dry-run")
    lines = text.out.splitlines()
    assert lines[:5] == [
        "would be changed: schedule primary",
        "shifts that change hands in primary (next 28 days):",
        "  2026-10-23 09:00 → 2026-10-24 09:00 CEST: bob → carol",
        "  2026-10-24 09:00 CEST → 2026-10-25 09:00 CET: carol → bob",
        "  2026-10-26 09:00 → 2026-10-27 09:00 CET: bob → carol",
    ]
    assert dump(db_path) == before


@pytest.mark.slow
def test_the_stretches_agree_with_asking_who_is_on_call(cli, tmp_path):
    """Every half hour of the 28 days: inside a stretch before/after are who
    `oncall --at` says before and after applying; outside, the same user."""
    assert cli("schedules", "apply", _write(tmp_path, _config())).code == 0
    changed = _config(users=("alice", "carol", "bob", "dave"),
                      overrides=[{"user": "dave", "start": "2026-10-30T12:00", "end": "2026-11-02T12:00"}])
    path = _write(tmp_path, changed, "changed.yaml")
    found = cli("--now", NOW, "--json", "schedules", "apply", path, "--dry-run").json()["shift_changes"]
    start = utc(NOW)
    instants = [start + timedelta(minutes=30 * i) for i in range(28 * 48)]

    def who() -> list:
        return [cli("--json", "oncall", "primary", "--at", t.isoformat()).json()[0]["user"] for t in instants[::7]]

    old = who()
    assert cli("--now", NOW, "schedules", "apply", path).code == 0
    new = who()
    for t, was, now in zip(instants[::7], old, new):
        inside = [s for s in found if utc(s["start"]) <= t < utc(s["end"])]
        if was == now:
            assert inside == [], t
        else:
            assert [(s["before"], s["after"]) for s in inside] == [(was, now)], t
    # adjacent stretches never share (before, after): they would have merged
    assert all(not (a["end"] == b["start"] and (a["before"], a["after"]) == (b["before"], b["after"]))
               for a, b in zip(found, found[1:]))


def test_new_and_removed_schedules_and_an_unchanged_file(cli, tmp_path):
    extra = {"night": {"timezone": "UTC", "layers": [{"name": "w", "rotation": "weekly", "start": "2026-10-19T00:00",
                                                      "users": ["dave"]}]}}
    assert cli("schedules", "apply", _write(tmp_path, _config(extra=extra))).code == 0
    same = cli("--now", NOW, "--json", "schedules", "apply", _write(tmp_path, _config(extra=extra), "same.yaml"),
               "--dry-run").json()
    assert same["shift_changes"] == []
    moved = cli("--now", NOW, "--json", "schedules", "apply", _write(tmp_path, _config(), "moved.yaml"),
                "--dry-run").json()
    assert moved["removed"] == ["schedule night"]
    assert moved["shift_changes"] == [{"schedule": "night", "start": "2026-10-22T07:00:00Z",
                                       "end": "2026-11-19T07:00:00Z", "before": "dave", "after": None}]
    human = cli("--now", NOW, "schedules", "apply", _write(tmp_path, _config(), "moved.yaml"), "--dry-run").out
    assert "  2026-10-22 07:00 → 2026-11-19 07:00 UTC: dave → nobody" in human.splitlines()
    # a real apply reports what it did as before, with no shift changes in its JSON
    done = cli("--now", NOW, "--json", "schedules", "apply", _write(tmp_path, _config(), "moved.yaml")).json()
    assert done == {"dry_run": False, "created": [], "changed": [], "removed": ["schedule night"]}
