"""Benchmark: `pager trigger -` over a stream of generic NDJSON alerts.

Generates the streams once in `bench/.cache/` (100,000 alerts on 1,000 dedup
keys, and 1,000,000 on the same keys), then runs `python -m pager_cli trigger -`
as a real process, stdin from the file and stdout to /dev/null, on a fresh
database with a small config applied, and compares it with a reference: the
same dedup-or-insert work written directly against Python's `sqlite3` on the
same schema (created by pager's own `open_database`, through `schedules
apply`). Per batch of 500 the reference runs one SELECT of the open keys, an
UPDATE of `alert_count` and `last_alert_at` per touched incident
(executemany), an INSERT per new incident, and one executemany INSERT of the
timeline rows, in a BEGIN IMMEDIATE transaction.

The reference pages nobody, so the headline figure uses a service without an
escalation policy: both sides do the same work. A second figure uses a service
with one, where pager also assigns and pages each of the 1,000 new incidents
through the code of `pager trigger`.

    python bench/bench_ingest.py              # one line per figure
    python bench/bench_ingest.py --quick      # 20k and 100k streams, one run each
    python bench/bench_ingest.py --profile    # cProfile of pager on the 100k stream (--paged: with paging)

Times are wall clock, medians of interleaved runs (bench/common.py), each run
on a fresh database; CPU time (user + system) is shown too, as it varies less
on a busy machine. Every run is checked: each alert counted once, one timeline
row each. Targets: pager within 2x the reference on both streams; peak RSS
under 150 MB on the 1M stream (the 100k stream's is shown beside it: flat).
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

KEYS = 1_000
SMALL, LARGE = 100_000, 1_000_000
QUICK_SMALL, QUICK_LARGE = 20_000, 100_000
BATCH = 500
GENERATOR = 2  # bump when the streams below change

CONFIG = """\
timezone: UTC
users:
  alice: {name: Alice Adams}
  bob: {name: Bob Brown}
schedules:
  primary:
    timezone: UTC
    layers:
      - {name: daily, rotation: daily, start: 2026-11-01T09:00, users: [alice, bob]}
escalation_policies:
  main:
    levels:
      - {targets: [schedule:primary], delay: 5m}
services:
  app: {}                             # no policy: the reference's work
  paged: {escalation_policy: main}    # each new incident assigned and paged
"""


def stream_path(records: int, service: str = "app") -> Path:
    return common.CACHE / f"ingest-{service}-{records}-keys{KEYS}-gen{GENERATOR}.ndjson"


def generate(records: int, service: str = "app") -> Path:
    """The NDJSON stream of `records` alerts for `service` on KEYS keys (cached)."""

    def build(partial: Path) -> None:
        rng = random.Random(records)
        severities = ("critical", "error", "warning", "info")
        with partial.open("w") as out:
            for _ in range(records):
                k = rng.randrange(KEYS)
                out.write(json.dumps({"service": service, "title": f"disk almost full on host-{k:04d}",
                                      "severity": severities[k % 4], "dedup_key": f"disk:host-{k:04d}",
                                      "details": {"host": f"host-{k:04d}", "used": rng.randrange(90, 100)}}) + "\n")

    return common.cached(stream_path(records, service), build)


def fresh_database(path: Path) -> Path:
    """A new database at `path` with the bench config applied."""
    common.remove_database(path)
    config = common.CACHE / "ingest-config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    if not config.exists() or config.read_text() != CONFIG:
        config.write_text(CONFIG)
    common.apply_config(path, config)
    return path


# --------------------------------------------------------------------------
# The reference: the same work with sqlite3 and nothing else.


def _stamp(value: datetime) -> str:
    """An instant as the models store it (UTCDateTime on SQLite: naive UTC text)."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def reference(db_path: str, data_path: str, batch: int = BATCH) -> None:
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    insert_incident = (
        "INSERT INTO incident (service, title, severity, status, dedup_key, alert_count, assignees,"
        " escalation_policy, escalation_level, escalation_pass, escalation_step, created_at, last_alert_at,"
        " details) VALUES (?, ?, ?, 'triggered', ?, 1, '[]', NULL, 0, 0, 0, ?, ?, ?)"
    )
    with open(data_path, encoding="utf-8-sig") as lines:
        while True:
            chunk = [json.loads(line) for _, line in zip(range(batch), lines)]
            if not chunk:
                break
            now = _stamp(datetime.now(timezone.utc))
            by_service: dict[str, set[str]] = {}
            for r in chunk:
                by_service.setdefault(r["service"], set()).add(r["dedup_key"])
            conn.execute("BEGIN IMMEDIATE")
            open_ids: dict[tuple[str, str], int] = {}
            for service, keys in by_service.items():
                keys = list(keys)
                marks = ", ".join("?" * len(keys))
                rows = conn.execute(
                    f"SELECT id, dedup_key FROM incident WHERE service = ? AND dedup_key IN ({marks})"
                    " AND status IN ('triggered', 'acknowledged')", [service, *keys])
                for incident_id, key in rows:
                    open_ids[(service, key)] = incident_id
            counts: dict[int, int] = {}
            timeline = []
            for r in chunk:
                key = (r["service"], r["dedup_key"])
                incident_id = open_ids.get(key)
                if incident_id is None:
                    cur = conn.execute(insert_incident, (r["service"], r["title"], r["severity"], r["dedup_key"],
                                                         now, now, json.dumps(r.get("details") or {})))
                    open_ids[key] = cur.lastrowid
                    timeline.append((cur.lastrowid, now, "triggered", None, r["title"]))
                else:
                    counts[incident_id] = counts.get(incident_id, 0) + 1
                    timeline.append((incident_id, now, "alert", None, r["title"]))
            conn.executemany("UPDATE incident SET alert_count = alert_count + ?, last_alert_at = ? WHERE id = ?",
                             [(n, now, i) for i, n in counts.items()])
            conn.executemany("INSERT INTO timeline (incident_id, at, kind, by, text) VALUES (?, ?, ?, ?, ?)", timeline)
            conn.execute("COMMIT")
    conn.close()


