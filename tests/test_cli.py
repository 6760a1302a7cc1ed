"""CLI wiring: every command has help text and a README example; exit codes for
usage mistakes; `--help` does not import the database stack."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import typer

from conftest import ROOT, run_pager
from pager_cli.cli import app


def all_commands():
    group = typer.main.get_command(app)
    found = []

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, path + [name])
        else:
            found.append((path, cmd))

    walk(group, [])
    return found


COMMANDS = all_commands()


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_has_help_and_a_readme_example(cli, path):
    r = cli(*path, "--help")
    assert r.code == 0
    assert "Usage: " in r.out
    cmd = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    assert (cmd.help or "").strip(), f"{' '.join(path)} has no help text"
    readme = (ROOT / "README.md").read_text()
    pattern = r"\$ (?:\S+/)?pager (?:--\S+ \S+ )*" + re.escape(" ".join(path)) + r"\b"
    assert re.search(pattern, readme), f"README has no `$ pager {' '.join(path)}` example"


def test_no_arguments_shows_help(cli):
    r = cli()
    assert "Usage: " in r.out + r.err
    assert "escalate-check" in r.out + r.err


def test_unknown_command_and_option_are_usage_errors(cli):
    assert cli("frobnicate").code == 2
    assert cli("list", "--bogus").code == 2
    assert cli("--tz", "Mars/Olympus", "list").code == 2


def test_help_does_not_import_the_database_stack():
    code = ("import sys\nsys.argv = ['pager', '--help']\nfrom pager_cli.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('sqlmodel', 'sqlalchemy', 'pydantic', 'yaml', 'dateutil') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out


def test_python_dash_m_works():
    proc = run_pager("--help")
    assert proc.returncode == 0 and b"escalate-check" in proc.stdout


def _run_counting(argv: list[str], tmp_path) -> str:
    """Run `pager argv` in a fresh interpreter; print which heavy modules it
    loaded, how many commands Typer turned into Click commands and how many
    SQLModel table classes were built."""
    code = ("import sys, typer.main\n"
            "built = []\n"
            "real = typer.main.get_command_from_info\n"
            "typer.main.get_command_from_info = lambda *a, **k: built.append(1) or real(*a, **k)\n"
            f"sys.argv = ['pager', *{argv!r}]\n"
            "from pager_cli.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in ('pager_cli.store.tables', 'pager_cli.store.tables.incident', 'pager_cli.escalation.engine', 'rich')\n"
            "          if m in sys.modules]\n"
            "from sqlmodel.main import default_registry\n"
            "print('BUILT', len(built), 'LOADED', loaded, 'MAPPED', len(default_registry.mappers))\n")
    env = {**__import__("os").environ, "PAGER_DB": str(tmp_path / "p.db")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def test_a_run_builds_only_the_command_it_runs(tmp_path):
    assert "BUILT 1 " in _run_counting(["ack", "--help"], tmp_path)
    assert "BUILT 1 " in _run_counting(["oncall"], tmp_path)


def test_escalate_check_with_nothing_due_loads_no_models(tmp_path):
    """Cron's every-minute run with nothing due answers from one indexed read:
    neither the ORM model classes nor the escalation engine are loaded."""
    assert "LOADED []" in _run_counting(["escalate-check"], tmp_path)


def test_a_mistyped_command_gets_a_suggestion(cli):
    r = cli("oncal")
    assert r.code == 2
    assert "Did you mean 'oncall'?" in r.err



def test_oncall_defines_no_incident_tables(tmp_path):
    """Commands that read only the configuration never build the incident
    tables, and the configuration tables are Core tables: no SQLModel class
    (a pydantic model and a mapper, costly at start-up) is built at all."""
    out = _run_counting(["oncall"], tmp_path)
    assert "pager_cli.store.tables'" in out and "pager_cli.store.tables.incident" not in out
    assert out.rstrip().endswith("MAPPED 0")
    assert _run_counting(["list"], tmp_path).rstrip().endswith("MAPPED 4")  # Incident, IncidentAlert, TimelineEntry, Page
