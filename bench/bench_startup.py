"""Benchmark: how long a pager command takes before it does any work.

Times, as real processes, median of several interleaved runs:
- `python -c pass` (the interpreter and site-packages' .pth files) and
  `python -c "import sqlmodel"`, the floor every database command pays;
- the stack floor (`bench/stack_floor.py`): the smallest Typer CLI that imports
  SQLModel and runs a command, `plain` (prints nothing, like escalate-check with
  nothing due) or `table` (imports dateutil's rrule and prints a Rich table, like
  oncall): what a command pays for its libraries before any pager code runs;
- `import sqlmodel, pager_cli.store.tables`: defining the tables;
- `pager --help`, and `pager oncall` and `pager escalate-check` against a small
  database with schedules.example.yaml applied, both through the console script
  and `python -m pager_cli`, and `pager list` (a command that defines the
  incident tables as SQLModel classes and queries them through the ORM);
- where valgrind is installed, the instructions `oncall`, `escalate-check`,
  `list` and the floors execute (callgrind): a figure a busy machine does not move, given
  also in seconds at the speed the floor ran in the same benchmark.

    python bench/bench_startup.py             # one line per figure
    python bench/bench_startup.py --profile   # what the commands import beyond the floor

Targets: `--help` under 0.25 s; a database command no more than 0.1 s above
the floor of importing its dependencies, reported both against `import sqlmodel`
alone and against the stack floor of its own kind.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

HERE = Path(__file__).resolve().parent

HELP_TARGET = 0.25  # seconds, absolute
DB_TARGET = 0.10  # seconds above the floor
# The database commands: (command, label, the stack floor of its kind). The
# instructions are counted for those run through the console script.
DB_COMMANDS = (("oncall", "pager oncall", "stack table"),
               ("oncall -m", "python -m pager_cli oncall", "stack table"),
               ("escalate-check", "pager escalate-check, empty db", "stack plain"),
               ("list", "pager list, empty db", "stack table"))
COUNTED = ("oncall", "escalate-check", "list")


def commands(db: Path, quick: bool = False) -> dict[str, list[str]]:
    py = common.python()
    found = {
        "pass": [py, "-c", "pass"],
        "floor": [py, "-c", "import sqlmodel"],
        "stack plain": [py, str(HERE / "stack_floor.py"), "plain"],
        "stack table": [py, str(HERE / "stack_floor.py"), "table"],
        "models": [py, "-c", "import sqlmodel, pager_cli.store.tables"],
        "help": common.pager(None, "--help", now=None),
        "help -m": common.pager(None, "--help", module=True, now=None),
        "oncall": common.pager(db, "oncall"),
        "oncall -m": common.pager(db, "oncall", module=True),
        "escalate-check": common.pager(db, "escalate-check"),
        "list": common.pager(db, "list"),
        "oncall, no bytecode": common.pager(db, "oncall"),
    }
    shim = common.path_script()
    if shim:
        found["help via PATH"] = [shim, "--help"]
    if quick:
        for name in ("help -m", "oncall -m", "oncall, no bytecode", "help via PATH"):
            found.pop(name, None)
    return found


def run(repeat: int = 5, quick: bool = False) -> list[tuple[str, float, str]]:
    """(name, value, target) for each figure; times in seconds, each the median
    of `repeat` runs (a difference or ratio: the median of the per-round ones);
    CPU times (user + system of the child) beside the wall times, since on a
    busy machine they move less."""
    if quick:
        repeat = min(repeat, 2)
    db = common.applied_database(common.stderr_log)
    cmds = commands(db, quick)
    envs = {"oncall, no bytecode": common.child_env(bytecode=False)}
    samples = common.time_commands(cmds, repeat, env=envs)
    wall = {name: common.median(s) for name, s in samples.items()}
    cpu = {name: common.median(s, "cpu") for name, s in samples.items()}
    beyond = lambda name, what="wall", floor="floor": round(  # noqa: E731
        common.paired(samples[name], samples[floor], what), 3)
    times = lambda name, base: round(common.paired(samples[name], samples[base], ratio=True), 2)  # noqa: E731
    r = lambda v: round(v, 3)  # noqa: E731
    rows = [
        ("start-up: python -c pass (s)", r(wall["pass"]), "reference"),
        ("start-up: python -c 'import sqlmodel' = the floor (s)", r(wall["floor"]), "reference"),
        ("  CPU time (s)", r(cpu["floor"]), "reference"),
        ("start-up: stack floor, a Typer + SQLModel command (s)", r(wall["stack plain"]), "reference"),
        ("  beyond the floor (s)", beyond("stack plain"), "reference"),
        ("start-up: stack floor with a Rich table + dateutil (s)", r(wall["stack table"]), "reference"),
        ("  beyond the floor (s)", beyond("stack table"), "reference"),
        ("start-up: import sqlmodel + pager_cli.store.tables (s)", r(wall["models"]), "reference"),
        ("  beyond the floor (s)", beyond("models"), "reference"),
        ("  beyond the floor, CPU time (s)", beyond("models", "cpu"), "reference"),
        ("start-up: pager --help (s)", r(wall["help"]), f"< {HELP_TARGET}"),
        ("  CPU time (s)", r(cpu["help"]), "reference"),
        ("  / python -c pass (x)", times("help", "pass"), "reference"),
    ]
    if "help -m" in wall:
        rows.append(("start-up: python -m pager_cli --help (s)", r(wall["help -m"]), f"< {HELP_TARGET}"))
    if "help via PATH" in wall:
        rows.append((f"start-up: pager --help via PATH, {common.path_script()} (s)", r(wall["help via PATH"]),
                     "reference"))
    for name, label, stack in DB_COMMANDS:
        if name not in wall:
            continue
        rows += [
            (f"start-up: {label} (s)", r(wall[name]), "reference"),
            ("  beyond the floor (s)", beyond(name), f"<= {DB_TARGET}"),
            (f"  beyond the {stack} floor (s)", beyond(name, floor=stack), f"<= {DB_TARGET}"),
            (f"  beyond the {stack} floor, CPU time (s)", beyond(name, "cpu", stack), "reference"),
            ("  beyond the floor, CPU time (s)", beyond(name, "cpu"), "reference"),
            ("  / the floor (x)", times(name, "floor"), "reference"),
        ]
    rows += _instruction_rows(cmds, wall["floor"], quick)
    if "oncall, no bytecode" in wall:
        rows.append(("start-up: pager oncall, pager_cli compiled on every run (s)", r(wall["oncall, no bytecode"]),
                     "reference"))
    return rows


def _instruction_rows(cmds: dict[str, list[str]], floor_wall: float, quick: bool) -> list[tuple[str, float, str]]:
    """The same comparisons in instructions (valgrind), which a busy machine does
    not move: beyond a floor in millions, and in seconds at the speed this run
    measured for the floor (its instructions ÷ its median wall time)."""
    names = ["floor", "stack plain", "stack table", *COUNTED]
    counted = {} if quick else common.count_instructions({name: cmds[name] for name in names})
    if not counted or None in counted.values():
        return []
    seconds = lambda n: round(n / counted["floor"] * floor_wall, 3)  # noqa: E731
    rows = [("instructions: python -c 'import sqlmodel' = the floor (M)", round(counted["floor"] / 1e6), "reference")]
    for name, label, stack in (command for command in DB_COMMANDS if command[0] in COUNTED):
        over, over_stack = counted[name] - counted["floor"], counted[name] - counted[stack]
        rows += [
            (f"instructions: {label}, beyond the floor (M)", round(over / 1e6), "reference"),
            ("  in seconds at the floor's speed (s)", seconds(over), f"<= {DB_TARGET}"),
            (f"  beyond the {stack} floor (M)", round(over_stack / 1e6), "reference"),
            (f"  beyond the {stack} floor, in seconds at the floor's speed (s)", seconds(over_stack),
             f"<= {DB_TARGET}"),
        ]
    return rows


# --------------------------------------------------------------------------
# Where the time goes: `python -X importtime`, beyond the floor.


def _importtime(argv: list[str]) -> dict[str, tuple[int, int]]:
    """module → (self µs, cumulative µs) of one run under -X importtime."""
    import subprocess

    if argv[0] != common.python():
        argv = [common.python(), "-m", "pager_cli", *argv[1:]]
    argv = [argv[0], "-X", "importtime", *argv[1:]]
    err = subprocess.run(argv, capture_output=True, env=common.child_env(), check=True).stderr.decode()
    found = {}
    for line in err.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, total, name = line[len("import time:"):].split("|", 2)
            found[name.strip()] = (int(own), int(total))
    return found


def import_profile(argv: list[str], floor: str = "import sqlmodel", runs: int = 5,
                   top: int = 12) -> list[tuple[str, float, int]]:
    """(package, or pager_cli module; median self ms; modules) of what `argv`
    imports beyond `python -c FLOOR`."""
    floor = set(_importtime([common.python(), "-c", floor]))
    per_run = []
    for _ in range(runs):
        extra = {k: v for k, v in _importtime(argv).items() if k not in floor}
        groups: dict[str, list[int]] = {}
        for name, (own, _) in extra.items():
            groups.setdefault(name.split(".")[0] if not name.startswith("pager_cli") else name, []).append(own)
        per_run.append(groups)
    names = set().union(*per_run)
    rows = [(n, statistics.median(sum(g.get(n, [0])) / 1000 for g in per_run), len(per_run[0].get(n, [])))
            for n in names]
    rows.sort(key=lambda row: -row[1])
    return rows[:top]


def profile() -> None:
    common.prepare_environment()
    db = common.applied_database(common.stderr_log)
    for args, floor in ((["escalate-check"], "import sqlmodel"), (["oncall"], "import sqlmodel"),
                        (["--help"], "pass")):
        database = None if args == ["--help"] else db
        rows = import_profile(common.pager(database, *args, now=None if database is None else common.NOW), floor)
        print(f"\n{' '.join(args)}: imports beyond `python -c {floor!r}` (median self time of 5 runs)")
        for name, ms, count in rows:
            print(f"  {name:<40} {ms:7.1f} ms  ({count} module{'s' if count != 1 else ''})")


def main() -> None:
    if "--profile" in sys.argv[1:]:
        profile()
        return
    common.prepare_environment()
    for name, value, target in run(quick="--quick" in sys.argv[1:]):
        print(f"{name:<52} {value:>8}   target: {target}")


if __name__ == "__main__":
    main()
