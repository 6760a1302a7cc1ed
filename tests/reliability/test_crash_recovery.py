"""SIGKILL at random (seeded) moments, then look at what is left.

Three chains run side by side, each on its own database file:

- `trigger -` fed by a writer thread, with --json, killed mid-stream: every
  record reported created/deduplicated must be in the database, alert counts
  must add up to at least what was reported, and a clean run afterwards works;
- `escalate-check` over a few hundred due incidents, its --now moving on, killed
  mid-work: no page is ever recorded or printed twice, and a clean run finishes
  every escalation exactly as an uninterrupted one would have;
- `schedules apply`, alternating two different valid configs, killed mid-apply:
  the config tables hold exactly one of the two configs (compared with a clean
  apply of each in a scratch database), never a mix.

After every kill the file passes `PRAGMA integrity_check`.
"""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from reliability_kit import (LONG_POLICY_STEPS, T0, Collector, Ledger, assert_no_traceback, big_config, config_dump,
                             copy_db, integrity, kill, make_template, page_lines, query, run, start, wait_for_writer)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

SEED = 20261123
TRIGGER_KILLS = 8
ESCALATE_KILLS = 6
APPLY_KILLS = 8
DUE_INCIDENTS = 300  # two batches of the engine (200 + 100)
BIG = {"users": 300, "schedules": 100, "policies": 50, "services": 125}  # an apply long enough to be hit inside
START = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
HOT_KEYS = 8


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Chain:
    """What one chain of kills did."""

    db: Path
    kills: int = 0
    attempts: int = 0
    integrity: list[str] = field(default_factory=list)  # after each kill
    printed: list[tuple[str, int]] = field(default_factory=list)  # PAGE lines seen, killed runs included
    notes: dict = field(default_factory=dict)


def _json_lines(data: bytes) -> list[dict]:
    """The complete NDJSON lines of a killed process's stdout (a torn last line is not a report)."""
    complete = data[: data.rfind(b"\n") + 1]
    return [json.loads(line) for line in complete.splitlines()]


# -- trigger - ----------------------------------------------------------------------

def trigger_chain(db: Path, rng: random.Random) -> tuple[Chain, Ledger]:
    chain, ledger = Chain(db), Ledger()
    args = ["--now", T0, "trigger", "-", "--json", "--service", "crash", "--batch-size", "10"]
    for n in range(TRIGGER_KILLS):
        writer_rng = random.Random(rng.random())
        proc = start(args, db, stdin=subprocess.PIPE)
        out, err = Collector(proc.stdout), Collector(proc.stderr)
        out.start(), err.start()
        keys: dict[int, str] = {}

        def write(proc=proc, keys=keys, writer_rng=writer_rng, n=n) -> None:
            try:
                for i in range(1, 50_000):
                    hot = writer_rng.random() < 0.5
                    key = f"hot-{writer_rng.randrange(HOT_KEYS)}" if hot else f"cold-{n}-{i}"
                    keys[i] = key
                    proc.stdin.write(json.dumps({"title": f"crash {n} record {i}", "dedup_key": key}).encode() + b"\n")
                    if i % 10 == 0:
                        proc.stdin.flush()
                        time.sleep(0.004)
            except (BrokenPipeError, OSError, ValueError):
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        if n % 3 == 2:  # anywhere, start-up included
            time.sleep(rng.uniform(0.2, 2.5))
        else:  # in the middle of the stream, once something was reported
            out.first.wait(60)
            time.sleep(rng.uniform(0.0, 0.6))
        chain.attempts += 1
        killed = kill(proc)
        writer.join(30)
        out.join(30), err.join(30)
        assert killed, f"the stream ended by itself ({proc.returncode}): {err.data()[-2000:]!r}"
        chain.kills += 1
        for doc in _json_lines(out.data()):
            key = keys[doc["record"]]
            assert doc["dedup_key"] == key and doc["error"] is None, doc
            if doc["action"] in ("created", "deduplicated"):
                ledger.report(key, doc["incident"])
        for i in range(1, len(keys) + 1):
            ledger.send(keys[i])
        chain.printed += page_lines(err.data())
        chain.integrity.append(integrity(db))

    # the next run carries on: a clean stream, to the end
    records = [{"title": f"after the crashes {i}", "dedup_key": f"hot-{i % HOT_KEYS}" if i % 2 else f"fresh-{i}"}
               for i in range(100)]
    clean = run(args, db, input="".join(json.dumps(r) + "\n" for r in records))
    assert_no_traceback(clean)
    assert clean.code == 0, clean
    docs = _json_lines(clean.out)
    assert [d["record"] for d in docs] == list(range(1, 101)), clean
    for doc, record in zip(docs, records):
        assert doc["action"] in ("created", "deduplicated") and doc["dedup_key"] == record["dedup_key"]
        ledger.send(record["dedup_key"])
        ledger.report(record["dedup_key"], doc["incident"])
    chain.printed += page_lines(clean.err)
    return chain, ledger


