"""CLI wiring: every command has help text and a README example; exit codes for
usage mistakes."""

from __future__ import annotations

import re

import pytest
import typer

from conftest import ROOT
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


def test_a_mistyped_command_gets_a_suggestion(cli):
    r = cli("oncal")
    assert r.code == 2
    assert "Did you mean 'oncall'?" in r.err



