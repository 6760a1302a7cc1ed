"""Rough edges a new user hit: each one checked through the CLI, and the
database where the command changes state."""

from __future__ import annotations

import json

import pytest

from tests import dbread
from tests.conftest import EXAMPLE, run_pager

NOW = "2026-11-23T10:00:00Z"


def _bulk(cli, n: int, service: str = "catch-all", now: str = NOW) -> None:
    lines = "".join(json.dumps({"title": f"disk {i} full"}) + "\n" for i in range(n))
    r = cli("--now", now, "trigger", "-", "--service", service, input=lines)
    assert r.code == 0, r


# 1. list says when --limit hides rows; an unknown --service is exit 3

def test_list_says_how_many_rows_the_limit_hides(cli, applied, db):
    _bulk(cli, 112)
    r = cli("--now", NOW, "list")
    assert r.code == 0, r
    assert "100 of 112 shown; --limit 0 for all" in r.err
    assert r.out.count("disk ") == 100
    r = cli("--now", NOW, "--json", "list", "--limit", "10")
    assert len(r.json()) == 10 and "10 of 112 shown" in r.err
    r = cli("--now", NOW, "list", "--limit", "0")
    assert r.out.count("disk ") == 112 and "shown" not in r.err
    r = cli("--now", NOW, "list", "--limit", "112")
    assert "shown" not in r.err


def test_list_of_an_unknown_service_is_not_found(cli, applied):
    r = cli("list", "--service", "nosuch")
    assert r.code == 3 and "nosuch" in r.err, r
    r = cli("list", "--service", "payments")
    assert r.code == 0, r


# 2. --since 7d means seven days ago

def test_since_an_unsigned_duration_is_that_long_ago(cli, applied):
    assert cli("--now", "2026-11-10T10:00:00Z", "trigger", "--service", "catch-all", "old one").code == 0
    assert cli("--now", "2026-11-20T10:00:00Z", "trigger", "--service", "catch-all", "new one").code == 0
    for since in ("7d", "-7d"):
        r = cli("--now", NOW, "--json", "list", "--status", "all", "--since", since)
        assert r.code == 0, r
        assert [d["title"] for d in r.json()] == ["new one"]
        r = cli("--now", NOW, "--json", "metrics", "--since", since)
        assert r.code == 0, r
        assert r.json()["incidents"] == 1
    r = cli("--now", NOW, "--json", "list", "--status", "all", "--since", "+1d")  # a sign is honoured
    assert r.json() == []


def test_parse_time_past_only_changes_unsigned_durations():
    from pager_cli.times import UTC, parse_time
    from tests.conftest import utc

    now = utc("2026-11-23T10:00:00")
    assert parse_time("7d", now, UTC, past=True) == utc("2026-11-16T10:00:00")
    assert parse_time("7d", now, UTC) == utc("2026-11-30T10:00:00")
    assert parse_time("+1h", now, UTC, past=True) == utc("2026-11-23T11:00:00")
    assert parse_time("2026-11-01T00:00", now, UTC, past=True) == utc("2026-11-01T00:00:00")


# 3. --version, a blank --by, --json for schedules validate, --tz in any case

def test_version_prints_the_package_version():
    """As a real process, `python -m pager_cli`."""
    from importlib import metadata

    proc = run_pager("--version")
    assert proc.returncode == 0, proc
    assert proc.stdout.decode() == f"pager {metadata.version('pager-cli')}\n"


def test_a_blank_by_is_refused_and_changes_nothing(cli, applied, db):
    from sqlmodel import select

    from pager_cli.store import tables as m

    assert cli("--now", NOW, "trigger", "--service", "payments", "db down").code == 0
    r = cli("--now", NOW, "ack", "1", "--by", "   ")
    assert r.code == 2 and "--by" in r.err, r
    with db.read() as s:
        incident = s.exec(select(m.Incident)).one()
    assert incident.status == "triggered" and incident.acknowledged_by is None


