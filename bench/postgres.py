"""Benchmark: SQLite and PostgreSQL side by side, as real processes.

A throw-away PostgreSQL server is started from the installed binaries (as the
tests do: tests/pgserver.py, fsync off, TCP on 127.0.0.1), so figures are the
engine's and the protocol's, not a disk's.

- ingest: `pager trigger -` reading 100,000 alerts (NDJSON, 20,000 keys);
  then the same alerts split over four `trigger -` started together, each
  with keys of its own, and again each with a quarter of the stream (the
  four share every key); every run checked: one incident per key, every
  alert counted (on PostgreSQL batches run beside each other, each locking
  its own keys and incidents, and the run counts the deadlocks the server
  broke; SQLite has one writer);
- escalate: 10,000 incidents due at once, `escalate-check` by one checker,
  then on an identical copy by three checkers started together (on
  PostgreSQL they share the work: FOR UPDATE SKIP LOCKED; SQLite has one
  writer); every run checked: 10,000 escalations, each exactly once;
- metrics: `pager metrics --json` over 1,000,000 incidents (bench_metrics'
  mix), against the same command over an empty window (the start-up).

    python bench/postgres.py            # everything (several minutes: builds 1M incidents per engine)
    python bench/postgres.py --quick    # 10,000 alerts, 1,000 due, 100,000 incidents

Targets: three checkers well under one on PostgreSQL (< 0.75 of one's time);
metrics ≤ 2 s beyond the start-up on both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT), str(ROOT / "tests")]

import bench_metrics  # noqa: E402
from pgserver import Server  # noqa: E402

T0 = "2026-11-23T10:00:00Z"
DUE_AT = "2026-11-23T10:06:00Z"  # every incident's level 1 is due (the example's payments policy: 5 minutes)
CONFIG = ROOT / "schedules.example.yaml"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PAGER_NOW", "PAGER_DB", "COLUMNS")}


def pager(db: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "pager_cli", "--db", db, *args]


def timed(argv: list[str], stdin: Path | None = None) -> tuple[float, bytes]:
    began = time.perf_counter()
    with open(stdin or os.devnull, "rb") as src:
        proc = subprocess.run(argv, stdin=src, capture_output=True, env=_env())
    elapsed = time.perf_counter() - began
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[3:])} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return elapsed, proc.stdout


def _children_cpu() -> float:
    """User + system CPU seconds of the waited-for child processes so far (the server's is not in it)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def together(argvs: list[list[str]], stdins: list[Path] | None = None) -> tuple[float, list[bytes]]:
    """Start every command at once (each reading its file of `stdins`, if
    given); the wall time until the last one ends. Their output goes to files, not pipes: a pipe nobody reads while another
    command is waited for fills up and stalls its writer (which would time
    the pipe, not the command)."""
    with tempfile.TemporaryDirectory(prefix="pager-together-") as folder:
        files = [(open(Path(folder) / f"{i}.out", "w+b"), open(Path(folder) / f"{i}.err", "w+b"))
                 for i in range(len(argvs))]
        sources = [open(p, "rb") for p in stdins] if stdins else [subprocess.DEVNULL] * len(argvs)
        began = time.perf_counter()
        procs = [subprocess.Popen(a, stdin=src, stdout=out, stderr=err, env=_env())
                 for a, src, (out, err) in zip(argvs, sources, files)]
        for p in procs:
            p.wait()
        elapsed = time.perf_counter() - began
        for src in sources if stdins else []:
            src.close()
        outs = []
        for p, (out, err) in zip(procs, files):
            out.seek(0), err.seek(0)
            if p.returncode != 0:
                raise RuntimeError(f"exited {p.returncode}: {err.read().decode()[-500:]}")
            outs.append(out.read())
            out.close(), err.close()
    return elapsed, outs


class Engines:
    """Fresh databases of each engine: `new(engine, name)` → location; `copy`."""

    def __init__(self, server: Server, folder: Path):
        self.server, self.folder = server, folder

    def new(self, engine: str, name: str) -> str:
        if engine == "sqlite":
            return str(self.folder / f"{name}.db")
        self.server.admin().execute(f"CREATE DATABASE {name}")
        return self.server.url(name)

    def copy(self, engine: str, source: str, name: str) -> str:
        if engine == "sqlite":
            target = self.folder / f"{name}.db"
            shutil.copyfile(source, target)
            return str(target)
        self.server.admin().execute(f"CREATE DATABASE {name} TEMPLATE {source.rsplit('/', 1)[1]}")
        return self.server.url(name)


def _alerts(path: Path, count: int, keys: int) -> Path:
    rng = random.Random(7)
    with open(path, "w") as f:
        for i in range(count):
            k = rng.randrange(keys)
            f.write(json.dumps({"service": "payments", "title": f"disk {k} full", "dedup_key": f"k{k}",
                                "severity": "warning"}) + "\n")
    return path


STREAMS = 4  # `trigger -` processes started together


def _split(alerts: Path, by_key: bool) -> list[Path]:
    """`alerts` in STREAMS files: by key (each stream its own keys), or line by line (every stream every key)."""
    paths = [alerts.with_name(f"{alerts.stem}-{'keys' if by_key else 'lines'}-{i}.ndjson") for i in range(STREAMS)]
    files = [open(p, "w") for p in paths]
    with open(alerts) as source:
        for n, line in enumerate(source):
            files[int(json.loads(line)["dedup_key"][1:]) % STREAMS if by_key else n % STREAMS].write(line)
    for f in files:
        f.close()
    return paths


def _tally(engines: Engines, engine: str, db: str) -> tuple[int, int, int]:
    """(incidents, distinct keys, alerts counted) in `db`."""
    query = "SELECT count(*), count(DISTINCT dedup_key), sum(alert_count) FROM incident"
    if engine == "sqlite":
        import sqlite3

        with sqlite3.connect(db) as conn:
            return conn.execute(query).fetchone()
    import psycopg

    with psycopg.connect(engines.server.url(db.rsplit("/", 1)[1])) as conn:
        return conn.execute(query).fetchone()


def ingest(engines: Engines, engine: str, alerts: Path, count: int) -> list[tuple]:
    db = engines.new(engine, f"ingest_{engine}")
    timed(pager(db, "schedules", "apply", str(CONFIG)))
    wall, out = timed(pager(db, "--now", T0, "trigger", "-"), stdin=alerts)
    keys = _tally(engines, engine, db)[1]
    assert _tally(engines, engine, db) == (keys, keys, count)
    figures = [(f"{engine}: trigger - of {count:,} alerts (s)", round(wall, 2)),
               (f"{engine}:   alerts per second", round(count / wall))]
    for by_key, what in ((True, "own keys"), (False, "shared keys")):
        db = engines.new(engine, f"ingest_{engine}_{'own' if by_key else 'shared'}")
        timed(pager(db, "schedules", "apply", str(CONFIG)))
        streams = _split(alerts, by_key)
        with _LockWatch(engines.server if engine == "postgresql" else None) as watch:
            wall, _ = together([pager(db, "--now", T0, "trigger", "-") for _ in streams], streams)
        assert _tally(engines, engine, db) == (keys, keys, count), "not one incident per key, every alert once"
        figures += [(f"{engine}: {STREAMS} x trigger - at once, {what} (s)", round(wall, 2)),
                    (f"{engine}:   alerts per second", round(count / wall)),
                    *([(f"{engine}:   samples of a transaction waiting for a lock", watch.waiting()),
                       (f"{engine}:   deadlocks the server broke", _deadlocks(engines, db))]
                      if engine == "postgresql" else [])]
    return figures


def _deadlocks(engines: Engines, db: str) -> int:
    """`pg_stat_database.deadlocks` of `db`, once the backends of its runs are gone
    (a backend hands in its statistics as it exits)."""
    import psycopg

    with psycopg.connect(engines.server.url(db.rsplit("/", 1)[1]), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pager'").fetchone()[0]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


def escalate(engines: Engines, engine: str, due: int, work: Path) -> list[tuple]:
    base = engines.new(engine, f"due_{engine}")
    timed(pager(base, "schedules", "apply", str(CONFIG)))
    _alerts_distinct = work / f"due-{due}.ndjson"
    with open(_alerts_distinct, "w") as f:
        for i in range(due):
            f.write(json.dumps({"service": "payments", "title": f"host {i} down", "dedup_key": f"h{i}"}) + "\n")
    timed(pager(base, "--now", T0, "trigger", "-"), stdin=_alerts_distinct)
    one_db = engines.copy(engine, base, f"one_{engine}")
    three_db = engines.copy(engine, base, f"three_{engine}")
    cpu0 = _children_cpu()
    one, out = timed(pager(one_db, "--now", DUE_AT, "--json", "escalate-check"))
    cpu1 = _children_cpu()
    with _LockWatch(engines.server if engine == "postgresql" else None) as watch:
        three, outs = together([pager(three_db, "--now", DUE_AT, "--json", "escalate-check") for _ in range(3)])
    cpu3 = _children_cpu()
    for text in (out, b"".join(outs)):
        events = [json.loads(line) for line in text.splitlines()]
        escalated = [e["incident"] for e in events if e["event"] == "escalated"]
        assert sorted(escalated) == list(range(1, due + 1)), f"{len(escalated)} escalations, not {due} once each"
    shares = [sum(1 for line in o.splitlines() if b'"escalated"' in line) for o in outs]
    return [(f"{engine}: escalate-check, {due:,} due, one checker (s)", round(one, 2)),
            (f"{engine}: escalate-check, {due:,} due, three at once (s)", round(three, 2)),
            (f"{engine}:   three / one", round(three / one, 2)),
            (f"{engine}:   checkers' CPU time, one / three together (s)", f"{cpu1 - cpu0:.1f} / {cpu3 - cpu1:.1f}"),
            (f"{engine}:   escalations each of the three did", "/".join(map(str, shares))),
            *([(f"{engine}:   three at once: checkers' time waiting for a lock (%)", watch.waiting())]
              if engine == "postgresql" else [])]


class _LockWatch:
    """While the three checkers run: samples pg_stat_activity every 10 ms and
    counts, of the samples of a pager connection inside a transaction, those
    waiting for a lock (the write lock, a row): how much the checkers queued."""

    def __init__(self, server: Server | None):
        self.server, self.busy, self.locked = server, 0, 0

    def __enter__(self) -> _LockWatch:
        import threading

        self.stop = threading.Event()
        if self.server is not None:
            self.thread = threading.Thread(target=self._sample, daemon=True)
            self.thread.start()
        return self

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.server.url("postgres"), autocommit=True) as conn:
            while not self.stop.is_set():
                for state, wait in conn.execute(
                        "SELECT state, wait_event_type FROM pg_stat_activity WHERE application_name = 'pager' "
                        "AND state IN ('active', 'idle in transaction')"):
                    self.busy += 1
                    self.locked += wait == "Lock"
                time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.server is not None:
            self.thread.join()

    def waiting(self) -> str:
        return f"{100 * self.locked / max(1, self.busy):.1f} of {self.busy} samples"


def _pg_metrics_database(engines: Engines, incidents: int) -> str:
    """bench_metrics' mix, COPYed into a PostgreSQL database."""
    from pager_cli.store import tables as m
    from pager_cli.store.db import open_database

    url = engines.new("postgresql", "metrics_pg")
    open_database(url).close()
    import psycopg

    rng = random.Random(20261123)
    inc_cols = [c.name for c in m.Incident.__table__.columns]
    page_cols = [c.name for c in m.Page.__table__.columns]
    with psycopg.connect(engines.server.url("metrics_pg")) as conn:
        for first in range(1, incidents + 1, bench_metrics.BATCH):
            rows, pages = bench_metrics._rows(rng, first, min(bench_metrics.BATCH, incidents + 1 - first), incidents)
            with conn.cursor().copy(f"COPY incident ({', '.join(inc_cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row.get(c) for c in inc_cols])
            if pages:
                given = [c for c in page_cols if c in pages[0]]  # the ids are the sequence's
                cols = ", ".join(f'"{c}"' for c in given)
                with conn.cursor().copy(f"COPY page ({cols}) FROM STDIN") as copy:
                    for row in pages:
                        copy.write_row([row.get(c) for c in given])
        conn.execute("SELECT setval(pg_get_serial_sequence('incident', 'id'), (SELECT max(id) FROM incident))")
        conn.execute("SELECT setval(pg_get_serial_sequence('page', 'id'), (SELECT max(id) FROM page))")
        conn.commit()
    with psycopg.connect(engines.server.url("metrics_pg"), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return url


def metrics(engines: Engines, engine: str, incidents: int, repeat: int = 3) -> list[tuple]:
    if engine == "sqlite":
        db = str(bench_metrics.ensure(incidents, log=lambda t: print(t, file=sys.stderr)))
    else:
        db = _pg_metrics_database(engines, incidents)
    now = bench_metrics.NOW.isoformat()
    cmd = pager(db, "--now", now, "metrics", "--json")
    empty = [*cmd, "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-01T00:01:00Z"]
    startup, runs = [], []
    for _ in range(repeat):
        startup.append(timed(empty)[0])
        runs.append(timed(cmd)[0])
    s, r = sorted(startup)[len(startup) // 2], sorted(runs)[len(runs) // 2]
    return [(f"{engine}: metrics --json over {incidents:,} incidents (s)", round(r, 2)),
            (f"{engine}:   beyond the start-up (s)", round(r - s, 2))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="ingest,escalate,metrics")
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    alerts_n, due, incidents = (10_000, 1_000, 100_000) if args.quick else (100_000, 10_000, 1_000_000)
    only = set(args.only.split(","))
    work = Path(tempfile.mkdtemp(prefix="pager-bench-"))
    server = Server().start()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    try:
        engines = Engines(server, work)
        alerts = _alerts(work / "alerts.ndjson", alerts_n, alerts_n // 5)
        for engine in args.engines.split(","):
            for part in ("ingest", "escalate", "metrics"):
                if part not in only:
                    continue
                if part == "ingest":
                    figures = ingest(engines, engine, alerts, alerts_n)
                elif part == "escalate":
                    figures = escalate(engines, engine, due, work)
                else:
                    figures = metrics(engines, engine, incidents)
                for name, value in figures:  # each part's as soon as it is measured
                    print(f"{name:<62} {value}", flush=True)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
        print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
