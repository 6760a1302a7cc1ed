"""Off-hours load: each user's pages split by their own working hours, on
their own wall clock, across the European (2026-10-25) and American
(2026-11-01) DST changes; the config's `timezone` and `working_hours`
validated with file:line and stored by apply."""

from __future__ import annotations

import yaml

from dbread import rows

CONFIG = {
    "timezone": "Europe/Berlin",
    "users": {
        "alice": {"name": "Alice", "timezone": "America/New_York"},  # default hours, Mon-Fri 09-18 New York
        "bob": {"name": "Bob", "working_hours": {"days": ["sat", "sun"], "from": "22:00", "to": "06:00"}},
        "carol": {"name": "Carol"},  # the config's zone, default hours
    },
    "escalation_policies": {u: {"levels": [{"targets": [f"user:{u}"], "delay": "1h"}]} for u in ("alice", "bob", "carol")},
    "services": {u: {"escalation_policy": u} for u in ("alice", "bob", "carol")},
}
PAGES = [
    ("alice", "2026-10-30T13:30Z"),  # Fri 09:30 EDT: in
    ("alice", "2026-11-02T13:30Z"),  # Mon 08:30 EST: off (the same UTC time of day, an hour earlier locally)
    ("carol", "2026-10-23T07:30Z"),  # Fri 09:30 CEST: in
    ("carol", "2026-10-26T07:30Z"),  # Mon 08:30 CET: off
    ("carol", "2026-10-24T12:00Z"),  # Sat: off
    ("bob", "2026-10-24T21:30Z"),    # Sat 23:30 CEST: in (Saturday night's window)
    ("bob", "2026-10-25T04:30Z"),    # Sun 05:30 CET, after the change: in
    ("bob", "2026-10-25T05:30Z"),    # Sun 06:30 CET: off
    ("bob", "2026-10-26T04:30Z"),    # Mon 05:30 CET: in (Sunday night's window runs into Monday)
    ("bob", "2026-10-28T12:00Z"),    # Wed: off
]


def _apply(cli, tmp_path, doc=CONFIG):
    path = tmp_path / "pager.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return cli("schedules", "apply", path)


def _page_all(cli):
    for i, (user, at) in enumerate(PAGES):
        r = cli("--now", at, "trigger", "--service", user, f"incident {i}")
        assert r.code == 0, r


def test_pages_are_split_on_each_users_wall_clock(cli, tmp_path, db_path):
    assert _apply(cli, tmp_path).code == 0
    _page_all(cli)
    doc = cli("--now", "2026-11-05T00:00Z", "metrics", "--json", "--since", "2026-10-20T00:00Z").json()
    assert doc["pages_by_user"] == {"alice": 2, "bob": 5, "carol": 3}
    assert doc["pages_off_hours_by_user"] == {"alice": 1, "bob": 2, "carol": 2}
    assert sorted(rows(db_path, 'SELECT "user", count(*) FROM page GROUP BY 1')) == [("alice", 2), ("bob", 5), ("carol", 3)]
    # a window with only some of them: the same incidents as pages_by_user counts
    part = cli("--now", "2026-11-05T00:00Z", "metrics", "--json", "--since", "2026-10-26T00:00Z").json()
    assert (part["pages_by_user"], part["pages_off_hours_by_user"]) == (
        {"alice": 2, "bob": 2, "carol": 1}, {"alice": 1, "bob": 1, "carol": 1})
    only = cli("--now", "2026-11-05T00:00Z", "metrics", "--json", "--since", "2026-10-20T00:00Z", "--service", "bob").json()
    assert only["pages_off_hours_by_user"] == {"bob": 2}


def test_the_report_has_an_off_hours_column(cli, tmp_path):
    assert _apply(cli, tmp_path).code == 0
    _page_all(cli)
    out = cli("--now", "2026-11-05T00:00Z", "--tz", "UTC", "metrics", "--since", "2026-10-20T00:00Z").out
    assert "Off hours" in out
    load = out.split("On-call load")[1].split("Incidents per day")[0].splitlines()
    table = {line.split()[0]: line.split()[1:] for line in load if line.split()[:1] in (["alice"], ["bob"], ["carol"])}
    assert table == {"bob": ["5", "50%", "2", "(40%)"], "carol": ["3", "30%", "2", "(67%)"],
                     "alice": ["2", "20%", "1", "(50%)"]}


def test_a_changed_zone_moves_pages_in_and_out_of_hours(cli, tmp_path):
    assert _apply(cli, tmp_path).code == 0
    _page_all(cli)
    moved = yaml.safe_load(yaml.safe_dump(CONFIG))
    moved["users"]["alice"]["timezone"] = "Europe/London"  # 13:30 UTC is 13:30 / 13:30 GMT: both in hours
    r = _apply(cli, tmp_path, moved)
    assert r.code == 0 and r.out.strip() == "changed: user alice", r
    doc = cli("--now", "2026-11-05T00:00Z", "metrics", "--json", "--since", "2026-10-20T00:00Z").json()
    assert doc["pages_off_hours_by_user"]["alice"] == 0


def test_the_settings_are_validated_and_stored(cli, tmp_path, db_path):
    assert _apply(cli, tmp_path).code == 0
    assert sorted(rows(db_path, "SELECT name, timezone, working_hours FROM pager_user")) == [
        ("alice", "America/New_York", None),
        ("bob", None, '{"days": ["sat", "sun"], "from": "22:00", "to": "06:00"}'),
        ("carol", None, None)]
    assert _apply(cli, tmp_path).out.strip() == "nothing changed"
    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: UTC\nusers:\n  alice:\n    timezone: Mars/Olympus\n"
                   "    working_hours: {days: [mon, funday], from: '25:00', to: '16:00'}\n")
    r = cli("schedules", "validate", bad)
    assert r.code == 2
    assert f"{bad}:4: users.alice.timezone: unknown time zone 'Mars/Olympus'" in r.out + r.err
    assert f"{bad}:5: users.alice.working_hours.days[1]: bad day 'funday'" in r.out + r.err
    assert f"{bad}:5: users.alice.working_hours.from: bad time of day '25:00'" in r.out + r.err


def test_working_spans_match_the_wall_clock_minute_by_minute():
    """Pure: a week around each DST change, minute by minute, a span holds an
    instant exactly when the zone's wall clock is inside the window (the
    repeated fall-back hour aside, where the first occurrence rules)."""
    from datetime import datetime, time, timedelta, timezone

    from pager_cli.metrics.off_hours import Hours
    from pager_cli.schedules.types import Restrict
    from pager_cli.times import zone

    cases = [("Europe/Berlin", datetime(2026, 3, 26, tzinfo=timezone.utc), Restrict((0, 1, 2, 3, 4, 6), time(1, 30), time(3))),
             ("America/New_York", datetime(2026, 10, 29, tzinfo=timezone.utc), Restrict((5, 6), time(22), time(6)))]
    for name, start, window in cases:
        tz = zone(name)
        hours = Hours(tz, window)
        end = start + timedelta(days=7)
        spans = hours.spans(start, end)
        t = start
        while t < end:
            local = t.astimezone(tz)
            minute = local.hour * 60 + local.minute
            a, b = window.start.hour * 60 + window.start.minute, window.end.hour * 60 + window.end.minute
            if a < b:
                wall = local.weekday() in window.days and a <= minute < b
            else:
                wall = (local.weekday() in window.days and minute >= a) or \
                       ((local.weekday() - 1) % 7 in window.days and minute < b)
            inside = any(x <= t < y for x, y in spans)
            if not local.fold:
                assert inside == wall, (name, t, local)
            t += timedelta(minutes=1)
