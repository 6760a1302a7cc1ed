"""Shared fixtures: every test gets its own database (PAGER_DB), no --now
leaking in from the environment, and helpers to run the CLI in process
(CliRunner) or as a real `pager` subprocess.

Every test of what the database does (storage, transactions, ingest,
escalation, timers, deliveries, metrics, serve's writes, processes racing) runs
on both engines (`--engine sqlite|postgresql|both`, default both): on SQLite its
database is a file in its temp dir, on PostgreSQL a database of its own on a
server the session starts (tests/pgserver.py), copied from a template that
holds the migrated schema. The tests of parsing, rendering, senders' formats
and static checks (ONE_ENGINE below) reach the database only through those
same calls, so `both` runs them on SQLite alone; `--engine postgresql` runs
them there too. A test about SQLite itself
(files, modes, WAL, PRAGMA, a damaged file) is marked `sqlite_only`, one about
several machines sharing a server `postgresql_only`. A test of processes
racing, crashing or under load is marked `races`: `both` runs it on SQLite,
where the processes contend for one file, and tests/test_postgres_machines.py
races every kind of process at once on PostgreSQL, over TCP. `slow` marks the
tests that start many processes or servers, which the quick loop
(`-m "not slow"`) leaves out. Under
CI=true a PostgreSQL test whose server cannot start fails; elsewhere it skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # pgserver, dbread
# The suite starts thousands of `pager` processes: let them cache the package's
# bytecode instead of compiling every module at each start (some images set this).
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "schedules.example.yaml"
FIXTURES = ROOT / "tests" / "fixtures"  # real payloads, byte for byte


ENGINES = ("sqlite", "postgresql")

# Test modules (paths under tests/) whose subject is not the engine: with
# `--engine both` they run on SQLite only.
ONE_ENGINE = (
    "alerts/", "reliability/", "test_severity.py", "test_rotation.py", "test_hostile_cli.py", "test_config.py",
    "test_architecture.py", "test_channels.py", "test_cli.py", "test_rough_edges.py", "test_schedules_cli.py",
    "test_exports_ical.py", "test_start_up.py", "test_apply_shift_changes.py", "notify/test_contacts_config.py",
    "notify/test_commands_send.py", "serve/test_serve_config.py",
    "serve/test_serve_alertmanager.py", "serve/test_serve_clients.py", "serve/test_serve_real_bodies.py",
    "test_senders_alertmanager.py", "test_senders_change_events.py", "test_senders_generic.py",
    "test_senders_incident_rules.py", "test_senders_pagerduty.py", "test_senders_routing.py",
    # the report's rendering and properties; its SQL runs on both in test_exports_prometheus and test_off_hours
    "test_metrics.py",
    # the dashboard and its signals; the tick it runs is tested on both through escalate-check
    "test_watch.py", "notify/test_notify_cli.py",
    # the README replayed on the default database, as a newcomer runs it
    "test_readme.py",
    # serve's HTTP handling (heads, limits, the token, timeouts, answers in order); what its
    # group commits write runs on both in serve/test_serve_same_as_trigger
    "serve/test_serve_http.py",
)
_TESTS = Path(__file__).resolve().parent


def pytest_addoption(parser):  # noqa: ANN001, ANN201
    parser.addoption("--engine", choices=(*ENGINES, "both"), default="both",
                     help="the database engine(s) every test runs on (default: both)")


def pytest_generate_tests(metafunc):  # noqa: ANN001, ANN201
    if "pager_engine" not in metafunc.fixturenames:
        return
    chosen = metafunc.config.getoption("--engine")
    engines = list(ENGINES) if chosen == "both" else [chosen]
    where = Path(metafunc.definition.fspath).resolve().relative_to(_TESTS).as_posix()
    if chosen == "both" and (where.startswith(ONE_ENGINE) or metafunc.definition.get_closest_marker("races")):
        engines = ["sqlite"]
    if metafunc.definition.get_closest_marker("sqlite_only"):
        engines = [e for e in engines if e == "sqlite"]
    if metafunc.definition.get_closest_marker("postgresql_only"):
        engines = [e for e in engines if e == "postgresql"]
    metafunc.parametrize("pager_engine", engines, ids=["pg" if e == "postgresql" else e for e in engines],
                         scope="session")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks added here
def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ANN201
    """A test for no engine of the chosen ones (`--engine postgresql` and a
    `sqlite_only` test) is deselected, not reported as skipped."""
    def engine(item) -> object:  # noqa: ANN001
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("pager_engine") if callspec else None

    kept = [item for item in items if "pager_engine" not in item.fixturenames or engine(item) in ENGINES]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    # the longest tests first, so that with -n no worker is left running one of them alone at the end
    items[:] = sorted(kept, key=lambda item: not item.nodeid.startswith(LONGEST))
    # A module whose fixtures are set up once for all its tests (the reliability suite's
    # databases and corpus runs) keeps its tests together on one worker (`--dist
    # loadgroup`, in pyproject.toml): spread over both, each worker's switch to another
    # module would tear them down, and the next test of the module would set them up again.
    for item in items:
        if _has_module_fixtures(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def _has_module_fixtures(item) -> bool:  # noqa: ANN001
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(defs[-1].scope in ("module", "package") for defs in info.name2fixturedefs.values())


# the test files whose tests run longest (a minute of real processes, some of them)
LONGEST = ("tests/test_readme.py::test_every", "tests/reliability/test_crash_recovery.py",
           "tests/test_postgres_machines.py", "tests/reliability/test_load_contention.py",
           "tests/serve/test_serve_alertmanager.py")


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server, holding the migrated template database."""
    from pgserver import Server

    try:
        server = Server().start()
    except Exception as e:  # noqa: BLE001
        message = f"cannot start a PostgreSQL server for the tests: {e}"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    try:
        server.make_template()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pager_engine(request) -> str:
    return request.param


