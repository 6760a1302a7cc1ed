"""A database file that is not what it should be: cut short at many offsets,
bytes flipped in the header and in the pages (a fixed seed, so every run sees
the same files), pages zeroed, a WAL file of garbage, values inside rows that
pager never writes (JSON that is not JSON, a time that is not a time, text that
is not UTF-8, a schema version reset), and a folder or file nobody can read.
Every command a user or cron runs answers in one of two ways: it works (exit 0)
on what is still readable, or it says so in one `Error: …` line, exit 1 —
never a traceback, never a signal, never a hang.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import pager_argv
from reliability_kit import (CONFIG_YAML, T0, TIMEOUT, Proc, assert_no_traceback, assert_one_line_error, copy_db,
                             make_template, pager_env, query, run, run_all)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

SEED = 20261123
PAGE = 4096
INCIDENTS = 40


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """The config applied and INCIDENTS incidents open with details and pages,
    checkpointed into one file of a few dozen pages."""
    folder = tmp_path_factory.mktemp("corrupt-template")
    path = make_template(folder)
    records = "".join(json.dumps({"service": "load", "title": f"disk {i} full", "dedup_key": f"k{i}",
                                  "details": {"host": f"db-{i}", "note": "x" * 300}}) + "\n"
                      for i in range(INCIDENTS))
    opened = run(["--now", T0, "trigger", "-"], path, input=records)
    assert opened.code == 0, opened
    paged = run(["--now", "2026-11-23T10:05:00Z", "escalate-check"], path)
    assert paged.code == 0, paged
    con = sqlite3.connect(str(path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    assert path.stat().st_size >= 20 * PAGE
    return path


def _truncate(offset: int):
    def corrupt(db: Path) -> None:
        data = db.read_bytes()
        db.write_bytes(data[:offset if offset >= 0 else len(data) + offset])
    return corrupt


def _flip(start: int, end: int | None, count: int, seed: int):
    """`count` random bytes in [start, end) replaced by random values."""
    def corrupt(db: Path) -> None:
        data = bytearray(db.read_bytes())
        rng = random.Random(seed)
        stop = len(data) if end is None else end
        for _ in range(count):
            data[rng.randrange(start, stop)] = rng.randrange(256)
        db.write_bytes(bytes(data))
    return corrupt


def _zero_page(number: int):
    """Page `number` (1-based; negative from the end) overwritten with zeros."""
    def corrupt(db: Path) -> None:
        data = bytearray(db.read_bytes())
        pages = len(data) // PAGE
        index = number - 1 if number > 0 else pages + number
        data[index * PAGE:(index + 1) * PAGE] = bytes(PAGE)
        db.write_bytes(bytes(data))
    return corrupt


def _garbage_wal(header: bool):
    """A WAL file beside the database: pure noise, or a WAL header with the
    right magic and page size followed by noise."""
    def corrupt(db: Path) -> None:
        rng = random.Random(SEED + header)
        noise = bytes(rng.randrange(256) for _ in range(3 * (PAGE + 24)))
        if header:
            noise = (0x377F0682).to_bytes(4, "big") + (3007000).to_bytes(4, "big") + PAGE.to_bytes(4, "big") + noise[12:]
        Path(f"{db}-wal").write_bytes(noise)
    return corrupt


def _replace(old: bytes, new: bytes):
    """Every stored `old` (text inside rows, so the file stays a valid SQLite
    file) overwritten in place by `new`, of the same length: a value that is
    no longer one pager writes."""
    assert len(old) == len(new)

    def corrupt(db: Path) -> None:
        data = db.read_bytes()
        assert old in data, old
        db.write_bytes(data.replace(old, new))
    return corrupt


def _user_version(version: int):
    """The schema version in the header (offset 60) set to `version`."""
    def corrupt(db: Path) -> None:
        data = bytearray(db.read_bytes())
        data[60:64] = version.to_bytes(4, "big", signed=True)
        db.write_bytes(bytes(data))
    return corrupt


CORRUPTIONS = {
    # the file's structure
    "empty": _truncate(0),
    "cut-in-header": _truncate(50),
    "cut-mid-first-page": _truncate(PAGE // 2),
    "cut-after-three-pages": _truncate(3 * PAGE),
    "cut-mid-file": _truncate(11 * PAGE + 1234),
    "flip-header": _flip(16, 100, 8, SEED),
    "flip-pages": _flip(PAGE, None, 200, SEED + 1),
    "zero-first-page": _zero_page(1),
    "zero-middle-page": _zero_page(8),
    "wal-of-noise": _garbage_wal(header=False),
    "wal-header-then-noise": _garbage_wal(header=True),
    # values inside rows, the file otherwise sound
    "details-not-json": _replace(b'{"host": "db-', b'{"host"; "db-'),
    "assignees-not-json": _replace(b'["grace", "heidi"]', b'["grace", "heidi"}'),
    "time-not-a-time": _replace(b"2026-11-23 10:00:00.000000", b"2026-11-23 1X:00:00.000000"),
    "title-not-utf8": _replace(b"disk 1 full", b"disk \xff full"),
    "layer-users-not-json": _replace(b'["alice", "bob"]', b'["alice", "bob"}'),
    "layer-start-not-a-time": _replace(b"2026-11-01T09:00:00", b"2026-13-01T09:00:00"),
    "schema-version-reset": _user_version(0),
}

COMMANDS = [
    ["--now", T0, "list"],
    ["--now", T0, "list", "--json"],
    ["--now", T0, "show", "1"],
    ["--now", T0, "oncall"],
    ["--now", "2026-11-23T10:30:00Z", "escalate-check"],
    ["--now", T0, "trigger", "--service", "load", "fresh alert"],
    ["--now", T0, "metrics", "--since", "2026-11-01"],
    ["--now", T0, "schedules", "apply", "CONFIG"],
]


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_every_command_on_a_corrupted_database_works_or_says_so(template, tmp_path, name):
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG_YAML)
    calls = []
    for i, args in enumerate(COMMANDS):
        db = copy_db(template, tmp_path / f"{i}" / "pager.db")
        CORRUPTIONS[name](db)
        calls.append({"args": [str(config) if a == "CONFIG" else a for a in args], "db": db})
    for proc in run_all(calls):
        assert_no_traceback(proc)
        assert b"disk space" not in proc.err, proc  # a damaged file is not a full disk
        if name == "empty" and proc.code == 3:  # an empty file is an empty database: no #1, no service in it
            assert_one_line_error(proc, 3)
            continue
        assert proc.code in (0, 1), proc
        if proc.code == 1:
            lines = proc.stderr.strip().splitlines()
            assert lines and lines[-1].startswith("Error: "), proc
            assert all(line.startswith(("Error: ", "PAGE ", "Warning: ")) for line in lines), proc


# -- files and folders that cannot be read ---------------------------------------------

def _run_unprivileged(args: list, db: Path) -> Proc:
    """`pager ARGS` unable to read what its modes forbid. Root reads everything,
    so as root the process runs without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH
    (util-linux `setpriv`); skipped, saying why, where that is impossible."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file modes cannot be enforced")
        prefix = [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", "--"]
    done = subprocess.run([*prefix, *pager_argv(*args)], capture_output=True, env=pager_env(db), timeout=TIMEOUT)
    return Proc(list(map(str, args)), done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("args", [["list"], ["--now", T0, "trigger", "--service", "load", "x"]], ids=["list", "trigger"])
def test_a_database_in_a_folder_nobody_can_read(template, tmp_path, args):
    folder = tmp_path / "locked"
    db = copy_db(template, folder / "pager.db")
    folder.chmod(0)
    try:
        proc = _run_unprivileged(args, db)
    finally:
        folder.chmod(0o700)
    line = assert_one_line_error(proc, 1, "Permission denied")
    assert str(db) in line
    assert query(db, "SELECT COUNT(*) FROM incident") == [(INCIDENTS,)]


@pytest.mark.parametrize("args", [["list"], ["--now", T0, "trigger", "--service", "load", "x"]], ids=["list", "trigger"])
def test_a_database_file_nobody_can_read_is_called_unreadable_not_read_only(template, tmp_path, args):
    db = copy_db(template, tmp_path / "pager.db")
    db.chmod(0)
    try:
        proc = _run_unprivileged(args, db)
    finally:
        db.chmod(0o600)
    line = assert_one_line_error(proc, 1, "cannot be read")
    assert "read-only" not in line
    assert query(db, "SELECT COUNT(*) FROM incident") == [(INCIDENTS,)]
