"""What each command loads as it starts, in real fresh interpreters: the
optional libraries (icalendar, prometheus-client, Apprise and the other
senders, the HTTP server, psycopg) only in the command that uses them, no
database stack for `--help`, only the Click command it runs, and only the ORM
classes it reads. Which modules name those libraries is checked in the source
by test_architecture.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import EXAMPLE

pytestmark = pytest.mark.slow  # a fresh interpreter per command

EXPORTS = ("icalendar", "prometheus_client")
SENDING = ("apprise", "smtplib", "http.client", "urllib.request")
SERVER = ("http.server", "socketserver", "hmac", "pager_cli.serve", "pager_cli.serve.http", "pager_cli.serve.head",
          "pager_cli.app.group_commit", "pager_cli.notify.acklinks")
POSTGRESQL = ("psycopg", "sqlalchemy.dialects.postgresql")
OPTIONAL = EXPORTS + SENDING + SERVER + POSTGRESQL
DATABASE = ("sqlmodel", "sqlalchemy", "pydantic", "yaml", "dateutil")
MODELS = ("pager_cli.store.tables.incident", "pager_cli.escalation.engine")

# Run in this order on one SQLite database (the first two make incident #1),
# each with the optional libraries it may load.
COMMANDS = [
    (["schedules", "apply", str(EXAMPLE)], []),
    (["trigger", "--service", "payments", "DB down"], []),
    (["escalate-check"], []),
    (["list"], []),
    (["show", "1"], []),
    (["oncall"], []),
    (["schedules", "show", "payments-primary"], []),
    (["deliveries"], []),
    (["metrics"], []),
    (["metrics", "--json"], []),
    (["watch", "--once"], []),
    (["ack", "1"], []),
    (["ack", "--help"], []),
    (["serve", "--help"], []),
    (["--help"], []),
    (["schedules", "ical", "payments-primary"], ["icalendar"]),
    # prometheus-client imports its own HTTP exposition server with it
    (["metrics", "--format", "prometheus"], ["prometheus_client", "http.client", "urllib.request", "http.server",
                                             "socketserver"]),
]

_PROBE = """\
import json, sys, typer.main
built = []
real = typer.main.get_command_from_info
typer.main.get_command_from_info = lambda *a, **k: built.append(1) or real(*a, **k)
sys.argv = ['pager', *json.loads(sys.argv[1])]
from pager_cli.cli import main
try:
    main()
except SystemExit:
    pass
mapped = len(sys.modules['sqlmodel.main'].default_registry.mappers) if 'sqlmodel.main' in sys.modules else 0
print('\\nSTARTED', json.dumps({'loaded': sorted(sys.modules), 'built': len(built), 'mapped': mapped}))
"""


def started(argv: list[str], db: str) -> dict:
    """Run `pager argv` in a fresh interpreter: the modules it loaded, how many
    commands Typer turned into Click commands, how many ORM classes it mapped."""
    env = {**os.environ, "PAGER_DB": db, "PAGER_NOW": "2026-11-23T09:00:00Z"}
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv)], capture_output=True, text=True, env=env,
                          timeout=120)
    assert "STARTED " in proc.stdout, (argv, proc.stderr)
    return json.loads(proc.stdout.rsplit("STARTED ", 1)[1])


def test_each_command_loads_only_what_it_needs(tmp_path):
    db = str(tmp_path / "pager.db")  # SQLite: no command of it may load psycopg
    runs = {}
    for argv, optional in COMMANDS:
        run = runs[" ".join(argv)] = started(argv, db)
        assert (argv, [m for m in OPTIONAL if m in run["loaded"]]) == (argv, optional)
    assert [m for m in DATABASE if m in runs["--help"]["loaded"]] == []
    assert runs["ack --help"]["built"] == runs["oncall"]["built"] == 1
    # cron's every-minute run with nothing due answers from one indexed read
    assert [m for m in MODELS if m in runs["escalate-check"]["loaded"]] == []
    # oncall reads the configuration alone, whose tables are Core tables: no
    # SQLModel class (a pydantic model and a mapper, costly at start-up)
    assert "pager_cli.store.tables" in runs["oncall"]["loaded"]
    assert "pager_cli.store.tables.incident" not in runs["oncall"]["loaded"]
    assert runs["oncall"]["mapped"] == 0
    assert runs["list"]["mapped"] == 4  # Incident, IncidentAlert, TimelineEntry, Page
