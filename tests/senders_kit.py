"""Helpers for the tests of real senders' bodies (tests/fixtures/real, kept
byte for byte as /work/shared/fixtures/real/SOURCES.md describes them): a
config whose service `web` owns the routing key of the generated bodies, and
`pager trigger - --json` run as a real process."""

from __future__ import annotations

import json

from sqlmodel import select

from conftest import FIXTURES, run_pager
from pager_cli.alerts.alertmanager import alertmanager_fingerprint
from pager_cli.store import tables as m

REAL = FIXTURES / "real"
T0 = "2026-11-23T10:00:00Z"
KEY = "0123456789abcdef0123456789abcdef"  # the routing key of the generated bodies

CONFIG = f"""\
timezone: UTC
users:
  alice: {{name: Alice Adams}}
schedules:
  primary:
    timezone: UTC
    layers:
      - name: daily
        rotation: daily
        start: 2026-11-01T09:00
        users: [alice]
escalation_policies:
  main:
    levels:
      - targets: [schedule:primary]
        delay: 5m
services:
  web:
    escalation_policy: main
    routing_key: {KEY}
  shop:
    escalation_policy: main
    routing_key: e93facc04764012d7bfb002500d5d1a6
  builds:
    escalation_policy: main
    routing_key: a0000000aa0000a0a000aa0a0a0aa000
  pipeline:
    escalation_policy: main
    routing_key: 737ea619db564d41bd9824063e1f6b08
  ruby:
    escalation_policy: main
    routing_key: CHANGE_THIS
  am-pagerduty:
    escalation_policy: main
    routing_key: dummykey_length_is_32_characters
  grouped:
    escalation_policy: main
    dedup: service
  strict:
    escalation_policy: main
    require_ack_before_resolve: true
"""


def configure(cli, tmp_path, text: str = CONFIG) -> None:
    path = tmp_path / "senders.yaml"
    path.write_text(text)
    r = cli("schedules", "apply", path)
    assert r.code == 0, r


def real(name: str) -> bytes:
    return (REAL / name).read_bytes()


def send(data: bytes, *args: str, now: str = T0) -> tuple[int, list[dict], str]:
    """`pager trigger - --json ARGS` as a real process: (exit code, the NDJSON
    answers, stderr)."""
    proc = run_pager("--now", now, "trigger", "-", "--json", *args, input=data)
    docs = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    return proc.returncode, docs, proc.stderr.decode()


def actions(docs: list[dict]) -> list[str]:
    return [d["action"] for d in docs]


def incidents(db) -> list[m.Incident]:
    with db.read() as s:
        return list(s.exec(select(m.Incident).order_by(m.Incident.id)))


def kinds(db, incident_id: int) -> list[str]:
    return [kind for kind, _ in timeline(db, incident_id)]


def timeline(db, incident_id: int) -> list[tuple[str, str]]:
    with db.read() as s:
        rows = s.exec(select(m.TimelineEntry).where(m.TimelineEntry.incident_id == incident_id)
                      .order_by(m.TimelineEntry.id))
        return [(e.kind, e.text) for e in rows]


def pages(db) -> list[int]:
    with db.read() as s:
        return [p.incident_id for p in s.exec(select(m.Page).order_by(m.Page.id))]


def resolved_copy(data: bytes) -> bytes:
    """An Alertmanager-shaped body as its sender sends it on recovery: the
    same alerts, each and the body `resolved`."""
    body = json.loads(data)
    body["status"] = "resolved"
    for alert in body["alerts"]:
        alert["status"] = "resolved"
    return json.dumps(body).encode() + b"\n"


def firing_copy(data: bytes) -> bytes:
    body = json.loads(data)
    body["status"] = "firing"
    for alert in body["alerts"]:
        alert["status"] = "firing"
    return json.dumps(body).encode() + b"\n"


def fingerprints(data: bytes) -> list[str]:
    """The `am:` keys of a body's alerts: their fingerprint, else computed."""
    return ["am:" + (a.get("fingerprint") or alertmanager_fingerprint(a["labels"]))
            for a in json.loads(data)["alerts"]]
