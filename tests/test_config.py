"""The config file: loading, every problem with its line, and conversion to rotation values."""

from __future__ import annotations

import os
import time
from datetime import datetime, time as clock, timedelta
from pathlib import Path

import pytest

from pager_cli.schedules import oncall, types
from pager_cli.config.load import load_config, load_config_text
from pager_cli.config.schema import Config, Target
from pager_cli.errors import ConfigError, NotFound
from pager_cli.times import UTC

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "schedules.example.yaml"
CONFIGS = Path(__file__).resolve().parent / "configs"

BASE = """\
timezone: Europe/Berlin
users:
  alice: {name: Alice Adams}
  bob: {name: Bob Brown}
"""


def problems_of(text: str, path: str = "t.yaml", **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, path, **kwargs)
    assert caught.value.exit_code == 2
    return caught.value.problems


def problems_in(name: str) -> list[str]:
    path = os.path.relpath(CONFIGS / name)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [p.replace(path, name, 1) for p in caught.value.problems]


def where(problems: list[str]) -> list[str]:
    """`file:line: yaml.path` of each problem."""
    return [": ".join(p.split(": ", 2)[:2]) for p in problems]


# -- the example -------------------------------------------------------------------

def test_example_validates():
    config = load_config(EXAMPLE)
    assert isinstance(config, Config)
    assert config.source == str(EXAMPLE)
    assert config.timezone == "Europe/Berlin"
    assert config.default_service == "catch-all"
    assert set(config.users) >= {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
    assert config.users["alice"].email == "alice@example.com"
    assert config.users["dave"].email is None

    zones = {s.timezone for s in config.schedules.values()}
    assert zones == {"America/New_York", "Europe/Berlin"}  # the second inherits the top-level zone
    layers = [layer for s in config.schedules.values() for layer in s.layers]
    assert {"weekly", "daily"} <= {layer.rotation for layer in layers}
    assert any(layer.handoffs for layer in layers)
    assert any(layer.restrict for layer in layers)

    policy = config.escalation_policies["payments"]
    assert policy.repeat == 1
    assert policy.levels[0].delay == timedelta(minutes=5)
    assert policy.levels[0].targets == (Target("schedule", "payments-primary"),)
    assert [tuple(t) for t in policy.levels[1].targets] == [("user", "grace"), ("user", "heidi")]
    assert all(p.repeat >= 1 for p in config.escalation_policies.values())

    payments = config.services["payments"]
    assert payments.routing_key and payments.escalation_policy == "payments"
    assert any(s.dedup == "service" for s in config.services.values())
    catch_all = config.services["catch-all"]
    assert (catch_all.escalation_policy, catch_all.routing_key, catch_all.dedup,
            catch_all.require_ack_before_resolve) == (None, None, "key", False)


def test_example_converts_to_rotation_schedules():
    config = load_config(EXAMPLE)
    primary = config.to_schedule("payments-primary")
    assert isinstance(primary, types.Schedule)
    assert primary.name == "payments-primary" and primary.timezone == "America/New_York"
    weekly, weekend = primary.layers
    assert weekly == types.Layer(name="weekly", users=("alice", "bob", "carol"), start=datetime(2026, 1, 5, 9, 0),
                                    rotation="weekly", shift_length=1, handoffs=None, restrict=())
    assert weekend.handoffs.startswith("RRULE:") and weekend.rotation is None
    assert weekend.restrict == (types.Restrict(days=(5, 6), start=clock(9, 0), end=clock(21, 0)),)
    # Overrides: local New York wall clock (EST, UTC-5) to UTC, id None.
    assert primary.overrides == (types.Override(
        user="frank", start=datetime(2026, 12, 24, 5, 0, tzinfo=UTC), end=datetime(2026, 12, 27, 5, 0, tzinfo=UTC)),)
    assert oncall.on_call(primary, datetime(2026, 12, 25, 12, tzinfo=UTC)).user == "frank"

    for name in config.schedules:
        schedule = config.to_schedule(name)
        for layer in schedule.layers:
            oncall.check_layer(layer)

    with pytest.raises(NotFound):
        config.to_schedule("nope")


# -- every problem, each with its line ---------------------------------------------

def test_broken_config_reports_every_problem_with_its_line():
    problems = problems_in("broken.yaml")
    assert where(problems) == [
        "broken.yaml:1: timezone",
        "broken.yaml:2: default_service",
        "broken.yaml:6: users.bob.phone",
        "broken.yaml:14: schedules.payments-primary.layers[0].rotation",
        "broken.yaml:16: schedules.payments-primary.layers[0].users[2]",
        "broken.yaml:19: schedules.payments-primary.layers[1].handoffs",
        "broken.yaml:20: schedules.payments-primary.layers[1].start",
        "broken.yaml:24: schedules.payments-primary.layers[1].restrict[1].days[1]",
        "broken.yaml:24: schedules.payments-primary.layers[1].restrict[1].from",
        "broken.yaml:25: schedules.payments-primary.layers[2]",
        "broken.yaml:27: schedules.payments-primary.layers[2].users",
        "broken.yaml:29: schedules.payments-primary.overrides[0].user",
        "broken.yaml:29: schedules.payments-primary.overrides[0].end",
        "broken.yaml:33: escalation_policies.payments.repeat",
        "broken.yaml:35: escalation_policies.payments.levels[0].targets[0]",
        "broken.yaml:35: escalation_policies.payments.levels[0].targets[1]",
        "broken.yaml:36: escalation_policies.payments.levels[0].delay",
        "broken.yaml:37: escalation_policies.payments.levels[1].targets[0]",
        "broken.yaml:42: services.payments.escalation_policy",
        "broken.yaml:43: services.payments.routing_key",
        "broken.yaml:44: services.payments.dedupe",
        "broken.yaml:47: services.billing.routing_key",
        "broken.yaml:48: services.billing.require_ack_before_resolve",
    ]
    text = "\n".join(problems)
    for message in ("unknown time zone 'Europe/Berln'", "unknown service 'nowhere'", "unknown rotation 'fortnightly'",
                    "unknown user 'zed'", "not both", "drop the offset", "bad day 'funday'", "bad time of day '25:00'",
                    "give either rotation", "must not be empty", "unknown user 'mallory'", "end must be after start",
                    "unknown schedule 'payments-secondary'", "bad duration '5 minutes'", "bad target 'team:sre'",
                    "unknown escalation policy 'payment' (did you mean 'payments'?)",
                    "unknown key (did you mean 'dedup'?)", "expected true or false"):
        assert message in text
    assert "same-key" not in text  # routing keys are never shown


def test_error_message_counts_problems_and_names_the_file():
    with pytest.raises(ConfigError) as caught:
        load_config_text("users: {alice: {nme: A}}\n", "mine.yaml")
    assert str(caught.value) == "1 problem in mine.yaml"
    assert caught.value.problems == ["mine.yaml:1: users.alice.nme: unknown key (did you mean 'name'?)"]


def test_missing_key_is_reported_at_its_parent():
    problems = problems_of(BASE + "schedules:\n  s:\n    layers:\n      - name: a\n        rotation: daily\n"
                           "        users: [alice]\n")
    assert problems == ["t.yaml:8: schedules.s.layers[0].start: missing (required)"]


def test_duplicate_keys():
    assert problems_in("duplicate_keys.yaml") == [
        "duplicate_keys.yaml:5: users.alice: duplicate key 'alice' (first at line 3)",
        "duplicate_keys.yaml:7: services.payments.dedup: duplicate key 'dedup' (first at line 7)",
    ]


def test_unknown_keys_each_with_its_line():
    problems = problems_of(BASE + "service:\n  x: {}\nusers_extra: 1\nescalation_policies:\n  p:\n"
                           "    levels: [{targets: [user:bob], delay: 5m, wait: 1m}]\n")
    assert problems == [
        "t.yaml:5: service: unknown key (did you mean 'services'?)",
        "t.yaml:7: users_extra: unknown key (did you mean 'users'?)",
        "t.yaml:10: escalation_policies.p.levels[0].wait: unknown key",
    ]


def test_billion_laughs_is_refused_quickly():
    began = time.monotonic()
    problems = problems_in("billion_laughs.yaml")
    assert time.monotonic() - began < 2
    assert len(problems) == 1
    assert problems[0].startswith("billion_laughs.yaml:6: aliases expand to more than 10000 nodes")


def test_small_aliases_and_merge_keys_are_fine():
    config = load_config_text("""\
users:
  alice: &alice {name: Alice Adams, email: a@example.com}
  bob:
    <<: *alice
    name: Bob
escalation_policies:
  p:
    levels:
      - &level {targets: [user:bob], delay: 5m}
      - *level
""")
    assert config.users["bob"].name == "Bob" and config.users["bob"].email == "a@example.com"
    assert len(config.escalation_policies["p"].levels) == 2


def test_an_alias_inside_itself_is_a_problem():
    assert "an alias refers to the node that contains it" in problems_of("users: &u {a: *u}\n")[0]


@pytest.mark.parametrize("text, message", [
    ("- alice\n- bob\n", "t.yaml:1: the top level must be a mapping, not a list"),
    ("just words\n", "t.yaml:1: the top level must be a mapping, not a string"),
    ("", "t.yaml:1: the file is empty"),
    ("# nothing but a comment\n", "t.yaml:1: the file is empty"),
])
def test_top_level_must_be_a_mapping(text, message):
    problems = problems_of(text)
    assert len(problems) == 1 and problems[0].startswith(message)


def test_yaml_syntax_error_has_its_line():
    problems = problems_of(BASE + "schedules:\n  s: [1, 2\n  t: 3\n")
    assert len(problems) == 1 and problems[0].startswith("t.yaml:7: invalid YAML: ")
    problems = problems_in("syntax_error.yaml")
    assert problems == ["syntax_error.yaml:6: invalid YAML: found unexpected end of stream"
                        " (while scanning a quoted scalar at line 4)"]


def test_only_safe_yaml():
    problems = problems_of(BASE + "services:\n  x: !!python/object/apply:os.system [echo hi]\n")
    assert problems == ["t.yaml:6: services.x: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"]


def test_keys_must_be_strings_and_names_simple():
    problems = problems_of(BASE + "services:\n  on: {}\n  'pay ments': {}\n")
    assert problems == [
        "t.yaml:6: services: key True is not a string (quote it)",
        "t.yaml:7: services.\"pay ments\": bad name 'pay ments': use letters, digits, '_', '.' and '-'",
    ]


def test_unreadable_files():
    for path, reason in (("/nonexistent/schedules.yaml", "no such file"), (str(CONFIGS), "not a regular file")):
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert caught.value.problems == [f"{path}: {reason}"]


def test_not_utf8(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"timezone: UTC\nusers:\n  caf\xe9: {}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.problems == [f"{path}:3: not UTF-8 text"]


# -- values ------------------------------------------------------------------------

SERVICE_WITH_KEY = BASE + "services:\n  payments:\n    routing_key: ${PAYMENTS_KEY}\n    escalation_policy: ${POLICY}\n"


def test_environment_variables_are_expanded():
    policy = "escalation_policies:\n  p: {levels: [{targets: [user:bob], delay: 5m}]}\n"
    config = load_config_text(SERVICE_WITH_KEY + policy,
                              env={"PAYMENTS_KEY": "s3cr3t-key", "POLICY": "p"})
    assert config.services["payments"].routing_key == "s3cr3t-key"
    assert config.services["payments"].escalation_policy == "p"


def test_environment_is_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("PAGER_TEST_KEY", "from-env")
    config = load_config_text(BASE + "services:\n  p: {routing_key: '${PAGER_TEST_KEY}-x', dedup: service}\n")
    assert config.services["p"].routing_key == "from-env-x"


def test_missing_environment_variable_is_named():
    assert problems_of(SERVICE_WITH_KEY, env={}) == [
        "t.yaml:7: services.payments.routing_key: environment variable PAYMENTS_KEY is not set",
        "t.yaml:8: services.payments.escalation_policy: environment variable POLICY is not set",
    ]


def test_routing_keys_are_never_shown():
    problems = problems_of(BASE + "services:\n  a: {routing_key: '${KEY}'}\n  b: {routing_key: '${KEY}'}\n"
                           "  c: {routing_key: 5}\n", env={"KEY": "s3cr3t"})
    assert where(problems) == ["t.yaml:6: services.a.routing_key", "t.yaml:7: services.b.routing_key",
                               "t.yaml:8: services.c.routing_key"]
    assert "the same routing key is used by services a, b" in problems[0]
    assert "s3cr3t" not in "\n".join(problems)


def test_dollar_dollar_is_a_literal():
    config = load_config_text(BASE + "services:\n  p: {routing_key: '$${NOT_EXPANDED}'}\n", env={})
    assert config.services["p"].routing_key == "${NOT_EXPANDED}"


def test_null_and_empty_entries_are_defaults():
    config = load_config_text("users:\n  alice:\n  bob: {}\nservices:\n  a:\n  b: {}\nschedules:\n")
    assert config.timezone == "UTC"
    assert config.users["alice"].name is None and config.users["bob"].email is None
    assert config.services["a"] == config.services["b"]
    assert config.schedules == {}


def test_clock_times_need_no_quotes():
    config = load_config_text(BASE + "schedules:\n  s:\n    layers:\n      - name: l\n        rotation: daily\n"
                              "        start: 2026-01-05T09:00\n        users: [alice]\n"
                              "        restrict: [{days: [Mon, friday], from: 21:00, to: 24:00}]\n")
    window = config.schedules["s"].layers[0].restrict[0]
    assert (window.days, window.start, window.end) == ((0, 4), clock(21, 0), clock(0, 0))


def test_layer_start_accepts_yaml_datetimes_and_strings():
    text = BASE + "schedules:\n  s:\n    layers:\n" + "".join(
        f"      - {{name: l{i}, rotation: daily, start: {start}, users: [alice]}}\n"
        for i, start in enumerate(["2026-01-05T09:00", "2026-01-05 09:00:00", "'2026-01-05T09:00:00'", "2026-01-05"]))
    starts = [layer.start for layer in load_config_text(text).schedules["s"].layers]
    assert starts == [datetime(2026, 1, 5, 9)] * 3 + [datetime(2026, 1, 5)]


def test_zone_and_rule_problems():
    problems = problems_of(
        BASE + "schedules:\n  s:\n    timezone: Mars/Olympus_Mons\n    layers:\n"
        "      - {name: a, handoffs: 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', start: 2026-01-05T09:00, users: [alice]}\n"
        "      - {name: b, handoffs: 'FREQ=DAILY;UNTIL=20250101T000000', start: 2026-01-05T09:00, users: [alice]}\n"
        "      - {name: c, handoffs: 'RRULE:FREQ=DAILY;BYDAY=XX', start: 2026-01-05T09:00, users: [alice]}\n"
        "      - {name: d, handoffs: every day, start: 2026-01-05T09:00, users: [alice]}\n"
        "      - {name: e, handoffs: 'FREQ=MINUTELY', start: 2026-01-05T09:00, users: [alice]}\n"
        "      - {name: a, rotation: weekly, shift_length: 0, start: 2026-01-05T09:00, users: [alice]}\n")
    assert where(problems) == [
        "t.yaml:7: schedules.s.timezone",
        "t.yaml:9: schedules.s.layers[0].handoffs",
        "t.yaml:10: schedules.s.layers[1].handoffs",
        "t.yaml:11: schedules.s.layers[2].handoffs",
        "t.yaml:12: schedules.s.layers[3].handoffs",
        "t.yaml:13: schedules.s.layers[4].handoffs",
        "t.yaml:14: schedules.s.layers[5].shift_length",
    ]
    assert "no occurrence after start" in problems[1] and "no occurrence after start" in problems[2]
    assert "invalid 'BYDAY'" in problems[3] and "bad RRULE 'every day'" in problems[4]


def test_layer_names_are_unique_in_a_schedule():
    problems = problems_of(BASE + "schedules:\n  s:\n    layers:\n"
                           "      - {name: a, rotation: daily, start: 2026-01-05T09:00, users: [alice]}\n"
                           "      - {name: a, rotation: daily, start: 2026-01-05T09:00, users: [bob]}\n")
    assert problems == ["t.yaml:9: schedules.s.layers[1].name: layer name 'a' is used twice"]


def test_overlapping_restrict_windows_wrap_the_week():
    assert problems_in("overlapping_restrict.yaml") == [
        "overlapping_restrict.yaml:14: schedules.nights.layers[0].restrict[1]:"
        " mon 01:00-05:00 overlaps restrict[0] sun 22:00-02:00",
        "overlapping_restrict.yaml:17: schedules.nights.layers[0].restrict[4]:"
        " sun 11:00-13:00 overlaps restrict[3] sat 12:00-12:00",
    ]


def test_adjacent_restrict_windows_do_not_overlap():
    load_config_text(BASE + "schedules:\n  s:\n    layers:\n      - name: l\n        rotation: daily\n"
                     "        start: 2026-01-05T09:00\n        users: [alice]\n        restrict:\n"
                     "          - {days: [sun], from: '22:00', to: '06:00'}\n"
                     "          - {days: [mon], from: '06:00', to: '22:00'}\n"
                     "          - {days: [mon, tue, wed, thu, fri, sat], from: '22:00', to: '22:00'}\n")


def test_a_day_listed_twice():
    problems = problems_of(BASE + "schedules:\n  s:\n    layers:\n      - name: l\n        rotation: daily\n"
                           "        start: 2026-01-05T09:00\n        users: [alice]\n"
                           "        restrict: [{days: [mon, tue, mon], from: '09:00', to: '17:00'}]\n")
    assert problems == ["t.yaml:12: schedules.s.layers[0].restrict[0].days[2]: mon is listed twice"]


# -- overrides and time ------------------------------------------------------------

OVERRIDE = BASE + """\
schedules:
  s:
    timezone: America/New_York
    layers:
      - {name: l, rotation: daily, start: 2026-01-05T09:00, users: [alice]}
    overrides:
      - {user: bob, start: START, end: END}
"""


def test_override_in_a_dst_gap_starts_at_the_transition():
    # 2026-03-08 02:30 does not exist in New York: clocks jump 02:00 EST -> 03:00 EDT (07:00 UTC).
    config = load_config_text(OVERRIDE.replace("START", "2026-03-08T02:30").replace("END", "2026-03-08T12:00"))
    (override,) = config.to_schedule("s").overrides
    assert override.start == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert override.end == datetime(2026, 3, 8, 16, 0, tzinfo=UTC)
    assert override.id is None


def test_override_with_an_offset_keeps_its_instant():
    config = load_config_text(OVERRIDE.replace("START", "2026-06-01T10:00+02:00").replace("END", "2026-06-01T12:00Z"))
    (override,) = config.to_schedule("s").overrides
    assert (override.start, override.end) == (datetime(2026, 6, 1, 8, tzinfo=UTC), datetime(2026, 6, 1, 12, tzinfo=UTC))


def test_override_end_must_follow_start_in_the_schedule_zone():
    # 12:00Z is 08:00 in New York (EDT), before the local 09:00 start.
    problems = problems_of(OVERRIDE.replace("START", "2026-06-01T09:00").replace("END", "2026-06-01T12:00Z"))
    assert problems == ["t.yaml:11: schedules.s.overrides[0].end: end must be after start"]


def test_models_hold_the_parsed_values():
    config = load_config_text(BASE + "escalation_policies:\n  p:\n    levels:\n"
                              "      - {targets: [user:alice, schedule:s], delay: 1h30m}\n"
                              "schedules:\n  s:\n    layers: [{name: l, rotation: hourly, shift_length: 8,"
                              " start: 2026-01-05T06:00, users: [alice, bob]}]\n")
    level = config.escalation_policies["p"].levels[0]
    assert level.delay == timedelta(hours=1, minutes=30)
    assert [(t.kind, t.name) for t in level.targets] == [("user", "alice"), ("schedule", "s")]
    assert config.escalation_policies["p"].repeat == 0
    assert config.schedules["s"].timezone == "Europe/Berlin"
    assert config.schedules["s"].layers[0].users == ("alice", "bob")
