"""`pager schedules ical`: the final shifts as an RFC 5545 calendar, read
back with icalendar and, independently, with recurring-ical-events, across
the autumn DST change in Berlin, and compared with `schedules show --json`."""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
import yaml

from conftest import run_pager, utc

CONFIG = {
    "timezone": "Europe/Berlin",
    "users": {u: {"name": u.title()} for u in ("alice", "bob", "carol", "frank")},
    "schedules": {
        "primary": {
            "layers": [{"name": "daily", "rotation": "daily", "start": "2026-10-01T09:00",
                        "users": ["alice", "bob", "carol"]}],
            "overrides": [{"user": "frank", "start": "2026-10-27T12:00", "end": "2026-10-27T18:00"}],
        },
    },
}
# Berlin falls back from CEST to CET on 2026-10-25 at 03:00: that day's 09:00 shift is 25 hours long.
FROM, TO = "2026-10-22T09:00", "2026-10-30T09:00"


def _apply(cli, tmp_path, config=CONFIG):
    path = tmp_path / "pager.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    r = cli("schedules", "apply", path)
    assert r.code == 0, r


def _events(text: str) -> list[tuple[str, datetime, datetime, str]]:
    cal = icalendar.Calendar.from_ical(text)
    return [(str(e["summary"]), e.decoded("dtstart"), e.decoded("dtend"), str(e["uid"])) for e in cal.walk("VEVENT")]


def test_one_event_per_final_shift_in_utc_as_show_has_them(cli, tmp_path):
    _apply(cli, tmp_path)
    r = cli("schedules", "ical", "primary", "--from", FROM, "--to", TO)
    assert r.code == 0, r
    assert r.out.startswith("BEGIN:VCALENDAR") and "VERSION:2.0" in r.out
    events = _events(r.out)
    shown = cli("schedules", "show", "primary", "--from", FROM, "--to", TO, "--json").json()["shifts"]
    assert [(s, a, b) for s, a, b, _ in events] == [
        (f"On call: primary ({s['user']})", utc(s["start"]), utc(s["end"])) for s in shown]
    stamps = [x for x in r.out.splitlines() if x.startswith(("DTSTART", "DTEND"))]
    assert len(stamps) == 2 * len(events) and all(x[-1] == "Z" and ":" in x and ";" not in x for x in stamps)
    assert "DTSTART:20261022T070000Z" in r.out.splitlines()  # 09:00 CEST, written as UTC
    # across the change: the 2026-10-24 09:00 CEST shift ends 2026-10-25 09:00 CET, 25 hours on
    long = [(s, b - a) for s, a, b, _ in events if a == utc("2026-10-24T07:00")]
    assert long == [("On call: primary (carol)", timedelta(hours=25))]
    after = [a for _, a, _, _ in events if a > utc("2026-10-26T00:00")]
    assert after[0] == utc("2026-10-26T08:00")  # 09:00 CET
    # the override cuts carol's day in three: carol, frank, carol
    assert [(s, a) for s, a, _, _ in events if utc("2026-10-27T08:00") <= a < utc("2026-10-28T08:00")] == [
        ("On call: primary (carol)", utc("2026-10-27T08:00")), ("On call: primary (frank)", utc("2026-10-27T11:00")),
        ("On call: primary (carol)", utc("2026-10-27T17:00"))]
    assert len({uid for *_, uid in events}) == len(events)


def test_an_independent_reader_sees_the_same_events(cli, tmp_path):
    _apply(cli, tmp_path)
    text = cli("schedules", "ical", "primary", "--from", FROM, "--to", TO).out
    cal = icalendar.Calendar.from_ical(text)
    found = recurring_ical_events.of(cal).between(utc(FROM) - timedelta(hours=2), utc(TO) - timedelta(hours=1))
    seen = sorted((e.decoded("dtstart"), e.decoded("dtend"), str(e["summary"])) for e in found)
    assert seen == sorted((a, b, s) for s, a, b, _ in _events(text))
    assert len(seen) == 10  # 8 days, one of them split by the override into three


