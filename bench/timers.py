"""Benchmark: what the timers (PRODUCT.md §12) cost the commands cron runs.

1. The nothing-due `escalate-check`, before the timers (the commit this
   branch started from, `--before REV`, extracted with `git archive`) and
   after (this tree): each tree builds its own database (the example config,
   200 acknowledged incidents, nothing due; after: a heartbeat not yet late
   and 200 open incidents waiting to auto-resolve), then the two commands run
   interleaved, `--runs` times each (default 20); medians and the median of
   the per-round differences. Target: after − before within 5 ms.
2. The timers' due read alone, in process (`timers.due.anything_due`): µs per call.
3. Start-up of `pager heartbeat NAME` against `pager oncall`, in instructions
   (valgrind callgrind, deterministic; skipped without valgrind), and wall
   medians. Target: heartbeat no more than oncall.

    python bench/timers.py [--runs 20] [--before 6b5e3f0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

NOW = "2026-12-07T10:00:00Z"
HEARTBEAT = "\nheartbeats:\n  nightly-backup: {service: platform, interval: 25h}\n"


def extract(rev: str, target: Path) -> Path:
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(target, filter="data")
    return target


def env_for(tree: Path, db: Path) -> dict[str, str]:
    return common.child_env(PYTHONPATH=str(tree), PAGER_DB=str(db), COLUMNS="160")


def run(tree: Path, db: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pager_cli", *args], input=stdin, text=True, capture_output=True,
                          env=env_for(tree, db), check=True)


def build(tree: Path, db: Path, timers: bool) -> None:
    config = db.with_suffix(".yaml")
    text = (ROOT / "schedules.example.yaml").read_text()
    if timers:
        text = text.replace("  catch-all: {}", "  catch-all: {auto_resolve: 30d}") + HEARTBEAT
    config.write_text(text)
    run(tree, db, "--now", "2026-12-07T09:00:00Z", "schedules", "apply", str(config))
    lines = "".join(f'{{"service": "catch-all", "title": "incident {i}", "dedup_key": "k{i}"}}\n' for i in range(200))
    run(tree, db, "--now", "2026-12-07T09:00:00Z", "trigger", "-", stdin=lines)


def check_argv(tree: Path) -> list[str]:
    return [sys.executable, "-m", "pager_cli", "--now", NOW, "escalate-check"]


def due_read_us(db: Path) -> dict[str, float]:
    """Microseconds per call of each manager's nothing-due read, in process."""
    from pager_cli.escalation.due import anything_due as escalation
    from pager_cli.notify.due import anything_due as deliveries
    from pager_cli.store.db import open_database
    from pager_cli.timers.due import anything_due as timers

    database = open_database(str(db))
    now = datetime(2026, 12, 7, 10, tzinfo=timezone.utc)
    found = {}
    for name, read in (("escalation", escalation), ("deliveries", deliveries), ("timers", timers)):
        assert not read(database, now)
        n = 1000
        began = time.process_time()
        for _ in range(n):
            read(database, now)
        found[name] = (time.process_time() - began) / n * 1e6
    database.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", default="6b5e3f0", help="the revision before the timers")
    args = parser.parse_args()
    common.prepare_environment()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = extract(args.before, tmp / "before")
        before_db, after_db = tmp / "before.db", tmp / "after.db"
        build(before, before_db, timers=False)
        build(ROOT, after_db, timers=True)
        commands = {"before": check_argv(before), "after": check_argv(ROOT)}
        env = {"before": env_for(before, before_db), "after": env_for(ROOT, after_db)}
        for name, argv in commands.items():  # nothing is due: the check prints nothing
            out = common.run_once(argv, env=env[name], keep_stdout=True).stdout
            assert out == b"", out
        samples = common.time_commands(commands, args.runs, warmup=2, env=env)
        for what in ("wall", "cpu"):
            b, a = (common.median(samples[n], what) for n in ("before", "after"))
            diff = common.paired(samples["after"], samples["before"], what)  # after − before
            print(f"escalate-check, nothing due, {what} time: before ({args.before}) {b * 1000:.1f} ms,"
                  f" after {a * 1000:.1f} ms, median of {args.runs} per-round differences {diff * 1000:+.1f} ms")
        counts = common.count_instructions(commands, env)
        if all(counts.values()):
            extra = counts["after"] - counts["before"]
            cpu = common.median(samples["before"], "cpu")
            print(f"escalate-check, nothing due, instructions (callgrind): before {counts['before'] / 1e6:.1f} M,"
                  f" after {counts['after'] / 1e6:.1f} M, difference {extra / 1e6:+.2f} M"
                  f" = {extra / counts['before'] * cpu * 1000:+.2f} ms at the before run's speed (target: within 5 ms)")
        sys.path.insert(0, str(ROOT))
        for name, us in due_read_us(after_db).items():
            print(f"nothing-due read of the {name} manager, in process: {us:.0f} us CPU per call")
        argv = {name: [sys.executable, "-m", "pager_cli", "--now", NOW, *cmd]
                for name, cmd in (("heartbeat", ["heartbeat", "nightly-backup"]), ("oncall", ["oncall"]))}
        env = {name: env_for(ROOT, after_db) for name in argv}
        counts = common.count_instructions(argv, env)
        for name, count in counts.items():
            print(f"start-up, pager {argv[name][5]}: " + (f"{count / 1e6:.0f} M instructions (callgrind)"
                                                          if count else "valgrind not found"))
        walls = {name: [] for name in argv}
        for _ in range(args.runs // 2 or 1):
            for name, cmd in argv.items():
                began = time.perf_counter()
                subprocess.run(cmd, env=env[name], capture_output=True, check=True)
                walls[name].append(time.perf_counter() - began)
        for name, samples in walls.items():
            print(f"start-up, pager {argv[name][5]}: median {statistics.median(samples) * 1000:.0f} ms wall")


if __name__ == "__main__":
    main()
