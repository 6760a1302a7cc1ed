"""Helpers for the tests of real senders' bodies (tests/fixtures/real, kept
byte for byte as /work/shared/fixtures/real/SOURCES.md describes them): a
the scenario config (tests/scenario.py, where `web` owns the routing key of the
generated bodies) without its default service, `pager trigger - --json` run as
a real process, and the database read through dbread."""

from __future__ import annotations

import json

import dbread
from conftest import FIXTURES, run_pager
from dbread import incidents, kinds, timeline  # noqa: F401  (the tests import them from here)
from scenario import KEY, SCENARIO_YAML  # noqa: F401  (the tests import KEY from here)
from pager_cli.alerts.alertmanager import alertmanager_fingerprint

REAL = FIXTURES / "real"
# the scenario without its default service: routing that finds nothing is an error
CONFIG = SCENARIO_YAML.replace("default_service: catch-all\n", "")
T0 = "2026-11-23T10:00:00Z"


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


def pages(db) -> list[int]:  # noqa: ANN001
    """The incident of each console page, in order."""
    return [incident for (incident,) in dbread.pages(db, "incident_id")]


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