def test_uids_stay_while_shifts_do(cli, tmp_path):
    _apply(cli, tmp_path)
    args = ("--now", "2026-10-23T12:00Z", "schedules", "ical", "primary", "--to", "2026-11-05T09:00")
    first = cli(*args).out
    assert cli(*args).out == first  # the same feed twice
    # a little later the feed still has the shift on call now with its real start
    later = cli("--now", "2026-10-23T15:30Z", "schedules", "ical", "primary", "--to", "2026-11-05T09:00").out
    assert [e[1:] for e in _events(later)] == [e[1:] for e in _events(first)]
    # an override on 2026-11-02 changes that day's shifts only
    r = cli("schedules", "override", "primary", "--user", "frank", "--from", "2026-11-02T10:00",
            "--to", "2026-11-02T11:00")
    assert r.code == 0, r
    changed = _events(cli(*args).out)
    day = (utc("2026-11-02T08:00"), utc("2026-11-03T08:00"))
    kept = [e for e in _events(first) if not day[0] <= e[1] < day[1]]
    assert [e for e in changed if not day[0] <= e[1] < day[1]] == kept
    before = {e[3] for e in _events(first) if day[0] <= e[1] < day[1]}
    after = [e[3] for e in changed if day[0] <= e[1] < day[1]]
    # the cut shift keeps its UID (a calendar updates its end); frank's and the rest are new events
    assert len(before) == 1 and after[0] in before and before.isdisjoint(after[1:])
    assert [e[0] for e in changed if day[0] <= e[1] < day[1]] == [
        "On call: primary (carol)", "On call: primary (frank)", "On call: primary (carol)"]


def test_user_filter_alarm_and_default_window(cli, tmp_path):
    _apply(cli, tmp_path)
    r = cli("--now", "2026-10-22T09:00Z", "schedules", "ical", "primary", "--user", "alice", "--alarm", "15m")
    assert r.code == 0, r
    cal = icalendar.Calendar.from_ical(r.out)
    events = cal.walk("VEVENT")
    assert {str(e["summary"]) for e in events} == {"On call: primary (alice)"}
    starts = [e.decoded("dtstart") for e in events]
    # the shift on call at now (since 09:00 CEST) with its real start, through the one that the 90th day reaches
    assert (starts[0], starts[-1]) == (utc("2026-10-22T07:00"), utc("2027-01-20T08:00"))
    assert len(events) == 31  # every third day of the 91 that the window touches
    alarms = [a for e in events for a in e.walk("VALARM")]
    assert len(alarms) == len(events)
    assert {(str(a["action"]), a.decoded("trigger")) for a in alarms} == {("DISPLAY", -timedelta(minutes=15))}


def test_errors(cli, tmp_path):
    _apply(cli, tmp_path)
    assert cli("schedules", "ical", "nope").code == 3
    missing = cli("schedules", "ical", "primary", "--user", "zed")
    assert missing.code == 3 and missing.err.startswith("Error: ")
    assert cli("schedules", "ical", "primary", "--alarm", "soon").code == 2
    assert cli("schedules", "ical", "primary", "--from", "2026-10-10", "--to", "2026-10-01").code == 2


