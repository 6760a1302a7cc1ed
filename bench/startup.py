"""Start-up instructions: what `python -m pager_cli list`, `oncall` and
`escalate-check` execute (valgrind's callgrind, `Collected`), on a fresh
database with schedules.example.yaml applied (PAGER_DB set, HOME a temp dir).
Unlike seconds, the count does not move with the load of a shared machine.

    python bench/startup.py      # one line per command, in millions of instructions

Baseline (commit 4b75632, before the application layer): list 2,133 M, oncall
2,069 M, escalate-check 1,843 M with its modules compiled at every start; with
their bytecode cached, as now (2026-12-07, the same script on both trees): 4b75632
list 1,912 M, oncall 1,925 M, escalate-check 1,743 M; now 1,915 M, 1,936 M and
1,767 M (escalate-check's tick also reads due deliveries and timers).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ("list", "oncall", "escalate-check")


def instructions(args: list[str], env: dict) -> int:
    """The instructions `python -m pager_cli ARGS` executes, as callgrind counts them."""
    argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m", "pager_cli", *args]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", proc.stderr).group(1))


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "PAGER_DB": str(Path(home) / "pager.db"),
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        env.pop("PAGER_NOW", None)
        subprocess.run([sys.executable, "-m", "pager_cli", "schedules", "apply", str(ROOT / "schedules.example.yaml")],
                       env=env, capture_output=True, check=True)
        for command in COMMANDS:
            print(f"{command:15} {instructions([command], env) / 1e6:>9,.0f} M instructions")


if __name__ == "__main__":
    main()
