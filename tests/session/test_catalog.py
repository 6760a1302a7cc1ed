"""config/catalog after config/apply: what the config said reads back equal,
overrides (config and command line) included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import utc
from pager_cli.config import catalog
from pager_cli.errors import NotFound, UsageError


def test_settings_users_and_services_read_back(scenario_db, config):
    with scenario_db.read() as session:
        assert catalog.setting(session, "timezone") == config.timezone == "UTC"
        assert catalog.setting(session, "default_service") == config.default_service == "catch-all"
        assert all(catalog.user_exists(session, name) for name in config.users)
        assert not catalog.user_exists(session, "mallory")
        stored = {row.name: (row.escalation_policy, row.routing_key, row.dedup, row.require_ack_before_resolve)
                  for row in catalog.services(session)}
    assert stored == {name: (s.escalation_policy, s.routing_key, s.dedup, s.require_ack_before_resolve)
                      for name, s in config.services.items()}


def test_policies_read_back(scenario_db, config):
    with scenario_db.read() as session:
        for name, want in config.escalation_policies.items():
            got = catalog.policy(session, name)
            assert (got.name, got.repeat) == (name, want.repeat)
            assert [(level.delay, level.targets) for level in got.levels] == [
                (level.delay, tuple(f"{t.kind}:{t.name}" for t in level.targets)) for level in want.levels]
        assert catalog.policy(session, "nope") is None and catalog.policy(session, None) is None


def test_schedules_read_back(scenario_db, config):
    with scenario_db.read() as session:
        assert catalog.schedule_names(session) == sorted(config.schedules)
        for name, want in config.schedules.items():
            got = catalog.schedule(session, name)
            assert (got.name, got.timezone, got.overrides) == (name, want.timezone, ())
            assert [(g.name, g.users, g.start, g.rotation, g.shift_length, g.handoffs) for g in got.layers] == [
                (w.name, w.users, w.start, w.rotation, w.shift_length, w.handoffs) for w in want.layers]
            assert [[(r.days, r.start, r.end) for r in g.restrict] for g in got.layers] == [
                [(r.days, r.start, r.end) for r in w.restrict] for w in want.layers]
        with pytest.raises(NotFound):
            catalog.schedule(session, "nope")
        assert catalog.shift_at(session, "primary", utc("2026-11-23T10:00:00Z")).user == "alice"
        assert catalog.shift_at(session, "primary", utc("2026-11-24T10:00:00Z")).user == "bob"


def test_config_overrides_read_back(db):
    from pager_cli.config.apply import apply_config
    from pager_cli.config.load import load_config_text
    from scenario import SCENARIO_YAML

    text = SCENARIO_YAML.replace("        users: [alice, bob]\n", "        users: [alice, bob]\n    overrides:\n"
                                 "      - {user: carol, start: 2026-11-23T12:00, end: 2026-11-23T14:00}\n", 1)
    with db.write() as session:
        apply_config(session, load_config_text(text, "o.yaml"), utc("2026-11-23T09:00:00Z"))
    with db.read() as session:
        [override] = catalog.schedule(session, "primary").overrides
        assert (override.user, override.start, override.end) == (
            "carol", utc("2026-11-23T12:00:00Z"), utc("2026-11-23T14:00:00Z"))
        assert catalog.shift_at(session, "primary", utc("2026-11-23T13:00:00Z")).user == "carol"
        assert catalog.shift_at(session, "primary", utc("2026-11-23T14:00:00Z")).user == "alice"


def test_a_command_line_override_wins_then_goes(scenario_db):
    start, end = utc("2026-11-23T10:00:00Z"), utc("2026-11-23T11:00:00Z")
    with scenario_db.write() as session:
        override_id = catalog.add_override(session, "primary", "grace", start, end, start)
        assert catalog.shift_at(session, "primary", start + timedelta(minutes=30)).user == "grace"
    with scenario_db.read() as session:
        [row] = catalog.overrides(session, "primary")
        assert (row.id, row.user, row.source) == (override_id, "grace", "cli")
    with scenario_db.write() as session:
        with pytest.raises(UsageError):
            catalog.add_override(session, "primary", "grace", end, start, start)
        with pytest.raises(NotFound):
            catalog.add_override(session, "primary", "mallory", start, end, start)
        catalog.remove_override(session, override_id)
        assert catalog.shift_at(session, "primary", start + timedelta(minutes=30)).user == "alice"
        with pytest.raises(NotFound):
            catalog.remove_override(session, override_id)
