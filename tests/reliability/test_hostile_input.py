"""Hostile input: every file of `corpus/stdin/` fed to `pager trigger -` and
big inputs generated here (10 MB lines), through real processes; hostile
times and numbers in the command-line options, in process through the CLI
runner with a sample (and the one case that could hang) as real processes.

The answer to each is a clear error (exit 1 or 2, `Error: …` on stderr, with
`record N` for a bad record) or the data stored literally (the title in the
database equals the input exactly) — never a traceback, never a hang, and
memory stays bounded whatever the size of the input.

Corpus files are named for what they must do: every record of an `error-*`
file is refused (exit 1; in `.ndjson` files each line is a record of its own,
and the line after a bad one is still read), a `mixed-*` file holds bad and
good records, and every record of a `stored-*` file is stored literally (exit
0). `.txt` files are plain-text lines.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reliability_kit import (CORPUS, T0, assert_no_traceback, copy_db, make_template, query, run,
                             run_all)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

STDIN_CORPUS = sorted((CORPUS / "stdin").iterdir())
TRIGGER = ["--now", T0, "trigger", "-", "--json", "--service", "hostile"]
MIB = 1024 * 1024
MAX_RSS_KB = 200 * 1024
_STDERR_LINE = re.compile(r"^(Error: record \d+ \(line \d+\): |Warning: record \d+ \(line \d+\): |PAGE )")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("hostile-template"))


@pytest.fixture(scope="module")
def corpus_runs(template, tmp_path_factory):
    """Each `error-*` and `mixed-*` file through `trigger -` into its own copy
    of the database, a few at a time; the `stored-*` files, whose records must
    all go through, one after the other in one stream into one database.
    Returns, per file: the process, its database and the file's records."""
    folder = tmp_path_factory.mktemp("corpus")
    bad = [p for p in STDIN_CORPUS if not p.name.startswith("stored-")]
    stored = [p for p in STDIN_CORPUS if p.name.startswith("stored-")]
    dbs = [copy_db(template, folder / f"{path.name}.db") for path in bad] + [copy_db(template, folder / "stored.db")]
    inputs = [path.read_bytes() for path in bad] + [b"".join(path.read_bytes() for path in stored)]
    procs = run_all([{"args": TRIGGER, "db": db, "input": data, "timeout": 60} for db, data in zip(dbs, inputs)],
                    workers=3)
    runs = {}
    for path, proc, db in zip(bad, procs, dbs):
        runs[path.name] = (proc, db, [json.loads(line) for line in proc.lines()])
    combined, db = procs[-1], dbs[-1]
    docs = [json.loads(line) for line in combined.lines()]
    for path in stored:
        count = len(_expected(path))
        runs[path.name], docs = (combined, db, docs[:count]), docs[count:]
    assert docs == [], "more records than the stored files hold"
    return runs


def test_the_corpus_covers_every_kind_of_hostile_input():
    names = " ".join(p.name for p in STDIN_CORPUS)
    for kind in ("broken-json", "truncated", "wrong-types", "wrong-shapes", "nul", "invalid-utf8", "rich-markup",
                 "ansi-escapes", "numbers-out-of-range", "huge-numbers", "deeply-nested", "dates-alertmanager",
                 "dates-pagerduty"):
        assert kind in names, kind
    assert all(p.name.split("-")[0] in ("error", "mixed", "stored") for p in STDIN_CORPUS)
    assert all(p.stat().st_size < 64 * 1024 for p in STDIN_CORPUS)  # big inputs are generated, not checked in


def _expected(path: Path) -> list[dict]:
    """What each record of a `stored-*` file must become: its title and the
    details that must come back unchanged."""
    data = path.read_bytes()
    if path.suffix == ".txt":
        return [{"title": line.decode()} for line in data.split(b"\n") if line.strip()]
    expected = []
    for line in data.decode().split("\n"):  # not splitlines(): U+0085 and U+2028 are inside titles
        if not line:
            continue
        doc = json.loads(line)
        if doc.get("version") == "4":
            for alert in doc["alerts"]:
                details = {k: alert[k] for k in ("startsAt", "endsAt") if k in alert}
                expected.append({"title": alert["annotations"]["summary"], "details": details})
        elif "event_action" in doc:
            payload = doc["payload"]
            expected.append({"title": payload["summary"], "details": {"timestamp": payload["timestamp"]}})
        else:
            expected.append({"title": doc["title"], "details": doc.get("details", {})})
    return expected


