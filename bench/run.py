"""Run pager's benchmarks and print one table of figures.

    python bench/run.py                   # everything (under 10 minutes on 2 cores)
    python bench/run.py --quick           # a fast smoke run: small databases, fewer runs
    python bench/run.py --only startup    # one benchmark (or several: --only startup,escalate)
    python bench/run.py --markdown        # the table again at the end, as Markdown

Each benchmark is a `bench/bench_NAME.py` module whose `run()` returns
`[(name, value, target), ...]`; a target such as "< 0.25" or "<= 2.0" is
checked against the value, "reference" marks a figure shown for comparison.
A module that is missing is reported as not available. Each benchmark runs in
a process of its own (`run.py --child NAME`). Large inputs are built
on first use and cached in `bench/.cache/`; the runner's children cache their
bytecode there too (see `bench/common.py`).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

# name → module, in the order they run: cheap and noise-sensitive ones first.
BENCHES = {
    "startup": "bench_startup",
    "oncall": "bench_oncall",
    "escalate": "bench_escalate",
    "catchup": "bench_catchup",
    "dbsize": "bench_dbsize",
    "metrics": "bench_metrics",
    "ingest": "bench_ingest",
    "deliveries": "bench_deliveries",
    "outbox_deliveries": "bench_outbox_deliveries",
    "serve": "serve",  # bench/serve.py
    "exports": "bench_exports",
}
HEAVY = {"metrics", "ingest", "exports"}  # skipped by --quick unless their run() takes `quick`
_TARGET = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*(-?[0-9][0-9_,]*(?:\.[0-9]+)?)")


def verdict(value: object, target: str) -> str:
    """'met' / 'NOT MET' for a target like '< 0.25' or '<= 2.0 (x)'; '' for the rest."""
    match = _TARGET.match(str(target))
    if not match or not isinstance(value, (int, float)):
        return ""
    op, limit = match.group(1), float(match.group(2).replace(",", "").replace("_", ""))
    ok = {"<": value < limit, ">": value > limit, "<=": value <= limit, "≤": value <= limit,
          ">=": value >= limit, "≥": value >= limit}[op]
    return "met" if ok else "NOT MET"


def show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 10_000 else f"{value:,.3f}".rstrip("0").rstrip(".") or "0"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def call(name: str, quick: bool) -> tuple[list[tuple[str, object, str]], str]:
    """The rows of one benchmark, and a note ('' when it ran)."""
    try:
        module = importlib.import_module(BENCHES[name])
    except ModuleNotFoundError as e:
        if e.name == BENCHES[name]:
            return [], f"not available (bench/{BENCHES[name]}.py is not there yet)"
        raise
    run = getattr(module, "run", None)
    if run is None:
        return [], f"not available (bench/{BENCHES[name]}.py has no run())"
    takes = inspect.signature(run).parameters
    if quick and "quick" in takes:
        return run(quick=True), ""
    if quick and name in HEAVY:
        return [], "skipped in --quick (its run() has no quick mode)"
    return run(), ""


def child(name: str, quick: bool, result: Path) -> int:
    """`run.py --child NAME`: one benchmark in a process of its own, so that no
    benchmark inherits another's memory, imports or state; rows go to `result`."""
    report: dict = {"rows": [], "note": "", "error": None}
    try:
        rows, report["note"] = call(name, quick)
        report["rows"] = [[figure, value, target] for figure, value, target in rows]
    except Exception as e:  # reported by the parent; one broken benchmark must not hide the others
        traceback.print_exc(limit=4, file=sys.stderr)
        report["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    result.write_text(json.dumps(report))
    return 0


def in_child(name: str, quick: bool) -> tuple[list[tuple[str, object, str]], str, bool]:
    """Run one benchmark through `run.py --child`; (rows, note, failed)."""
    result = common.CACHE / f"run-{name}-{os.getpid()}.json"
    result.unlink(missing_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--result", str(result)]
    code = subprocess.run(argv + (["--quick"] if quick else [])).returncode
    try:
        report = json.loads(result.read_text())
    except (OSError, ValueError):
        return [], f"error: the benchmark process exited {code} without results", True
    finally:
        result.unlink(missing_ok=True)
    if report["error"]:
        return [], f"error: {report['error']}", True
    return [tuple(row) for row in report["rows"]], report["note"], False


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}, {platform.system()}"


def load() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small databases and fewer runs: a smoke test")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help=f"run only these ({', '.join(BENCHES)}); repeat or separate with commas")
    parser.add_argument("--markdown", action="store_true", help="print the final table as Markdown too")
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.quick, args.result)
    chosen = [n.strip() for item in args.only for n in item.split(",") if n.strip()] or list(BENCHES)
    unknown = [n for n in chosen if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(BENCHES)}")

    common.prepare_environment()
    began = time.perf_counter()
    print(f"pager benchmarks{' (--quick)' if args.quick else ''}: {machine()}; load average {load()}")
    table: list[tuple[str, str, object, str, str]] = []  # (bench, figure, value, target, verdict)
    failed = False
    for name in [n for n in BENCHES if n in chosen]:
        start = time.perf_counter()
        print(f"\n[{name}]", flush=True)
        rows, note, broken = in_child(name, args.quick)
        failed = failed or broken
        if note:
            print(f"  {note}")
            table.append((name, note, "", "", ""))
        parent = ""
        for figure, value, target in rows:
            mark = verdict(value, target)
            if not figure.startswith(" "):
                parent = figure
            full = f"{parent} › {figure.strip()}" if figure.startswith(" ") and parent else figure
            table.append((name, full, value, target, mark))
            print(f"  {figure:<64} {show(value):>12}   {target:<12} {mark}", flush=True)
        print(f"  ({time.perf_counter() - start:.0f} s, load average {load()})", flush=True)

    total = time.perf_counter() - began
    missed = [row for row in table if row[4] == "NOT MET"]
    met = [row for row in table if row[4] == "met"]
    print(f"\n{len(met)} target{'s' if len(met) != 1 else ''} met, {len(missed)} not met; total {total:.0f} s "
          f"({total / 60:.1f} min), load average {load()}")
    for _, figure, value, target, _ in missed:
        print(f"  NOT MET: {figure} = {show(value)} (target {target})")
    if args.markdown:
        print("\n| benchmark | figure | value | target | |\n| --- | --- | ---: | --- | --- |")
        for name, figure, value, target, mark in table:
            figure = figure.replace("|", "\\|")
            print(f"| {name} | {figure} | {show(value)} | {target} | {mark} |")
    (common.CACHE / "last-run.json").write_text(json.dumps(
        {"quick": args.quick, "seconds": round(total, 1), "machine": machine(),
         "rows": [dict(zip(("bench", "figure", "value", "target", "verdict"), row)) for row in table]}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