def test_schedules_validate_honours_the_global_json(cli):
    from tests.conftest import ROOT

    broken = ROOT / "tests" / "configs" / "broken.yaml"
    r = cli("--json", "schedules", "validate", broken)
    assert r.code == 2, r
    problems = r.json()
    assert isinstance(problems, list) and len(problems) > 5
    assert {"line": 6, "path": "users.bob.phone", "message": "unknown key"} in problems
    assert all(set(p) == {"line", "path", "message"} for p in problems)
    assert "problems in" in r.err
    r = cli("--json", "schedules", "validate", EXAMPLE)
    assert r.code == 0, r
    doc = r.json()
    assert doc["ok"] is True and doc["users"] == 8 and doc["services"] == 3


@pytest.mark.parametrize("name, shown", [("utc", "10:00"), ("UTC", "10:00"), ("gmt", "10:00"),
                                         ("europe/berlin", "11:00")])
def test_tz_is_matched_in_any_case(cli, applied, name, shown):
    assert cli("--now", NOW, "trigger", "--service", "payments", "db down").code == 0
    r = cli("--tz", name, "--now", NOW, "show", "1")
    assert r.code == 0, r
    assert f"2026-11-23 {shown}" in r.out
    r = cli("--tz", "nowhere/at-all", "list")
    assert r.code == 2 and "unknown time zone" in r.err


# 4. durations of a day or more keep their minutes

@pytest.mark.parametrize("seconds, shown", [(86400, "1d"), (86400 + 1800, "1d0h30m"), (2 * 86400 + 3 * 3600, "2d3h"),
                                            (86400 + 3600 + 300, "1d1h05m"), (3600 + 300, "1h05m")])
def test_format_duration_keeps_minutes_past_a_day(seconds, shown):
    from pager_cli.times import format_duration

    assert format_duration(seconds) == shown


def test_list_age_past_a_day_shows_minutes(cli, applied):
    assert cli("--now", "2026-11-22T09:30:00Z", "trigger", "--service", "catch-all", "disk full").code == 0
    r = cli("--now", NOW, "list")
    assert r.code == 0, r
    assert "1d0h30m" in r.out


# 5. a trigger or escalate that pages nobody says so

GAPPY = """\
timezone: UTC
users:
  alice: {name: Alice}
schedules:
  office:
    layers:
      - name: weekdays
        rotation: weekly
        start: 2026-01-05T09:00
        users: [alice]
        restrict:
          - {days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}
escalation_policies:
  office:
    levels:
      - targets: [schedule:office]
        delay: 5m
      - targets: [user:alice]
        delay: 5m
services:
  web: {escalation_policy: office}
"""


def test_trigger_and_escalate_that_page_nobody_warn(cli, tmp_path, db):
    from sqlmodel import select

    from pager_cli.store import tables as m

    config = tmp_path / "gappy.yaml"
    config.write_text(GAPPY)
    assert cli("schedules", "apply", config).code == 0
    sunday = "2026-11-22T10:00:00Z"
    r = cli("--now", sunday, "trigger", "--service", "web", "site down")
    assert r.code == 0, r
    assert "Warning: incident #1 paged nobody: nobody on call in schedule office" in r.err
    with db.read() as s:
        assert s.exec(select(m.Incident)).one().assignees == []
        assert s.exec(select(m.Page)).all() == []
    r = cli("--now", sunday, "escalate", "1")  # level 1: alice herself
    assert r.code == 0 and "paged nobody" not in r.err, r
    r = cli("--now", sunday, "escalate", "1")  # back to level 0
    assert r.code == 0, r
    assert "Warning: incident #1 paged nobody: nobody on call in schedule office" in r.err
    with db.read() as s:
        incident = s.exec(select(m.Incident)).one()
    assert incident.escalation_level == 0 and incident.assignees == []


# 6. oncall --service shows who would be paged, users a level targets directly included

