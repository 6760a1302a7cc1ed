"""A config and incidents for long catch-ups: one level, one minute, many
passes, so every open incident has a step due every minute."""

from __future__ import annotations

import json
from pathlib import Path

import dbread
from conftest import run_pager

CONFIG = """\
timezone: UTC
users:
  alice: {name: Alice}
escalation_policies:
  flood:
    repeat: %(repeat)d
    levels:
      - targets: [user:alice]
        delay: 1m
services:
  svc:
    escalation_policy: flood
"""


def setup(folder: Path, repeat: int, incidents: int, at: str = "2026-11-23T10:00:00Z") -> None:
    """The config applied and `incidents` opened at `at`, by real processes."""
    path = folder / "flood.yaml"
    path.write_text(CONFIG % {"repeat": repeat})
    run_pager("--now", at, "schedules", "apply", path, check=True)
    add(incidents, at)


def add(count: int, at: str, first: int = 0) -> None:
    lines = "".join(json.dumps({"service": "svc", "title": f"incident {first + i}"}) + "\n" for i in range(count))
    run_pager("--now", at, "trigger", "-", input=lines, check=True)


def steps(db, incident_id: int) -> list[tuple[str, str]]:
    """(kind, day and HH:MM, UTC) of the incident's escalation steps, in order."""
    return [(kind, at) for kind, at in dbread.timeline(db, incident_id, "kind", "at", fmt="%d %H:%M")
            if kind in ("escalated", "exhausted")]


def page_rows(db) -> list[tuple[int, int, str]]:
    return dbread.pages(db, "incident_id", "step", "at", fmt="%d %H:%M")