@pytest.mark.parametrize("name", [p.name for p in STDIN_CORPUS])
def test_corpus_file_is_a_clear_error_or_stored_literally(corpus_runs, name):
    proc, db, docs = corpus_runs[name]
    assert_no_traceback(proc)
    all_docs = [json.loads(line) for line in proc.lines()]  # stdout holds nothing but NDJSON
    assert [d["record"] for d in all_docs] == list(range(1, len(all_docs) + 1)), proc
    errors = [d for d in docs if d["action"] == "error"]
    assert proc.code == (1 if any(d["action"] == "error" for d in all_docs) else 0), proc
    for line in proc.stderr.splitlines():
        assert _STDERR_LINE.match(line), f"unexpected stderr line {line!r}"
    for d in errors:
        assert d["error"] and f"Error: record {d['record']} (line " in proc.stderr, d
    if name.startswith("error-"):
        assert errors and len(errors) == len(docs), f"{name}: a bad record went through: {proc!r}"
        if name.endswith(".ndjson"):
            lines = [line for line in (CORPUS / "stdin" / name).read_bytes().split(b"\n") if line.strip()]
            assert len(docs) == len(lines), "a bad line took the next one with it"
        return
    if name.startswith("mixed-"):
        assert errors and any(d["action"] == "created" for d in docs), proc
        return
    assert not errors, proc
    expected = _expected(CORPUS / "stdin" / name)
    assert len(docs) == len(expected)
    for doc, want in zip(docs, expected):
        assert doc["action"] == "created", doc
        (title, details), = query(db, "SELECT title, details FROM incident WHERE id = ?", (doc["incident"],))
        assert title == want["title"]
        stored = json.loads(details)
        for key, value in want.get("details", {}).items():
            assert stored[key] == value, key


def test_hostile_titles_are_shown_literally_and_never_interpreted(corpus_runs):
    """All the stored titles in one database, shown by list, show and watch:
    no escape sequence, bell or C1 control reaches the terminal, markup is
    printed as typed."""
    _, db, _ = corpus_runs["stored-ansi-escapes-in-json.ndjson"]
    (wiper,), = query(db, "SELECT id FROM incident WHERE title = ?", ("\x1b[2J\x1b[H cleared the screen",))
    shown = run_all([
        {"args": ["--now", T0, "list", "--limit", "0"], "db": db},
        {"args": ["--now", T0, "watch", "--once"], "db": db},
        {"args": ["--now", T0, "show", wiper], "db": db},
    ])
    for proc in shown:
        assert_no_traceback(proc)
        assert proc.code == 0, proc
        for raw in (b"\x1b", b"\x07", b"\xc2\x9b", b"\xc2\x85", b"\x00"):
            assert raw not in proc.out + proc.err, (raw, proc)
    listing = shown[0].stdout
    assert "[bold red]DB down[/bold red]" in listing and "\\x1b[2J" in listing
    assert "\\x1b[2J\\x1b[H cleared the screen" in shown[2].stdout


# -- big inputs, generated here -----------------------------------------------------

def _measured(args: list[str], db: Path, stdin: Path, timeout: float = 90) -> tuple[subprocess.CompletedProcess, int]:
    """Run pager from a fresh helper process whose only child it is, and return
    the child's peak resident memory (KiB) from getrusage(RUSAGE_CHILDREN)."""
    helper = (
        "import resource, subprocess, sys\n"
        "with open(sys.argv[1], 'rb') as stdin:\n"
        "    p = subprocess.run(sys.argv[2:], stdin=stdin, capture_output=True)\n"
        "sys.stderr.buffer.write(p.stderr)\n"
        "sys.stdout.buffer.write(p.stdout)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(p.returncode)\n"
    )
    from reliability_kit import PAGER, pager_env

    try:
        proc = subprocess.run([sys.executable, "-c", helper, str(stdin), *PAGER, *args], capture_output=True,
                              env=pager_env(db), timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: pager {' '.join(args)} on {stdin.name} did not finish within {timeout}s")
    *err, rss = proc.stderr.decode("utf-8", "replace").rstrip("\n").split("\n")
    proc.stderr = "\n".join(err).encode()
    return proc, int(rss)


def test_a_10_mb_line_is_refused_with_bounded_memory(template, tmp_path):
    db = copy_db(template, tmp_path / "big.db")
    big = tmp_path / "ten-mb-line.ndjson"
    with big.open("wb") as f:
        f.write(b'{"title": "' + b"A" * (10 * MIB) + b'"}\n')
        f.write(b'{"title": "the record after"}\n')
    proc, rss = _measured(TRIGGER, db, big)
    assert b"Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 1, proc
    docs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["action"] for d in docs] == ["error", "created"]
    assert "larger than" in docs[0]["error"]
    assert "Error: record 1 (line 1): record larger than" in proc.stderr.decode().splitlines()[-1]
    assert rss < MAX_RSS_KB, f"pager used {rss // 1024} MB for a 10 MB line"
    assert query(db, "SELECT title FROM incident") == [("the record after",)]


