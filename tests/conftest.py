"""Shared fixtures: every test gets its own database file (PAGER_DB in a temp
dir), no --now leaking in from the environment, and helpers to run the CLI in
process (CliRunner) or as a real `pager` subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "schedules.example.yaml"
FIXTURES = ROOT / "tests" / "fixtures"  # real payloads, byte for byte


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("PAGER_DB", str(tmp_path / "pager.db"))
    monkeypatch.delenv("PAGER_NOW", raising=False)
    monkeypatch.setenv("PAGER_USER", "tester")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "pager.db"


@pytest.fixture
def db(db_path):
    from pager_cli.store.db import open_database

    database = open_database(str(db_path))
    yield database
    database.close()


class Cli:
    """Runs `pager` in process and returns (exit code, stdout, stderr)."""

    def __init__(self):
        from typer.testing import CliRunner

        from pager_cli.cli import app

        self.app = app
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict | None = None):
        result = self.runner.invoke(self.app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr)


class Result:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli() -> Cli:
    return Cli()


def run_pager(*args: str, input: bytes | str | None = None, env: dict | None = None, timeout: float = 120,
              check: bool = False) -> subprocess.CompletedProcess:
    """`pager ARGS` as a real process (python -m pager_cli), bytes in and out.
    An argument or an `env` value given as bytes is passed as those bytes."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    if isinstance(input, str):
        input = input.encode()
    argv = [a if isinstance(a, bytes) else str(a) for a in args]
    proc = subprocess.run([sys.executable, "-m", "pager_cli", *argv], input=input, capture_output=True,
                          env=full_env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"pager {' '.join(os.fsdecode(a) for a in argv)} exited {proc.returncode}: {proc.stderr.decode()}")
    return proc


@pytest.fixture
def applied(cli):
    """The example config applied."""
    r = cli("schedules", "apply", EXAMPLE)
    assert r.code == 0, r
    return r


def utc(text: str) -> datetime:
    """An aware UTC datetime from ISO text; text without an offset is UTC."""
    from pager_cli.times import UTC

    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