def test_oncall_for_a_service_shows_direct_users(cli, tmp_path):
    config = tmp_path / "direct.yaml"
    config.write_text(GAPPY.replace("[schedule:office]", "[user:alice]").replace(
        "users:\n  alice: {name: Alice}", "users:\n  alice: {name: Alice}\n  bob: {name: Bob}").replace(
        "      - targets: [user:alice]\n        delay: 5m\nservices", "      - targets: [user:bob]\n        delay: 5m\nservices"))
    assert cli("schedules", "apply", config).code == 0, config.read_text()
    r = cli("--now", NOW, "oncall", "--service", "web")
    assert r.code == 0, r
    assert "No schedules" not in r.out + r.err
    assert "alice" in r.out and "bob" in r.out
    docs = cli("--now", NOW, "--json", "oncall", "--service", "web").json()
    assert [(d["level"], d["schedule"], d["user"]) for d in docs] == [(0, None, "alice"), (1, None, "bob")]


def test_oncall_for_a_service_lists_each_level(cli, applied):
    docs = cli("--now", "2026-11-23T09:00Z", "--json", "oncall", "--service", "payments").json()
    assert [(d["level"], d["schedule"], d["user"]) for d in docs] == [
        (0, "payments-primary", "alice"), (1, None, "grace"), (1, None, "heidi")]
    r = cli("oncall", "--service", "catch-all")
    assert r.code == 0 and "no escalation policy" in r.err, r


# 7. apply removes command-line overrides of a user the config no longer has

def test_apply_removes_overrides_of_a_removed_user_and_says_so(cli, applied, tmp_path, db):
    import sqlalchemy as sa

    from pager_cli.store import tables as m

    r = cli("schedules", "override", "payments-primary", "--user", "frank",
            "--from", "2026-11-23T12:00Z", "--to", "2026-11-23T14:00Z")
    assert r.code == 0, r
    assert cli("--json", "--now", "2026-11-23T13:00Z", "oncall", "payments-primary").json()[0]["user"] == "frank"
    text = EXAMPLE.read_text()
    without = (text.replace("  frank: {name: Frank Fischer}\n", "").replace("[erin, frank]", "[erin]")
               .replace("{user: frank,", "{user: erin,"))
    assert "frank" not in without
    config = tmp_path / "without-frank.yaml"
    config.write_text(without)
    dry = cli("schedules", "apply", "--dry-run", config)
    assert dry.code == 0 and "override" in dry.out, dry
    with db.read() as s:
        assert s.connection().execute(sa.select(m.schedule_overrides.c.user).where(
            m.schedule_overrides.c.source == "cli")).scalars().all() == ["frank"]
    r = cli("schedules", "apply", config)
    assert r.code == 0, r
    assert "removed: override" in r.out and "frank" in r.out, r
    with db.read() as s:
        users = s.connection().execute(sa.select(m.schedule_overrides.c.user)).scalars().all()
    assert "frank" not in users
    assert cli("--json", "--now", "2026-11-23T13:00Z", "oncall", "payments-primary").json()[0]["user"] == "alice"
    assert "override" not in cli("schedules", "apply", config).out  # nothing left to remove


# 8. trigger - takes --severity, --dedup-key and --details as defaults, and checks them first

@pytest.mark.slow
@pytest.mark.parametrize("option", [("--severity", "huge"), ("--details", "[1, 2]"), ("--details", "{bad"),
                                    ("--dedup-key", "")])
def test_trigger_stdin_refuses_bad_options_before_reading(applied, option):
    proc = run_pager("--now", NOW, "trigger", "-", "--service", "catch-all", *option,
                     input=b'{"title": "disk full"}\n')
    assert proc.returncode == 2, proc
    assert proc.stderr.decode().startswith("Error: ")
    assert run_pager("--json", "list", "--status", "all").stdout == b"[]\n"  # nothing was read


