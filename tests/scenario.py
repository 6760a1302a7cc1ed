"""The one config of the scenario tests, small and fully known: who is on call
when, and how each policy escalates, can be worked out by hand. Its services
cover what the tests need — routing keys of the real senders' bodies
(tests/fixtures/real), `dedup: service`, `require_ack_before_resolve`, a
night-only schedule, fast policies for the process races, a service without a
policy — and `scenario_yaml` adds a command contact and the `serve:`
section for the tests that need them.

On 2026-11-23 (the day most tests replay) `primary` is alice's from 09:00 UTC,
bob's from the 24th 09:00; `nights` is carol's from 20:00 to 08:00."""

from __future__ import annotations

from pathlib import Path

KEY = "0123456789abcdef0123456789abcdef"  # the routing key of the generated bodies in fixtures/real

SCENARIO_YAML = f"""\
timezone: UTC
default_service: catch-all
users:
  alice: {{name: Alice Adams}}
  bob: {{name: Bob Brown}}
  carol: {{name: Carol Chen}}
  grace: {{name: Grace Gray}}
  heidi: {{name: Heidi Hill}}
schedules:
  primary:
    timezone: UTC
    layers:
      - name: daily
        rotation: daily
        start: 2026-11-01T09:00
        users: [alice, bob]
  nights:
    timezone: UTC
    layers:
      - name: nights
        rotation: daily
        start: 2026-11-01T00:00
        users: [carol]
        restrict:
          - {{days: [mon, tue, wed, thu, fri, sat, sun], from: "20:00", to: "08:00"}}
escalation_policies:
  main:
    repeat: 1
    levels:
      - targets: [schedule:primary]
        delay: 5m
      - targets: [user:grace]
        delay: 10m
  nightly:
    levels:
      - targets: [schedule:nights]
        delay: 5m
      - targets: [user:grace]
        delay: 5m
  fast:
    repeat: 1
    levels:
      - targets: [schedule:primary]
        delay: 1m
      - targets: [user:grace, user:heidi]
        delay: 1m
  long:
    repeat: 11
    levels:
      - targets: [schedule:primary]
        delay: 1m
      - targets: [user:grace, user:heidi]
        delay: 1m
services:
  payments:
    escalation_policy: main
    routing_key: 8c1f0b7e4a2d4c0f9d6e5b3a2f1e0d9c
  web:
    escalation_policy: main
    routing_key: {KEY}
  shop: {{escalation_policy: main, routing_key: e93facc04764012d7bfb002500d5d1a6}}
  builds: {{escalation_policy: main, routing_key: a0000000aa0000a0a000aa0a0a0aa000}}
  pipeline: {{escalation_policy: main, routing_key: 737ea619db564d41bd9824063e1f6b08}}
  ruby: {{escalation_policy: main, routing_key: CHANGE_THIS}}
  am-pagerduty: {{escalation_policy: main, routing_key: dummykey_length_is_32_characters}}
  grouped:
    escalation_policy: main
    dedup: service
  strict:
    escalation_policy: main
    require_ack_before_resolve: true
  night-shift:
    escalation_policy: nightly
  load: {{escalation_policy: fast}}
  crash: {{escalation_policy: long}}
  hostile: {{escalation_policy: fast}}
  quiet: {{}}
  catch-all: {{}}
"""

_HOOK = """\
    contacts:
      hook: {command: [sh, -c, "cat >> \\"$HOOK_FILE\\"; echo >> \\"$HOOK_FILE\\""]}
    notify:
      - {contact: hook, after: 0m}
"""
_SERVE = """\
serve:
  token: "${PAGER_SERVE_TOKEN}"
  public_url: http://pager.example.test/
"""


def scenario_yaml(*, hook: bool = False, serve: bool = False) -> str:
    """The scenario, with a `hook` contact for alice and bob, who take turns in
    `primary` (each delivery appended to $HOOK_FILE), and the `serve:` section
    (token from $PAGER_SERVE_TOKEN)."""
    text = SCENARIO_YAML
    if hook:
        for user, name in (("alice", "Alice Adams"), ("bob", "Bob Brown")):
            text = text.replace(f"  {user}: {{name: {name}}}\n", f"  {user}:\n    name: {name}\n{_HOOK}")
    return text + (_SERVE if serve else "")


def write_scenario(folder: Path, text: str = SCENARIO_YAML) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(text)
    return path
