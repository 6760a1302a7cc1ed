"""Helpers shared by the tests of `pager_cli.alerts`."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pager_cli.alerts.record import Alert
from pager_cli.alerts.stream import read_alerts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def read(data: bytes | str, input_format: str = "auto", service: str | None = None) -> list[Alert]:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return list(read_alerts(io.BytesIO(data), input_format, service))


def summary(alerts: list[Alert]) -> list[tuple]:
    """(record, line, title or error) for each alert."""
    return [(a.record, a.line, a.title if a.error is None else "ERROR") for a in alerts]


def ndjson(*objects) -> str:
    return "".join(json.dumps(o) + "\n" for o in objects)
