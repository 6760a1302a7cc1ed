"""A small, fully known config for scenario tests: who is on call when, and how
the policy escalates, can be worked out by hand."""

from __future__ import annotations

from pathlib import Path

SCENARIO_YAML = """\
timezone: UTC
default_service: catch-all
users:
  alice: {name: Alice Adams}
  bob: {name: Bob Brown}
  carol: {name: Carol Chen}
  grace: {name: Grace Gray}
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
          - {days: [mon, tue, wed, thu, fri, sat, sun], from: "20:00", to: "08:00"}
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
services:
  payments:
    escalation_policy: main
    routing_key: 8c1f0b7e4a2d4c0f9d6e5b3a2f1e0d9c
  web:
    escalation_policy: main
    dedup: service
  strict:
    escalation_policy: main
    require_ack_before_resolve: true
  night-shift:
    escalation_policy: nightly
  catch-all: {}
"""


def write_scenario(folder: Path) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(SCENARIO_YAML)
    return path