def test_many_big_records_in_one_stream_keep_memory_bounded(template, tmp_path):
    """Big records of every kind, one after the other, each its own record (a
    blank line ends whatever a refused record left open)."""
    db = copy_db(template, tmp_path / "bigs.db")
    stream = tmp_path / "big-stream.txt"
    near_limit = "T" * (3 * MIB + MIB // 2)
    with stream.open("wb") as f:
        f.write(b"B" * (10 * MIB) + b"\n\n")  # a 10 MB plain-text line
        f.write(b"\x00" * (10 * MIB) + b"\n\n")  # 10 MB of NUL bytes
        f.write(b"{\n" + b"".join(b'  "k%d": "%s",\n' % (i, b"v" * 40) for i in range(200_000)) + b'  "title": "x"\n}\n\n')
        f.write(json.dumps({"title": near_limit}).encode() + b"\n\n")  # under the record limit: the title is cut
        f.write(b"\xff" * (10 * MIB) + b"\n\n")  # 10 MB of invalid UTF-8
        f.write(b"[" * (3 * MIB))  # 3 MB deep, never closed, and no newline at the end
    proc, rss = _measured(TRIGGER, db, stream)
    assert b"Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 1
    actions = [json.loads(line)["action"] for line in proc.stdout.splitlines()]
    assert actions == ["error", "error", "error", "created", "error", "error"], proc.stdout[-3000:]
    assert rss < MAX_RSS_KB, f"pager used {rss // 1024} MB for a stream of big records"
    assert query(db, "SELECT title FROM incident") == [(near_limit[:1024],)]


def test_two_long_lines_in_a_row_are_two_bad_records(template, tmp_path):
    db = copy_db(template, tmp_path / "two-long.db")
    stream = b"B" * (5 * MIB) + b"\n" + b"C" * (5 * MIB) + b"\n" + b"the line after\n"
    proc = run(TRIGGER, db, input=stream)
    assert_no_traceback(proc)
    docs = [json.loads(line) for line in proc.lines()]
    assert [d["action"] for d in docs] == ["error", "error", "created"], proc


# -- hostile times and numbers in options ---------------------------------------------

TIME_CASES = [
    pytest.param(["--now", "9999-12-31T23:58:00Z", "list"], id="now-9999-list"),
    pytest.param(["--now", "9999-12-31T23:58:00Z", "trigger", "--service", "hostile", "far future"],
                 id="now-9999-trigger"),
    pytest.param(["--now", "9999-12-31T23:58:00Z", "oncall"], id="now-9999-oncall"),
    pytest.param(["--now", "9999-12-31T20:00:00Z", "schedules", "show", "primary"], id="now-9999-schedules-show"),
    pytest.param(["--now", "9999-12-31T23:58:00Z", "watch", "--once"], id="now-9999-watch"),
    pytest.param(["--now", "9999-12-31T23:00:00Z", "oncall", "--at", "+2d"], id="now-9999-at-plus-2d"),
    pytest.param(["--now", "9999-12-31T23:58:00Z", "metrics"], id="now-9999-metrics"),
    pytest.param(["--now", "2026-11-23T10:00:00Z", "oncall", "--at", "9999-12-31T23:59:59Z"], id="at-9999"),
    pytest.param(["--now", "0001-01-01T00:00:00Z", "list", "--since", "-3650d"], id="now-0001-since-minus-10y"),
    pytest.param(["--now", "0001-01-01T00:00:00Z", "metrics"], id="now-0001-metrics"),
    pytest.param(["--tz", "Europe/Berlin", "--now", "0001-01-01T00:00", "list"], id="now-0001-in-berlin"),
    pytest.param(["--now", "0001-01-01T00:00:00Z", "trigger", "--service", "hostile", "year one"], id="now-0001-trigger"),
    pytest.param(["--now", "1969-07-20T20:17:40Z", "trigger", "--service", "hostile", "before the epoch"],
                 id="now-1969-trigger"),
    pytest.param(["--now", "2026-11-23T10:00:00Z", "oncall", "--at", "1969-07-20T20:17:40Z"], id="at-1969"),
    pytest.param(["--now", "2026-11-23T10:00:00Z", "list", "--since", "0001-01-01T00:00:00+01:00"],
                 id="since-before-year-1"),
    pytest.param(["--now", "2026-11-23T10:00:00Z", "metrics", "--since", "1969-01-01T00:00:00Z", "--until",
                  "1970-01-02T00:00:00Z"], id="metrics-around-1970"),
    pytest.param(["--now", "2026-11-23T10:00:00Z", "metrics", "--since", "0001-01-01T00:00:00Z", "--until",
                  "9999-12-31T00:00:00Z"], id="metrics-year-1-to-9999"),
    pytest.param(["--now", "2026-11-23T10:00:00Z", "schedules", "show", "primary", "--from", "9999-12-20T00:00:00Z",
                  "--to", "9999-12-31T00:00:00Z"], id="show-window-in-9999"),
    pytest.param(["--now", "2026-11-23T10:00:00Z", "schedules", "override", "primary", "--user", "alice", "--from",
                  "1960-01-01T00:00:00Z", "--to", "1969-12-31T23:59:59Z"], id="override-before-1970"),
    pytest.param(["--now", "10000-01-01T00:00:00Z", "list"], id="now-year-10000"),
    pytest.param(["--now", "+99999999999999999999d", "list"], id="now-huge-relative"),
    pytest.param(["list", "--limit", "99999999999999999999"], id="limit-beyond-int64"),
    pytest.param(["show", "99999999999999999999"], id="show-id-beyond-int64"),
    pytest.param(["trigger", "-", "--service", "hostile", "--batch-latency", "²"], id="batch-latency-digit-symbol"),
    pytest.param(["watch", "--once", "--interval", "①"], id="watch-interval-digit-symbol"),
]
# Each case runs in process (CLI runner: an exception comes out as the traceback
# a user would see) except these, run as real processes: a sample of the
# ordinary ones, and the one that hangs, which needs a timeout.
AS_PROCESSES = {"now-9999-list", "now-9999-trigger", "now-1969-trigger", "since-before-year-1",
                "metrics-year-1-to-9999"}
_TIMEOUTS = {"metrics-year-1-to-9999": 12}  # a clean run takes a few seconds


@pytest.fixture(scope="module")
def time_db(template, tmp_path_factory):
    """A database with one incident, so list, show and metrics have something to read."""
    from typer.testing import CliRunner

    from pager_cli.cli import app

    db = copy_db(template, tmp_path_factory.mktemp("times") / "pager.db")
    seeded = CliRunner().invoke(app, ["--db", str(db), "--now", T0, "trigger", "--service", "hostile", "seed"])
    assert seeded.exit_code == 0, seeded.output
    return db


@pytest.fixture(scope="module")
def time_runs(time_db):
    cases = [case for case in TIME_CASES if case.id in AS_PROCESSES]
    calls = [{"args": case.values[0], "db": time_db, "timeout": _TIMEOUTS.get(case.id, 60), "fail_on_hang": False}
             for case in cases]
    return {case.id: proc for case, proc in zip(cases, run_all(calls))}


@pytest.mark.parametrize("args", TIME_CASES)
def test_hostile_times_and_numbers_in_options(time_runs, time_db, cli, request, args):
    case = request.node.callspec.id
    if case in time_runs:
        proc = time_runs[case]
        assert_no_traceback(proc)
        code, err = proc.code, proc.stderr
    else:
        result = cli("--db", time_db, *args)
        code, err = result.code, result.err
    assert code in (0, 1, 2, 3), (code, err)
    if code:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), err