@pytest.mark.slow
def test_a_real_process_writes_the_calendar_bytes(tmp_path):
    path = tmp_path / "pager.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    run_pager("schedules", "apply", path, check=True)
    done = run_pager("schedules", "ical", "primary", "--from", FROM, "--to", TO, check=True)
    assert done.stdout.startswith(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert done.stdout.count(b"BEGIN:VEVENT\r\n") == 10
    assert all(len(line) <= 75 for line in done.stdout.split(b"\r\n"))  # folded as RFC 5545 says


# --- the writer against icalendar's object model ------------------------------
# `ical.calendar` writes each event's lines itself; icalendar's Calendar/Event/
# Alarm objects are the reference it must match once both are parsed back.

# TEXT that needs every escape (`,` `;` `\` newline), non-ASCII of 2, 3 and 4
# octets, and lines long enough to fold; the padding moves the 75-octet fold
# point across the multi-octet characters.
AWKWARD = "Zahlungen, Nacht; Grüße\\Ops\nzweite Zeile — 日本語の当番 🚨 "


def _reference(schedule, shifts, now, alarm=None) -> bytes:
    from pager_cli.exports import ical
    from pager_cli.times import to_utc

    cal = icalendar.Calendar()
    cal.add("prodid", ical.PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", icalendar.vText(f"On call: {schedule.name}"))
    cal.add("x-wr-timezone", schedule.timezone)
    for shift in shifts:
        event = icalendar.Event()
        event.add("uid", ical.uid(schedule.name, shift))
        event.add("dtstamp", to_utc(now).replace(microsecond=0))
        event.add("dtstart", to_utc(shift.start))
        event.add("dtend", to_utc(shift.end))
        event.add("summary", f"On call: {schedule.name} ({shift.user})")
        event.add("description", f"{shift.user} is on call in {schedule.name} ({shift.source}).")
        event.add("transp", "TRANSPARENT")
        if alarm is not None:
            reminder = icalendar.Alarm()
            reminder.add("action", "DISPLAY")
            reminder.add("trigger", -alarm)
            reminder.add("description", f"On call soon: {schedule.name} ({shift.user})")
            event.add_component(reminder)
        cal.add_component(event)
    return cal.to_ical()


def _properties(component) -> list:
    """A component read back: its name, each property's decoded value (by
    name, sorted), then its subcomponents the same way."""
    props = sorted((name, repr(component.decoded(name))) for name in component)
    return [component.name, props, [_properties(c) for c in component.subcomponents]]


@pytest.mark.parametrize("pad", range(4))
@pytest.mark.parametrize("alarm", [None, timedelta(minutes=15)])
def test_the_writer_matches_icalendars_object_model(pad, alarm):
    from pager_cli.exports import ical
    from pager_cli.schedules.types import Layer, Schedule, Shift

    name = "x" * pad + AWKWARD * 2
    user = "zoë; \\,o'neil\n" + "ü" * pad
    schedule = Schedule(name, "Europe/Berlin", (Layer("l", (user,), datetime(2026, 1, 1), "daily"),))
    shifts = [
        Shift(user, utc("2026-10-24T07:00"), utc("2026-10-25T08:00"), "layer:l"),  # 25 hours across the change
        Shift("frank", utc("2026-10-25T08:00"), utc("2026-10-25T08:30:15.250000"), "override"),
        Shift(user, utc("2026-10-25T08:30:15.250000"), utc("2026-10-26T08:00"), "layer:l"),
    ]
    now = utc("2026-10-20T10:11:12.345678")
    written = ical.calendar(schedule, shifts, now, alarm)
    reference = _reference(schedule, shifts, now, alarm)
    assert _properties(icalendar.Calendar.from_ical(written)) == _properties(icalendar.Calendar.from_ical(reference))
    lines = written.split(b"\r\n")
    assert lines[-1] == b"" and b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert all(len(line) <= 75 for line in lines)
    assert all(line.decode("utf-8") for line in lines[:-1])  # no line ends inside a character
    assert max(map(len, lines)) >= 70 and any(line.startswith(b" ") for line in lines)  # it did fold
    # both readers see the awkward text as given
    event = icalendar.Calendar.from_ical(written).walk("VEVENT")[0]
    assert str(event["summary"]) == f"On call: {name} ({user})"
    found = recurring_ical_events.of(icalendar.Calendar.from_ical(written)).between(
        utc("2026-10-01T00:00"), utc("2026-11-01T00:00"))
    assert sorted((str(e["summary"]), e.decoded("dtstart")) for e in found) == sorted(
        (f"On call: {name} ({s.user})", s.start.replace(microsecond=0)) for s in shifts)
    assert [str(e["uid"]) for e in icalendar.Calendar.from_ical(written).walk("VEVENT")] == [
        ical.uid(name, s) for s in shifts]