# -- escalate-check -----------------------------------------------------------------

def escalate_chain(db: Path, rng: random.Random) -> Chain:
    chain = Chain(db)
    records = "".join(json.dumps({"title": f"due {i}", "dedup_key": f"due-{i}"}) + "\n" for i in range(DUE_INCIDENTS))
    setup = run(["--now", T0, "trigger", "-", "--service", "crash"], db, input=records)
    assert setup.code == 0, setup
    chain.printed += page_lines(setup.out)
    # The kill moments are fractions of how long one uninterrupted run (one
    # step of every incident) takes on this machine, measured on a copy, so they
    # land inside the run on a fast machine as on a slow one.
    took = run(["--now", at(65), "escalate-check"], copy_db(db, db.with_name("escalate-probe.db"))).seconds
    # the long policy steps every minute, more steps than attempts: each
    # attempt's clock is a minute later, so every attempt has a step to do
    step = 0
    while chain.kills < ESCALATE_KILLS and chain.attempts < 3 * ESCALATE_KILLS:
        step += 1
        args = ["--now", at(60 * step + 5), "escalate-check"]
        proc = start(args, db)
        out, err = Collector(proc.stdout), Collector(proc.stderr)
        out.start(), err.start()
        if chain.attempts % 3 == 0:  # anywhere, start-up included
            time.sleep(rng.uniform(0.05, 0.95) * took)
        elif chain.attempts % 3 == 1:  # inside the first batch's transaction
            wait_for_writer(db, proc)
            time.sleep(rng.uniform(0.0, 0.1) * took)
        else:  # after the first batch was committed and printed, in the second
            out.first.wait(60)
            time.sleep(rng.uniform(0.0, 0.1) * took)
        chain.attempts += 1
        killed = kill(proc)
        chain.kills += killed
        out.join(30), err.join(30)
        assert b"Traceback" not in err.data(), err.data()
        assert killed or proc.returncode == 0, err.data()[-2000:]
        chain.printed += page_lines(out.data())
        chain.integrity.append(integrity(db))
    # the next run carries on and finishes everything, exactly once
    final = run(["--now", at(60 * LONG_POLICY_STEPS + 3600), "escalate-check"], db)
    assert_no_traceback(final)
    assert final.code == 0, final
    chain.printed += page_lines(final.out)
    again = run(["--now", at(60 * LONG_POLICY_STEPS + 3600), "escalate-check"], db)
    assert again.code == 0 and again.out == b"", again
    return chain


# -- schedules apply ----------------------------------------------------------------

def apply_chain(db: Path, scratch: Path, template: Path, rng: random.Random) -> Chain:
    chain = Chain(db)
    files = []
    for variant in (0, 1):
        path = scratch / f"config-{variant}.yaml"
        path.write_text(big_config(variant, **BIG))
        files.append(path)
    # what each config looks like after a clean apply, in scratch databases
    dumps = []
    for variant, path in enumerate(files):
        clean_db = copy_db(template, scratch / f"clean-{variant}.db")
        done = run(["--now", T0, "schedules", "apply", path], clean_db)
        assert done.code == 0, done
        dumps.append(config_dump(clean_db))
    took = done.seconds  # one uninterrupted apply here: the kill moments are fractions of it
    assert dumps[0] != dumps[1]
    first = run(["--now", T0, "schedules", "apply", files[0]], db)
    assert first.code == 0, first
    assert config_dump(db) == dumps[0]
    seen = []
    while chain.kills < APPLY_KILLS and chain.attempts < 3 * APPLY_KILLS:
        variant = (chain.attempts + 1) % 2
        args = ["--now", T0, "schedules", "apply", files[variant]]
        proc = start(args, db)
        out, err = Collector(proc.stdout), Collector(proc.stderr)
        out.start(), err.start()
        writing = False
        if chain.attempts % 4 == 3:  # anywhere, start-up and validation included
            time.sleep(rng.uniform(0.05, 0.95) * took)
        elif wait_for_writer(db, proc):  # inside the apply's transaction
            writing = True
            time.sleep(rng.uniform(0.0, 0.05) * took)
        chain.attempts += 1
        killed = kill(proc)
        chain.kills += killed
        previous = seen[-1] if seen else 0
        out.join(30), err.join(30)
        assert b"Traceback" not in err.data(), err.data()
        if not killed:
            assert proc.returncode == 0, err.data()
        chain.integrity.append(integrity(db))
        dump = config_dump(db)
        assert dump in dumps, f"after kill {chain.kills}: the config tables hold a mix of the two configs"
        seen.append(dumps.index(dump))
        if killed and writing and seen[-1] == previous:
            chain.notes["rolled back"] = chain.notes.get("rolled back", 0) + 1
    chain.notes["configs seen after each kill"] = seen
    # the next run carries on: a clean apply lands, and a second one changes nothing
    final = run(["--now", T0, "schedules", "apply", files[1]], db)
    assert final.code == 0, final
    assert config_dump(db) == dumps[1]
    again = run(["--now", T0, "schedules", "apply", files[1]], db)
    assert again.code == 0 and again.stdout.strip() == "nothing changed", again
    return chain


