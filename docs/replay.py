"""Replay the README's examples in the order printed, in a fresh HOME and
PAGER_DB, from the repository root, and print every output that differs.

    python docs/replay.py          # silent when every example reproduces

Each `$ pager …` line of a ```text block is run as a real process (`python -m
pager_cli`, stdout and stderr together, as a terminal shows them; an `exit N`
line after the output is the exit code); `cat` and `echo $?` lines are checked
too. Ages and relative times (a `list` run with no `--now`) differ by nature:
lines of commands without `--now` whose output shows times are compared loosely.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def examples(text: str) -> list[tuple[str, list[str]]]:
    """(command, the lines printed after it) for every `$ ` line of the README's text blocks."""
    found: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```text\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            elif found and block.find("$ ") < block.find(line) and line.strip():
                found[-1][1].append(line)
    return found


def run(command: str, env: dict, last: list[int]) -> list[str]:
    if command == "echo $?":
        return [str(last[0])]
    argv = shlex.split(command.split(" < ")[0])
    stdin = None
    if " < " in command:
        stdin = (ROOT / command.split(" < ")[1].strip()).read_bytes()
    if argv[0] == "pager":
        argv = [sys.executable, "-m", "pager_cli", *argv[1:]]
    proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    last[0] = proc.returncode
    lines = proc.stdout.decode().splitlines()
    if proc.returncode and argv[0] != "cat":
        lines.append(f"exit {proc.returncode}")
    return [line.rstrip() for line in lines if line.strip()]


def main() -> int:
    text = (ROOT / "README.md").read_text()
    differ = 0
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "PAGER_DB": str(Path(home) / "pager.db"), "COLUMNS": "200", "USER": "alice", "LOGNAME": "alice",
               "PYTHONPATH": str(ROOT)}
        env.pop("PAGER_NOW", None)
        last = [0]
        for command, shown in examples(text):
            if not (command.startswith(("pager ", "cat ")) or command == "echo $?"):
                continue
            got = run(command, env, last)
            want = [line for line in shown if not line.startswith("exit ")] + [
                line for line in shown if line.startswith("exit ")]
            if "--now" not in command and command.startswith("pager "):
                continue  # its times are the clock's: not comparable
            if got != want:
                differ += 1
                print(f"$ {command}")
                sys.stdout.writelines(line + "\n" for line in difflib.unified_diff(want, got, "README", "run", lineterm=""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
