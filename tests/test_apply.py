"""`schedules apply`: one all-or-nothing transaction, a report of what changed,
idempotent, and command-line overrides kept."""

from __future__ import annotations


import pytest
from sqlmodel import select

from conftest import EXAMPLE
from pager_cli.config import apply as apply_module
from pager_cli.store import tables as m
from dbread import connect_rw


def dump(path) -> list:
    con = connect_rw(path)
    tables = ["setting", "pager_user", "schedule", "layer", "schedule_override", "escalation_policy",
              "escalation_level", "service"]
    rows = [(t, sorted(map(repr, con.execute(f"SELECT * FROM {t}")))) for t in tables]
    con.close()
    return rows


def test_apply_reports_and_is_idempotent(cli, db_path):
    r = cli("schedules", "apply", EXAMPLE, "--json")
    assert r.code == 0
    doc = r.json()
    assert doc["dry_run"] is False and doc["changed"] == [] and doc["removed"] == []
    assert "schedule payments-primary" in doc["created"] and "service catch-all" in doc["created"]
    assert "user heidi" in doc["created"] and "policy platform" in doc["created"]
    before = dump(db_path)
    r = cli("schedules", "apply", EXAMPLE)
    assert r.code == 0 and r.out.strip() == "nothing changed"
    assert dump(db_path) == before


def test_dry_run_writes_nothing(cli, db_path):
    cli("list")  # creates the empty database
    before = dump(db_path)
    r = cli("schedules", "apply", EXAMPLE, "--dry-run")
    assert r.code == 0 and "would be created: schedule platform" in r.out
    assert dump(db_path) == before


def test_changes_and_removals_are_reported(cli, tmp_path, db):
    cli("schedules", "apply", EXAMPLE)
    text = EXAMPLE.read_text()
    text = text.replace("delay: 10m", "delay: 20m")
    text = text.replace("  catch-all: {}                    # no policy: incidents open unassigned, with a warning\n", "")
    text = text.replace("default_service: catch-all", "default_service: payments")
    edited = tmp_path / "edited.yaml"
    edited.write_text(text)
    r = cli("schedules", "apply", edited, "--json")
    assert r.code == 0, r
    assert r.json() == {"dry_run": False, "created": [], "changed": ["policy payments"], "removed": ["service catch-all"]}
    with db.read() as s:
        conn, lv = s.connection(), m.escalation_levels.c
        levels = conn.execute(select(lv.delay_seconds).where(lv.policy == "payments").order_by(lv.position))
        assert levels.scalars().all() == [300, 1200]
        assert conn.execute(select(m.services).where(m.services.c.name == "catch-all")).first() is None
        assert conn.execute(select(m.settings.c.value).where(m.settings.c.key == "default_service")).scalar() == "payments"


def test_cli_overrides_survive_apply(cli, tmp_path):
    cli("schedules", "apply", EXAMPLE)
    r = cli("schedules", "override", "platform", "--user", "alice", "--from", "2026-11-30T09:00", "--to", "2026-11-30T17:00", "--json")
    assert r.code == 0
    oid = r.json()["id"]
    edited = tmp_path / "edited.yaml"
    edited.write_text(EXAMPLE.read_text().replace("shift_length: 2", "shift_length: 3"))
    r = cli("schedules", "apply", edited, "--json")
    assert r.json()["changed"] == ["schedule platform"]
    overrides = cli("schedules", "overrides", "platform", "--json").json()
    assert [(o["id"], o["user"], o["source"]) for o in overrides] == [(oid, "alice", "cli")]
    assert overrides[0]["start"] == "2026-11-30T08:00:00Z"  # 09:00 Berlin (the config zone)


def test_a_failing_apply_leaves_the_database_as_it_was(cli, db_path, monkeypatch, tmp_path):
    cli("schedules", "apply", EXAMPLE)
    before = dump(db_path)
    edited = tmp_path / "edited.yaml"
    edited.write_text(EXAMPLE.read_text().replace("repeat: 2", "repeat: 3").replace("delay: 1h", "delay: 2h")
                      .replace("Grace Green", "Grace G."))
    real = apply_module._write

    def failing(session, kind, name, value, now):
        if kind.name == "policy":
            raise RuntimeError("disk on fire")
        return real(session, kind, name, value, now)

    monkeypatch.setattr(apply_module, "_write", failing)
    with pytest.raises(RuntimeError):
        cli("schedules", "apply", edited)
    assert dump(db_path) == before