# --------------------------------------------------------------------------
# Measuring.


def _check(db: Path, records: int) -> None:
    """A run must have done the whole work: every alert counted, one timeline row each."""
    conn = sqlite3.connect(db)
    try:
        incidents, alerts = conn.execute("SELECT count(*), sum(alert_count) FROM incident").fetchone()
        rows = conn.execute("SELECT count(*) FROM timeline WHERE kind IN ('alert', 'triggered')").fetchone()[0]
    finally:
        conn.close()
    assert incidents == KEYS and alerts == records and rows == records, (db, incidents, alerts, rows)


def compare(service: str, records: int, repeat: int) -> dict[str, list[common.Sample]]:
    """pager and the reference on the stream for `service`, interleaved, each
    run on a fresh database and checked after it."""
    data = generate(records, service)
    dbs = {"pager": common.CACHE / "ingest-pager.db", "reference": common.CACHE / "ingest-reference.db"}
    commands = {
        "pager": [common.python(), "-m", "pager_cli", "--db", str(dbs["pager"]), "trigger", "-"],
        "reference": [common.python(), str(Path(__file__).resolve()), "--reference", str(dbs["reference"]),
                      str(data)],
    }
    last: list[str] = []

    def before(name: str) -> dict:
        if last:  # the previous run's work, checked
            _check(dbs[last[-1]], records)
        last.append(name)
        fresh_database(dbs[name])
        return {"stdin": data} if name == "pager" else {}

    samples = common.time_commands(commands, repeat, warmup=0, before=before)
    _check(dbs[last[-1]], records)
    return samples


def run(repeat: int = 3, quick: bool = False) -> list[tuple[str, float, str]]:
    """(name, value, target) for each figure."""
    small, large = (QUICK_SMALL, QUICK_LARGE) if quick else (SMALL, LARGE)
    repeat = 1 if quick else repeat
    label, big = f"{small // 1000}k", f"{large // 1000}k" if large < 1_000_000 else f"{large // 1_000_000}M"
    med = common.median
    rows = []
    for service, title in (("app", f"ingest {label}"), ("paged", f"ingest {label} paging")):
        s = compare(service, small, repeat)
        p, r = s["pager"], s["reference"]
        if quick:  # start-up is a large share of a short stream: no target
            target = "reference (--quick)"
        elif service == "app":
            target = "<= 2.0"
        else:
            target = "reference (pages 1,000 new incidents)"
        rows += _figures(title, p, r, target)
        if service == "app":
            rows.append((f"{title}: peak RSS (MB)", round(med(p, "rss") / 1e6, 1), "reference"))
    # The large stream once each (a minute in all): the same ratio, and memory
    # that stays where the small stream's was.
    s = compare("app", large, 1)
    rows += _figures(f"ingest {big}", s["pager"], s["reference"], "reference (--quick)" if quick else "<= 2.0")
    rows.append((f"ingest {big}: peak RSS (MB)", round(med(s["pager"], "rss") / 1e6, 1), "< 150"))
    return rows


def _figures(title: str, pager: list, reference: list, target: str) -> list[tuple[str, float, str]]:
    med = common.median
    return [
        (f"{title}: pager trigger - (s)", round(med(pager), 2), "reference"),
        (f"{title}: sqlite3 reference (s)", round(med(reference), 2), "reference"),
        (f"{title}: ratio pager / reference", round(med(pager) / med(reference), 2), target),
        (f"{title}: CPU ratio pager / reference", round(med(pager, "cpu") / med(reference, "cpu"), 2), target),
    ]


def profile(service: str = "app") -> None:
    """cProfile of one pager run on the 100k stream: the top functions."""
    import pstats

    db = fresh_database(common.CACHE / "ingest-profile.db")
    out = common.CACHE / "ingest.prof"
    common.run_once([common.python(), "-m", "cProfile", "-o", str(out), "-m", "pager_cli", "--db", str(db),
                     "trigger", "-"], stdin=generate(SMALL, service))
    pstats.Stats(str(out)).sort_stats("cumulative").print_stats(30)
    pstats.Stats(str(out)).sort_stats("tottime").print_stats(25)


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--reference"]:
        reference(args[1], args[2])
        return
    common.prepare_environment()
    if "--profile" in args:
        profile("paged" if "--paged" in args else "app")
        return
    figures = run(quick="--quick" in args)
    for name, value, target in figures:
        print(f"{name:<46} {value:>10,.2f}   target: {target}")
    value = {name: v for name, v, _ in figures}
    label = f"{QUICK_SMALL // 1000}k" if "--quick" in args else f"{SMALL // 1000}k"
    print(f"ingest {label}: {value[f'ingest {label}: pager trigger - (s)']:.2f} s vs reference "
          f"{value[f'ingest {label}: sqlite3 reference (s)']:.2f} s → ratio "
          f"{value[f'ingest {label}: ratio pager / reference']:.2f} (target ≤ 2×)")
    rss = next(v for name, v, _ in figures if name.endswith("peak RSS (MB)"))
    print(f"{figures[-1][0].split(':')[0]}: peak RSS {rss:.0f} MB (target < 150 MB)")


if __name__ == "__main__":
    main()