@pytest.fixture
def pager_db(pager_engine, request, tmp_path):
    """This test's database: a file path (SQLite) or a postgresql:// URL."""
    if pager_engine == "sqlite":
        yield str(tmp_path / "pager.db")
        return
    server = request.getfixturevalue("pg_server")
    name = server.fresh()
    yield server.url(name)
    server.drop(name)


@pytest.fixture(autouse=True)
def _isolated(pager_db, monkeypatch):
    monkeypatch.setenv("PAGER_DB", pager_db)
    monkeypatch.delenv("PAGER_NOW", raising=False)
    monkeypatch.setenv("PAGER_USER", "tester")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")


@pytest.fixture
def db_path(pager_db, pager_engine):
    """The test's database: a Path on SQLite, the URL (a str) on PostgreSQL."""
    return Path(pager_db) if pager_engine == "sqlite" else pager_db


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


def pager_argv(*args) -> list:  # noqa: ANN002
    """The argv of `pager ARGS` as a real process (python -m pager_cli); an
    argument given as bytes stays those bytes, anything else becomes str."""
    return [sys.executable, "-m", "pager_cli", *(a if isinstance(a, bytes) else str(a) for a in args)]


def pager_env(env: dict | None = None, db: Path | str | None = None) -> dict:
    """The environment of a pager child: this one (the test's PAGER_DB, user,
    colour), with `db` as PAGER_DB if given and `env` on top; a variable
    given as None in `env` is removed."""
    full_env = dict(os.environ)
    if db is not None:
        full_env["PAGER_DB"] = str(db)
    full_env.update(env or {})
    return {k: v for k, v in full_env.items() if v is not None}


def run_pager(*args, input: bytes | str | None = None, env: dict | None = None, timeout: float = 120,  # noqa: ANN002
              check: bool = False, cwd: Path | str | None = None) -> subprocess.CompletedProcess:
    """`pager ARGS` as a real process (python -m pager_cli), bytes in and out.
    An argument or an `env` value given as bytes is passed as those bytes."""
    if isinstance(input, str):
        input = input.encode()
    argv = pager_argv(*args)
    proc = subprocess.run(argv, input=input, capture_output=True, env=pager_env(env), timeout=timeout, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"pager {' '.join(os.fsdecode(a) for a in argv[3:])} exited {proc.returncode}: "
                             f"{proc.stderr.decode()}")
    return proc


def start_pager(*args, env: dict | None = None, stdin: int | None = subprocess.PIPE,  # noqa: ANN002
                stdout: int | None = subprocess.PIPE, stderr: int | None = subprocess.PIPE) -> subprocess.Popen:
    """`pager ARGS` started (for signals, streaming stdin, concurrent runs); the caller waits and reaps."""
    return subprocess.Popen(pager_argv(*args), stdin=stdin, stdout=stdout, stderr=stderr, env=pager_env(env))


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