def test_trigger_stdin_uses_the_options_for_records_that_lack_the_field(cli, applied, db):
    from sqlmodel import select

    from pager_cli.store import tables as m

    lines = "\n".join([
        '{"title": "disk full"}',
        '{"title": "cpu hot", "severity": "info", "dedup_key": "own", "details": {"host": "b"}}',
        "plain text line",
    ]) + "\n"
    r = cli("--now", NOW, "trigger", "-", "--service", "catch-all", "--severity", "p1", "--dedup-key", "shared",
            "--details", '{"runbook": "r1"}', input=lines)
    assert r.code == 0, r
    with db.read() as s:
        rows = s.exec(select(m.Incident).order_by(m.Incident.id)).all()
    got = [(i.title, i.severity, i.dedup_key, i.details, i.alert_count) for i in rows]
    assert got == [("disk full", "critical", "shared", {"runbook": "r1"}, 2),
                   ("cpu hot", "info", "own", {"host": "b"}, 1)]


# Every incident id is checked before anything is done

def _with_id(command: str, bad: str) -> list[str]:
    """`command` given `bad` among its ids: after a good one where it takes several."""
    return {"resolve": ["resolve", "--by", "carol", "--", "1", bad], "ack": ["ack", "--by", "carol", "--", "1", bad],
            "escalate": ["escalate", "--by", "carol", "--", bad], "show": ["show", "--", bad],
            "note": ["note", "--", bad, "x"]}[command]


@pytest.mark.parametrize("command", ["resolve", "ack", "escalate", "show", "note"])
@pytest.mark.parametrize("bad", ["9223372036854775808", "-9223372036854775809"])
def test_an_id_past_64_bits_is_refused_before_any_other_id_is_touched(cli, applied, db, command, bad):
    assert cli("--now", NOW, "trigger", "--service", "payments", "DB down").code == 0
    r = cli("--now", NOW, *_with_id(command, bad))
    assert r.code == 2
    assert r.err == f"Error: incident id {bad} is out of range (hint: ids go up to 9223372036854775807)\n"
    [incident] = dbread.incidents(db)
    assert incident.status == "triggered" and incident.acknowledged_by is None
    assert dbread.kinds(db, 1) == ["triggered", "notified"]


def test_trigger_stdin_warns_for_each_record_that_pages_nobody(cli, tmp_path, db):
    config = tmp_path / "gappy.yaml"
    config.write_text(GAPPY)
    assert cli("schedules", "apply", config).code == 0
    stream = b'{"service": "web", "title": "site down"}\n{"service": "web", "title": "site down"}\n' \
             b'{"service": "web", "title": "api down"}\n'
    proc = run_pager("--now", "2026-11-22T10:00:00Z", "trigger", "-", input=stream)
    assert proc.returncode == 0
    assert proc.stderr.decode().splitlines() == [
        "Warning: record 1 (line 1): incident #1 paged nobody: nobody on call in schedule office",
        "Warning: record 3 (line 3): incident #2 paged nobody: nobody on call in schedule office",
        "3 records: 2 created, 1 deduplicated",
    ]
    assert dbread.pages(db) == []
    assert [(i.id, i.assignees) for i in dbread.incidents(db)] == [(1, []), (2, [])]


def test_trigger_stdin_outcomes_for_a_known_incident_carry_its_id(cli, applied, db):
    """An acknowledgement of an acknowledged incident (ignored) and a resolve
    dated before the incident was created (error) both name the incident."""
    opened = b'{"service": "payments", "title": "db down", "dedup_key": "db"}\n'
    assert cli("--now", NOW, "trigger", "-", input=opened).code == 0
    ack = b'{"service": "payments", "dedup_key": "db", "title": "db down", "action": "acknowledge"}\n'
    assert cli("--now", NOW, "trigger", "-", input=ack).code == 0
    r = cli("--now", "2026-11-23T09:00:00Z", "--json", "trigger", "-", input=ack + ack.replace(b"acknowledge", b"resolve"))
    assert r.code == 1
    answers = [json.loads(line) for line in r.out.splitlines()]
    assert [(a["action"], a["incident"], a["dedup_key"]) for a in answers] == [
        ("ignored", 1, "db"), ("error", 1, "db")]
    assert "before" in answers[1]["error"] or "created" in answers[1]["error"]
    [incident] = dbread.incidents(db)
    assert incident.status == "acknowledged" and incident.resolved_at is None