# -- the run and its checks ---------------------------------------------------------

@pytest.fixture(scope="module")
def crashes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crashes")
    template = make_template(folder / "template")
    rng = random.Random(SEED)
    seeds = [rng.random() for _ in range(3)]
    with ThreadPoolExecutor(max_workers=3) as pool:
        triggers = pool.submit(trigger_chain, copy_db(template, folder / "trigger.db"), random.Random(seeds[0]))
        escalations = pool.submit(escalate_chain, copy_db(template, folder / "escalate.db"), random.Random(seeds[1]))
        applies = pool.submit(apply_chain, copy_db(template, folder / "apply.db"), folder, template,
                              random.Random(seeds[2]))
        return {"trigger": triggers.result(), "escalate": escalations.result(), "apply": applies.result()}


def test_at_least_twenty_kills_and_the_file_is_always_intact(crashes):
    chains = [crashes["trigger"][0], crashes["escalate"], crashes["apply"]]
    assert sum(c.kills for c in chains) >= 20, [(c.kills, c.attempts) for c in chains]
    for chain in chains:
        assert chain.integrity and set(chain.integrity) == {"ok"}, chain.integrity
        assert integrity(chain.db) == "ok"


def test_nothing_reported_done_by_a_killed_stream_is_missing(crashes):
    chain, ledger = crashes["trigger"]
    assert chain.kills == TRIGGER_KILLS
    assert sum(ledger.reported.values()) > 100  # the kills landed mid-stream, after reports
    stored = {incident: (key, count) for incident, key, count in
              query(chain.db, "SELECT id, dedup_key, alert_count FROM incident")}
    for incident, key in ledger.incidents.items():
        assert incident in stored and stored[incident][0] == key, (incident, key)
    counts = Counter()
    for key, count in stored.values():
        counts[key] += count
    for key, reported in ledger.reported.items():
        assert reported <= counts[key] <= ledger.sent[key], (key, reported, counts[key], ledger.sent[key])
    assert query(chain.db, "SELECT dedup_key FROM incident GROUP BY dedup_key HAVING COUNT(*) > 1") == []
    # the alert entries were committed with their counts
    for incident, alerts in query(chain.db, "SELECT i.id, i.alert_count - COUNT(t.id) FROM incident i LEFT JOIN "
                                            "timeline t ON t.incident_id = i.id AND t.kind = 'alert' GROUP BY i.id"):
        assert alerts == 1, incident


def test_a_killed_stream_never_pages_twice(crashes):
    chain, _ = crashes["trigger"]
    rows = query(chain.db, "SELECT user, incident_id, step FROM page")
    assert len(rows) == len(set(rows))
    per_incident = Counter(incident for _, incident, _ in rows)
    assert set(per_incident.values()) == {1}  # level 0, once, for each incident opened
    assert query(chain.db, "SELECT COUNT(*) FROM incident")[0][0] == len(per_incident)
    printed = Counter(chain.printed)
    assert max(printed.values()) == 1
    assert printed - Counter((user, incident) for user, incident, _ in rows) == Counter()


def test_killed_escalate_checks_never_page_twice_and_the_next_run_finishes(crashes):
    chain = crashes["escalate"]
    assert chain.kills == ESCALATE_KILLS
    incidents = query(chain.db, "SELECT id, status, escalation_step, next_escalation_at FROM incident")
    assert len(incidents) == DUE_INCIDENTS
    last = LONG_POLICY_STEPS - 1
    assert all(row[1:] == ("triggered", last, None) for row in incidents), incidents[:3]
    kinds = Counter(query(chain.db, "SELECT incident_id, kind FROM timeline WHERE kind IN ('escalated', 'exhausted')"))
    for incident, *_ in incidents:
        assert kinds[(incident, "escalated")] == last and kinds[(incident, "exhausted")] == 1, incident
    rows = query(chain.db, "SELECT incident_id, step, user FROM page")
    assert len(rows) == len(set(rows))
    expected = Counter()
    for incident, *_ in incidents:
        for step in range(LONG_POLICY_STEPS):
            for user in (["alice"] if step % 2 == 0 else ["grace", "heidi"]):
                expected[(incident, step, user)] += 1
    assert Counter(rows) == expected
    printed = Counter(chain.printed)
    recorded = Counter((user, incident) for incident, _, user in rows)
    assert printed - recorded == Counter(), "a page was printed more often than it was recorded"
    assert sum(printed.values()) > DUE_INCIDENTS


def test_a_killed_apply_leaves_one_whole_config(crashes):
    chain = crashes["apply"]
    assert chain.kills == APPLY_KILLS, (chain.kills, chain.attempts)
    assert len(chain.notes["configs seen after each kill"]) == chain.attempts
    # some kills hit an apply in the middle of its transaction, and it rolled back whole
    assert chain.notes.get("rolled back", 0) >= 1, chain.notes
