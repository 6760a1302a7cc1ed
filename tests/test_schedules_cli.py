"""Schedule commands end to end: oncall (--at with and without an offset,
--service), schedules list/show, CLI overrides and their errors, gap warnings."""

from __future__ import annotations

import pytest

from conftest import EXAMPLE
from scenario import write_scenario


@pytest.fixture
def setup(cli, tmp_path):
    assert cli("schedules", "apply", write_scenario(tmp_path)).code == 0
    return cli


def test_oncall_now_and_at(setup):
    now = setup("--now", "2026-11-23T10:00:00Z", "oncall", "--json").json()
    assert [(d["schedule"], d["user"]) for d in now] == [("nights", None), ("primary", "alice")]
    assert now[1]["shift_start"] == "2026-11-23T09:00:00Z" and now[1]["shift_end"] == "2026-11-24T09:00:00Z"
    assert now[0]["shift_start"] is None and now[0]["shift_end"] is None
    # --at without an offset is in the config zone (UTC here), with --tz in that zone
    at = setup("oncall", "primary", "--at", "2026-11-24T08:59", "--json").json()
    assert at[0]["user"] == "alice"
    at = setup("--tz", "Europe/Berlin", "oncall", "primary", "--at", "2026-11-24T09:30", "--json").json()
    assert at[0]["user"] == "alice"  # 09:30 Berlin = 08:30Z
    at = setup("oncall", "primary", "--at", "2026-11-24T10:30:00+01:00", "--json").json()
    assert at[0]["user"] == "bob"
    night = setup("oncall", "nights", "--at", "2026-11-24T03:00Z", "--json").json()
    assert night[0]["user"] == "carol" and night[0]["shift_start"] == "2026-11-23T20:00:00Z"
    assert night[0]["shift_end"] == "2026-11-24T08:00:00Z"


def test_oncall_for_a_service_and_unknowns(setup):
    docs = setup("--now", "2026-11-23T10:00:00Z", "oncall", "--service", "night-shift", "--json").json()
    assert [(d["level"], d["schedule"], d["user"]) for d in docs] == [(0, "nights", None), (1, None, "grace")]
    assert setup("oncall", "nope").code == 3
    assert setup("oncall", "--service", "nope").code == 3
    assert setup("oncall", "--at", "tomorrow-ish").code == 2


def test_override_precedence_and_removal(setup):
    r = setup("schedules", "override", "primary", "--user", "carol", "--from", "2026-11-23T12:00Z", "--to", "2026-11-23T14:00Z", "--json")
    assert r.code == 0
    first = r.json()["id"]
    r = setup("schedules", "override", "primary", "--user", "grace", "--from", "2026-11-23T13:00Z", "--to", "2026-11-23T13:30Z", "--json")
    second = r.json()["id"]
    who = lambda t: setup("oncall", "primary", "--at", t, "--json").json()[0]["user"]  # noqa: E731
    assert [who("2026-11-23T11:59Z"), who("2026-11-23T12:00Z"), who("2026-11-23T13:10Z"), who("2026-11-23T13:30Z"),
            who("2026-11-23T14:00Z")] == ["alice", "carol", "grace", "carol", "alice"]
    shifts = setup("schedules", "show", "primary", "--from", "2026-11-23T11:00Z", "--to", "2026-11-23T15:00Z", "--json").json()
    assert [(s["user"], s["start"][11:16], s["end"][11:16], s["source"]) for s in shifts["shifts"]] == [
        ("alice", "11:00", "12:00", "layer:daily"), ("carol", "12:00", "13:00", "override"),
        ("grace", "13:00", "13:30", "override"), ("carol", "13:30", "14:00", "override"),
        ("alice", "14:00", "15:00", "layer:daily"),
    ]
    assert setup("schedules", "override-remove", str(second)).code == 0
    assert who("2026-11-23T13:10Z") == "carol"
    assert setup("schedules", "override-remove", str(second)).code == 3
    assert [o["id"] for o in setup("schedules", "overrides", "primary", "--json").json()] == [first]


def test_override_errors(setup):
    args = ["--from", "2026-11-23T12:00Z", "--to", "2026-11-23T14:00Z"]
    assert setup("schedules", "override", "nope", "--user", "carol", *args).code == 3
    assert setup("schedules", "override", "primary", "--user", "zed", *args).code == 3
    r = setup("schedules", "override", "primary", "--user", "carol", "--from", "2026-11-23T12:00Z", "--to", "2026-11-23T12:00Z")
    assert r.code == 2 and "after" in r.err
    assert setup("schedules", "override", "primary", "--user", "carol", "--from", "soon", "--to", "+1h").code == 2


def test_show_window_and_timeline(setup):
    r = setup("--now", "2026-11-23T10:00:00Z", "schedules", "show", "primary", "--to", "+2d")
    assert r.code == 0
    assert "Mon 11-23" in r.out and "a alice" in r.out and "b bob" in r.out
    assert setup("schedules", "show", "primary", "--from", "2026-11-23T10:00Z", "--to", "2026-11-23T09:00Z").code == 2
    assert setup("schedules", "show", "nope").code == 3
    doc = setup("schedules", "show", "nights", "--from", "2026-11-23T00:00Z", "--to", "2026-11-24T00:00Z", "--json").json()
    assert doc["timezone"] == "UTC"
    assert [(s["start"], s["end"]) for s in doc["shifts"]] == [
        ("2026-11-23T00:00:00Z", "2026-11-23T08:00:00Z"), ("2026-11-23T20:00:00Z", "2026-11-24T00:00:00Z")]


def test_list_shows_who_is_on_call_until_when(setup):
    docs = setup("--now", "2026-11-23T10:00:00Z", "schedules", "list", "--json").json()
    assert docs[1] == {"schedule": "primary", "user": "alice", "shift_start": "2026-11-23T09:00:00Z",
                       "shift_end": "2026-11-24T09:00:00Z", "timezone": "UTC"}


def test_validate_warns_about_gaps_but_passes(cli, tmp_path):
    r = cli("--now", "2026-11-23T10:00:00Z", "schedules", "validate", write_scenario(tmp_path))
    assert r.code == 0
    assert "Warning: schedule nights: nobody on call from 2026-11-23 10:00" in r.err
    assert "schedule primary: nobody" not in r.err
    r = cli("--now", "2026-11-23T10:00:00Z", "schedules", "validate", EXAMPLE)
    assert r.code == 0 and "nobody on call" not in r.err and "OK" in r.out
