"""The machine misbehaves: a database folder nobody can write into, a database
file that is read-only, a disk that fills up mid-stream, and another process
holding the write lock past the busy timeout.

Each is one clear line on stderr (`Error: …`, exit 1), never a traceback, and
leaves the database as it was: `PRAGMA integrity_check` is "ok", everything
reported done is there, and the next run works once the fault is gone.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from reliability_kit import (CONFIG_YAML, T0, assert_no_traceback, assert_one_line_error, config_dump, copy_db,
                             integrity, make_read_only, make_template, query, read_only_file, read_only_folder, remount,
                             run, run_all, tmpfs)
from reliability_kit import big_config as make_big_config

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

RECORDS = "".join(json.dumps({"service": "hostile", "title": f"alert {i}"}) + "\n" for i in range(5))
WRITERS = [  # and `schedules apply`, below: each kind of write a user or cron does
    ["--now", T0, "trigger", "-"],
    ["--now", "2026-11-23T12:00:00Z", "escalate-check"],
    ["--now", T0, "ack", "1"],
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The config applied and one incident open (#1), so every writer has work."""
    path = make_template(tmp_path_factory.mktemp("faults-template"))
    opened = run(["--now", T0, "trigger", "--service", "hostile", "incident one"], path)
    assert opened.code == 0, opened
    con = sqlite3.connect(str(path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


def _state(db: Path) -> tuple:
    """What must not change when a write fails."""
    return (config_dump(db), query(db, "SELECT * FROM incident ORDER BY id"), query(db, "SELECT * FROM timeline ORDER BY id"),
            query(db, "SELECT * FROM page ORDER BY id"))


def _writers(db: Path, config: Path) -> list[dict]:
    calls = [{"args": args, "db": db, "input": RECORDS if args[-1] == "-" else None} for args in WRITERS]
    calls.append({"args": ["--now", T0, "schedules", "apply", config], "db": db})
    return calls


def _config(tmp_path: Path) -> Path:
    """A valid config that differs from the template's (a new user)."""
    path = tmp_path / "changed.yaml"
    path.write_text(CONFIG_YAML.replace("users:\n", "users:\n  zoe: {name: Zoe Zed}\n"))
    return path


def test_database_folder_not_writable(template, tmp_path):
    config = _config(tmp_path)
    with read_only_folder(tmp_path / "ro") as folder:
        existing = copy_db(template, folder / "pager.db")
        make_read_only(folder)
        missing = run(["list"], folder / "new.db")
        line = assert_one_line_error(missing, 1, "cannot create database")
        assert "hint:" in line
        assert not (folder / "new.db").exists()
        for proc in run_all(_writers(existing, config)):
            assert_one_line_error(proc, 1, "read-only")
        assert integrity(existing, immutable=True) == "ok"
        # nothing could have changed on a read-only file system; the copy still matches the template
        assert existing.read_bytes() == template.read_bytes()


def test_database_file_read_only(template, tmp_path):
    db = copy_db(template, tmp_path / "pager.db")
    before = _state(db)
    config = _config(tmp_path)
    with read_only_file(db):
        procs = run_all(_writers(db, config) + [{"args": ["--now", T0, "list", "--json"], "db": db}])
        for proc in procs[:-1]:
            assert_one_line_error(proc, 1, "read-only")
        reader = procs[-1]
        assert reader.code == 0, reader  # reading a read-only database works
        assert [d["id"] for d in json.loads(reader.out)] == [1]
    assert integrity(db) == "ok"
    assert _state(db) == before
    # and once it is writable again, the next run works
    assert run(["--now", T0, "ack", "1"], db).code == 0


def test_disk_full_mid_stream_is_one_clear_error_and_loses_nothing_reported(template, tmp_path):
    with tmpfs(tmp_path / "tiny", size="1m") as folder:
        db = copy_db(template, folder / "pager.db")
        config_before = config_dump(db)
        filler = "".join(
            json.dumps({"service": "hostile", "title": f"filler {i} " + "x" * 900, "dedup_key": f"fill-{i}",
                        "details": {"pad": "y" * 1500}}) + "\n"
            for i in range(3000)
        )
        proc = run(["--now", T0, "trigger", "-", "--json", "--batch-size", "20"], db, input=filler)
        assert_no_traceback(proc)
        assert proc.code == 1, proc
        problems = [line for line in proc.stderr.splitlines() if not line.startswith("PAGE ")]
        assert len(problems) == 1 and problems[0].startswith("Error: ") and "full" in problems[0], proc
        reported = [json.loads(line) for line in proc.lines()]
        assert 0 < len(reported) < 3000, "the disk never filled up"
        assert all(d["action"] == "created" for d in reported)
        assert integrity(db) == "ok"
        stored = dict(query(db, "SELECT id, dedup_key FROM incident"))
        for d in reported:
            assert stored.get(d["incident"]) == d["dedup_key"], d
        # other writers on the full disk: the same clear error, nothing half-written
        big_config = tmp_path / "big.yaml"
        big_config.write_text(make_big_config(0))
        applied = False
        for proc in run_all([{"args": ["--now", T0, "schedules", "apply", big_config], "db": db},
                             {"args": ["--now", "2026-11-23T12:00:00Z", "escalate-check"], "db": db}]):
            assert_no_traceback(proc)
            if proc.code:  # either may still find room (SQLite reuses a checkpointed WAL's space)
                assert_one_line_error(proc, 1, "full")
            elif "apply" in proc.args:
                applied = True
        # all or nothing: the old config, or the whole new one
        assert (config_dump(db) != config_before) == applied
        assert integrity(db) == "ok"
        # room again: the next run carries on
        remount(folder, "size=16m")
        if applied:  # back to the config the stream's service is in
            small = tmp_path / "small.yaml"
            small.write_text(CONFIG_YAML)
            assert run(["--now", T0, "schedules", "apply", small], db).code == 0
        again = run(["--now", T0, "trigger", "-", "--json"], db, input=filler.splitlines(True)[-1])
        assert again.code == 0, again
        assert integrity(db) == "ok"
        assert len(query(db, "SELECT id FROM incident")) >= len(reported) + 2


@pytest.fixture
def lock_holder(template, tmp_path):
    """A database whose write lock another process holds (BEGIN IMMEDIATE) for 60 s."""
    db = copy_db(template, tmp_path / "locked.db")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
         "c.execute('PRAGMA journal_mode=WAL')\n"
         "c.execute('BEGIN IMMEDIATE')\n"
         "c.execute(\"INSERT INTO setting (key, value) VALUES ('held', 'yes')\")\n"
         "print('locked', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"locked"
        yield db
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_held_past_the_busy_timeout_is_one_clear_error(lock_holder, tmp_path):
    db = lock_holder
    before = _state(db)
    calls = _writers(db, _config(tmp_path))
    for call in calls:
        call["env"] = {"PAGER_BUSY_TIMEOUT": "0.5"}
    for proc in run_all(calls):
        line = assert_one_line_error(proc, 1, "locked")
        assert "PAGER_BUSY_TIMEOUT" in line  # the hint says what to raise
        assert proc.seconds < 30, proc  # the timeout was honoured, not the default 30 s
    assert _state(db) == before


def test_readers_are_not_blocked_by_a_held_write_lock(lock_holder):
    proc = run(["--now", T0, "list", "--json"], lock_holder, env={"PAGER_BUSY_TIMEOUT": "0.5"})
    assert_no_traceback(proc)
    assert proc.code == 0, proc
    assert [d["id"] for d in json.loads(proc.out)] == [1]


def test_after_the_lock_is_released_nothing_is_damaged_and_writes_work(template, tmp_path):
    db = copy_db(template, tmp_path / "released.db")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE')\n"
         "print('locked', flush=True)\n"
         "sys.stdin.readline()\n"
         "c.execute('ROLLBACK')\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"locked"
        failed = run(["--now", T0, "trigger", "-"], db, input=RECORDS, env={"PAGER_BUSY_TIMEOUT": "0.5"})
        assert_one_line_error(failed, 1, "locked")
    finally:
        holder.communicate(b"\n", timeout=30)
    assert integrity(db) == "ok"
    assert query(db, "SELECT COUNT(*) FROM incident") == [(1,)]
    done = run(["--now", T0, "trigger", "-", "--json"], db, input=RECORDS, env={"PAGER_BUSY_TIMEOUT": "0.5"})
    assert done.code == 0, done
    assert len(done.lines()) == 5
    assert query(db, "SELECT COUNT(*) FROM incident") == [(6,)]


def test_a_bad_busy_timeout_setting_is_a_usage_error(template, tmp_path):
    db = copy_db(template, tmp_path / "setting.db")
    proc = run(["list"], db, env={"PAGER_BUSY_TIMEOUT": "soon"})
    assert_one_line_error(proc, 2, "PAGER_BUSY_TIMEOUT")


@pytest.mark.parametrize("args", [["list"], ["watch", "--once"]], ids=["list", "watch"])
def test_a_hostile_columns_value_is_ignored(cli, db_path, template, args):
    copy_db(template, db_path)
    result = cli("--now", T0, *args, env={"COLUMNS": "²", "LINES": "①"})
    assert result.code == 0, result