def test_invalid_config_is_exit_2_with_every_problem(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users:\n  a: {}\nschedules:\n  s:\n    timezone: Nowhere/Land\n    layers:\n"
                   "      - {name: l, rotation: daily, start: 2026-01-01T09:00, users: [zed]}\n")
    r = cli("schedules", "apply", bad)
    assert r.code == 2
    assert "bad.yaml:5:" in r.err and "bad.yaml:7:" in r.err and r.err.rstrip().splitlines()[-1].startswith("Error: ")
    r = cli("schedules", "validate", bad)
    assert r.code == 2 and "Traceback" not in r.err


SMALL = """\
timezone: UTC
users:
  alice: {name: Alice}
  bob: {name: Bob}
schedules:
  one:
    timezone: UTC
    layers:
      - {name: l, rotation: daily, start: 2026-11-01T09:00, users: [alice, bob]}
  two:
    timezone: Europe/Berlin
    layers:
      - {name: l, rotation: weekly, start: 2026-11-01T09:00, users: [bob]}
escalation_policies:
  p:
    levels:
      - {targets: [schedule:one], delay: 5m}
services:
  a: {escalation_policy: p, routing_key: key-1}
  b: {routing_key: key-2}
"""


def _apply(cli, tmp_path, text: str) -> dict:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    r = cli("schedules", "apply", path, "--json")
    assert r.code == 0, r
    return r.json()


def test_routing_keys_can_swap_between_services(cli, tmp_path, db_path):
    """The unique routing key moves from one service to the other in one apply."""
    _apply(cli, tmp_path, SMALL)
    swapped = SMALL.replace("key-1", "key-x").replace("key-2", "key-1").replace("key-x", "key-2")
    assert _apply(cli, tmp_path, swapped)["changed"] == ["service a", "service b"]
    con = connect_rw(db_path)
    assert con.execute("SELECT name, routing_key FROM service ORDER BY name").fetchall() == [("a", "key-2"),
                                                                                             ("b", "key-1")]


def test_a_removed_schedule_takes_its_layers_and_every_override_with_it(cli, tmp_path, db_path):
    _apply(cli, tmp_path, SMALL)
    r = cli("schedules", "override", "two", "--user", "alice", "--from", "2026-12-01T09:00", "--to", "2026-12-01T17:00")
    assert r.code == 0, r
    without_two = SMALL[:SMALL.index("  two:")] + SMALL[SMALL.index("escalation_policies:"):]
    assert _apply(cli, tmp_path, without_two)["removed"] == [
        "override 1 (alice in schedule two: its schedule was removed)", "schedule two"]  # the cli override, said
    con = connect_rw(db_path)
    for table in ("layer", "schedule_override"):
        assert con.execute(f"SELECT COUNT(*) FROM {table} WHERE schedule = 'two'").fetchone() == (0,)
    assert con.execute("SELECT COUNT(*) FROM layer WHERE schedule = 'one'").fetchone() == (1,)


def test_a_changed_schedule_is_updated_in_place(cli, tmp_path, db_path):
    """A new zone rewrites the schedule row and its layers; a command-line
    override of it stays, with its id."""
    _apply(cli, tmp_path, SMALL)
    r = cli("schedules", "override", "one", "--user", "bob", "--from", "2026-12-01T09:00", "--to", "2026-12-01T17:00",
            "--json")
    oid = r.json()["id"]
    assert _apply(cli, tmp_path, SMALL.replace("  one:\n    timezone: UTC", "  one:\n    timezone: Asia/Tokyo"))[
        "changed"] == ["schedule one"]
    con = connect_rw(db_path)
    assert con.execute("SELECT timezone FROM schedule WHERE name = 'one'").fetchone() == ("Asia/Tokyo",)
    assert con.execute("SELECT id, user, source FROM schedule_override WHERE schedule = 'one'").fetchall() == [
        (oid, "bob", "cli")]


def test_removing_an_unknown_override_is_not_found(cli, tmp_path):
    _apply(cli, tmp_path, SMALL)
    r = cli("schedules", "override-remove", "999")
    assert r.code == 3 and "no override 999" in r.err, r
