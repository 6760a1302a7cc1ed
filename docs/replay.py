"""Replay the README's examples in the order printed, as a newcomer would paste
them — a fresh HOME, a scratch directory holding the repository's `docs/` and
example config — and print every output that differs.

    python docs/replay.py          # silent, exit 0, when every example reproduces
    python docs/replay.py --fix    # write the real outputs into README.md

Each `$ pager …` line of a ```text block is run as a real process (`python -m
pager_cli`, stdout and stderr together, as a terminal shows them; an `exit N`
line after the output is the exit code, unless the next line is `echo $?`);
`cat`, `echo $?`, `export NAME=VALUE` and `unset NAME` lines are played too.
Commands without `--now` run but are not compared: their output shows the
clock (ages, times), or needs a contact or server of the reader's own.
`pager serve` is not run.
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
BLOCK = re.compile(r"```text\n(.*?)```", re.S)


def examples(text: str) -> list[tuple[int, str, list[str]]]:
    """(offset of the `$` line, command, the lines printed after it) for every
    `$ ` line of the README's text blocks."""
    found: list[tuple[int, str, list[str]]] = []
    for block in BLOCK.finditer(text):
        offset, started = block.start(1), False
        for line in block.group(1).splitlines(keepends=True):
            if line.startswith("$ "):
                found.append((offset, line[2:].rstrip("\n"), []))
                started = True
            elif started and line.strip():
                found[-1][2].append(line.rstrip("\n"))
            offset += len(line)
    return found


def compared(command: str) -> bool:
    return command.startswith("cat ") or command == "echo $?" or (command.startswith("pager ") and "--now" in command)


def run(command: str, env: dict, cwd: Path, last: list[int], echoed: bool) -> list[str] | None:
    if command == "echo $?":
        return [str(last[0])]
    if command.startswith("export "):
        name, _, value = command[7:].partition("=")
        env[name] = value
        return []
    if command.startswith("unset "):
        env.pop(command[6:].strip(), None)
        return []
    if not command.startswith(("pager ", "cat ")) or command.startswith("pager serve"):
        return None
    argv = shlex.split(command.split(" < ")[0])
    stdin = (cwd / command.split(" < ")[1].strip()).read_bytes() if " < " in command else None
    if argv[0] == "pager":
        argv = [sys.executable, "-m", "pager_cli", *argv[1:]]
    proc = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    last[0] = proc.returncode
    lines = [line.rstrip() for line in proc.stdout.decode().splitlines()]
    if proc.returncode and argv[0] != "cat" and not echoed:
        lines.append(f"exit {proc.returncode}")
    return lines


def fix(text: str, outputs: dict[int, list[str]]) -> str:
    """The README with each compared command's printed lines replaced by `outputs`."""
    pieces, at = [], 0
    for block in BLOCK.finditer(text):
        lines = block.group(1).splitlines(keepends=True)
        offset, out, skipping = block.start(1), [], False
        for i, line in enumerate(lines):
            if line.startswith("$ "):
                skipping = offset in outputs
                out.append(line)
                if skipping:
                    out.extend(row + "\n" for row in outputs[offset])
                    following = lines[i + 1:]
                    more = next((j for j, rest in enumerate(following) if rest.startswith("$ ")), None)
                    if more is not None and more > 0 and not following[more - 1].strip():
                        out.append("\n")
            elif not skipping:
                out.append(line)
            offset += len(line)
        pieces += [text[at:block.start(1)], "".join(out)]
        at = block.end(1)
    return "".join(pieces) + text[at:]


def main(argv: list[str]) -> int:
    text = (ROOT / "README.md").read_text()
    differ, outputs = 0, {}
    with tempfile.TemporaryDirectory() as home:
        cwd = Path(home) / "work"
        cwd.mkdir()
        for name in ("docs", "schedules.example.yaml"):
            (cwd / name).symlink_to(ROOT / name)
        env = {**os.environ, "HOME": home, "COLUMNS": "100", "USER": "alice", "LOGNAME": "alice", "PYTHONPATH": str(ROOT)}
        for name in [name for name in env if name.startswith(("PAGER_", "XDG_"))]:
            env.pop(name, None)
        last = [0]
        found = examples(text)
        for n, (offset, command, shown) in enumerate(found):
            echoed = n + 1 < len(found) and found[n + 1][1] == "echo $?"
            got = run(command, env, cwd, last, echoed)
            if got is None or not compared(command):
                continue
            outputs[offset] = got
            if [line for line in got if line.strip()] != shown:
                differ += 1
                print(f"$ {command}")
                sys.stdout.writelines(line + "\n" for line in difflib.unified_diff(shown, got, "README", "run", lineterm=""))
    if "--fix" in argv and differ:
        (ROOT / "README.md").write_text(fix(text, outputs))
        print(f"README.md: {differ} outputs rewritten")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
