"""What the reliability tests share: real `pager` processes (`python -m pager_cli`)
with a timeout on every one, a config applied once per module into a template
database that each test copies, and read-only looks into a database file with
plain sqlite3 (integrity, incidents, pages, a dump of the config tables).

Every helper that runs `pager` turns a timeout into a test failure that says
"hang", and keeps stdout and stderr as bytes: what a hostile input does to
them is part of what is checked.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import pager_argv, run_pager
from conftest import pager_env as child_env
from scenario import SCENARIO_YAML

PAGER = pager_argv()  # the argv prefix, for helpers that wrap pager in another process
HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
T0 = "2026-11-23T10:00:00Z"
TIMEOUT = 90.0  # seconds: no single pager process in this suite comes near it unless it hangs

# A small config: one daily rotation, a fast policy (1 minute a level) and a long
# one (twelve passes: LONG_POLICY_STEPS steps, one a minute), services for each kind of test, and a service without a
# policy. Every page is predictable: primary is alice from 2026-11-23T09:00Z to
# 2026-11-24T09:00Z (bob the day before and the day after).
LONG_POLICY_STEPS = 24
CONFIG_YAML = SCENARIO_YAML


def big_config(variant: int, users: int = 60, schedules: int = 20, policies: int = 10, services: int = 25) -> str:
    """One of two valid configs that differ in every table: users renamed,
    zones, rotations, starts and overrides moved, delays and routing keys changed."""
    zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe"]
    rotations = ["hourly", "daily", "weekly", "monthly"]
    names = [f"u{i + variant * users // 5}" for i in range(users)]
    lines = ["timezone: UTC" if variant == 0 else "timezone: Europe/Berlin", "users:"]
    lines += [f"  {n}: {{name: User {n} v{variant}, email: {n}@example.com}}" for n in names]
    lines.append("schedules:")
    for s in range(schedules):
        lines += [f"  s{s}:", f"    timezone: {zones[(s + variant) % len(zones)]}", "    layers:"]
        for layer in range(2):
            members = ", ".join(names[(s * 3 + layer + k + variant) % users] for k in range(3))
            lines += [f"      - name: l{layer}", f"        rotation: {rotations[(s + layer + variant) % 4]}",
                      f"        start: 2026-0{1 + variant}-0{1 + layer}T0{8 + variant}:00", f"        users: [{members}]"]
        lines += ["    overrides:",
                  f"      - {{user: {names[s]}, start: 2026-12-0{1 + variant}T00:00, end: 2026-12-0{3 + variant}T00:00}}"]
    lines.append("escalation_policies:")
    for p in range(policies):
        lines += [f"  p{p}:", f"    repeat: {(p + variant) % 3}", "    levels:",
                  f"      - {{targets: [schedule:s{(p + variant) % schedules}], delay: {5 + variant}m}}",
                  f"      - {{targets: [user:{names[(p + 7 * variant) % users]}], delay: {10 + p}m}}"]
    lines.append("services:")
    lines += [f"  svc{v}: {{escalation_policy: p{(v + variant) % policies}, routing_key: rk-{v}-{variant}}}"
              for v in range(services + 5 * variant)]
    return "\n".join(lines) + "\n"


CONFIG_TABLES = ("setting", "pager_user", "schedule", "layer", "schedule_override", "escalation_policy",
                 "escalation_level", "service")
_PAGE_LINE = re.compile(r"^PAGE (\S+) #(\d+) ", re.MULTILINE)


@dataclass
class Proc:
    """A finished pager process."""

    args: list[str]
    code: int
    out: bytes
    err: bytes
    seconds: float = 0.0
    hung: bool = False  # killed at its timeout (only with fail_on_hang=False)

    @property
    def stdout(self) -> str:
        return self.out.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self.err.decode("utf-8", "replace")

    def lines(self) -> list[str]:
        """stdout's lines (split at newlines only: U+2028 and friends are text)."""
        return [line for line in self.stdout.split("\n") if line]

    def __repr__(self) -> str:
        return (f"Proc(pager {' '.join(self.args)!s:.200} -> {self.code}, out={self.out[:400]!r}, "
                f"err={self.err[-1500:]!r})")


def _overrides(db: Path | str | None, **extra: str | None) -> dict[str, str | None]:
    return {"PAGER_NOW": None, "PAGER_BUSY_TIMEOUT": None, **({"PAGER_DB": str(db)} if db is not None else {}),
            "PAGER_USER": "reliability", "NO_COLOR": "1", "COLUMNS": "160", **extra}


def pager_env(db: Path | str | None, **extra: str) -> dict[str, str]:
    """The environment of a pager child: this one, minus any replayed clock,
    plus the database, a fixed user and no colour."""
    return child_env(_overrides(db, **extra))


def run(args: Sequence[object], db: Path | str | None, input: bytes | str | None = None, timeout: float = TIMEOUT,
        env: dict[str, str] | None = None, fail_on_hang: bool = True, cwd: Path | str | None = None) -> Proc:
    """`pager ARGS` as a real process; a timeout fails the test as a hang
    (or, with `fail_on_hang=False`, comes back as a Proc with `hung` set)."""
    args = [str(a) for a in args]
    if isinstance(input, str):
        input = input.encode()
    started = time.monotonic()
    try:
        done = run_pager(*args, input=input, env=_overrides(db, **(env or {})), timeout=timeout, cwd=cwd)
    except subprocess.TimeoutExpired as e:
        if not fail_on_hang:
            return Proc(args, -9, e.stdout or b"", e.stderr or b"", time.monotonic() - started, hung=True)
        pytest.fail(f"hang: pager {' '.join(args)[:200]} did not finish within {timeout:.0f}s "
                    f"(stderr so far: {(e.stderr or b'')[-500:]!r})")
    return Proc(args, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def run_all(calls: Sequence[dict], workers: int = 3) -> list[Proc]:
    """Several `run(**call)` at once (in threads, each its own process), in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: run(**call), calls))


def start(args: Sequence[object], db: Path | str | None, env: dict[str, str] | None = None,
          stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen:
    """`pager ARGS` started, pipes open; the caller waits, reads and kills."""
    return subprocess.Popen(pager_argv(*args), stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=pager_env(db, **(env or {})))


class Collector(threading.Thread):
    """Reads a pipe line by line in the background, so that a test knows what
    a process reported before it was killed; `first` is set at the first line."""

    def __init__(self, pipe):  # noqa: ANN001
        super().__init__(daemon=True)
        self.pipe = pipe
        self.lines: list[bytes] = []
        self.first = threading.Event()

    def run(self) -> None:
        for line in iter(self.pipe.readline, b""):
            self.lines.append(line)
            self.first.set()
        self.first.set()

    def data(self) -> bytes:
        return b"".join(self.lines)


def wait_for_writer(db: Path | str, popen: subprocess.Popen, timeout: float = 60.0) -> bool:
    """Wait until `popen` is inside a write transaction on `db` — the write
    lock stays taken across two polls — and return True; False if it exited
    (or the timeout passed) first. Polls with BEGIN IMMEDIATE + ROLLBACK, so
    it only ever holds the lock for an instant."""
    con = sqlite3.connect(str(db), timeout=0, isolation_level=None)
    deadline = time.monotonic() + timeout
    locked = 0
    try:
        while popen.poll() is None and time.monotonic() < deadline:
            try:
                con.execute("BEGIN IMMEDIATE")
                con.execute("ROLLBACK")
                locked = 0
            except sqlite3.OperationalError:
                locked += 1
                if locked >= 2:
                    return True
            time.sleep(0.02)
        return False
    finally:
        con.close()


def kill(popen: subprocess.Popen) -> bool:
    """SIGKILL a process (if it still runs) and reap it; True if it was killed."""
    if popen.poll() is not None:
        return False
    popen.send_signal(signal.SIGKILL)
    popen.wait(timeout=30)
    return popen.returncode == -signal.SIGKILL


# -- checks on output ------------------------------------------------------------

def assert_no_traceback(proc: Proc) -> None:
    assert not proc.hung, f"hang: {proc!r}"
    assert b"Traceback" not in proc.err and b"Traceback" not in proc.out, proc
    assert proc.code >= 0, f"pager died from signal {-proc.code}: {proc!r}"


def assert_one_line_error(proc: Proc, code: int = 1, contains: str | None = None) -> str:
    """Exit `code`, nothing but one `Error: …` line on stderr, no traceback."""
    assert_no_traceback(proc)
    assert proc.code == code, proc
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc
    if contains is not None:
        assert contains in lines[0], proc
    return lines[0]


def page_lines(*texts: bytes | str) -> list[tuple[str, int]]:
    """(user, incident) of every console `PAGE …` line in the given outputs."""
    found = []
    for text in texts:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        found += [(user, int(incident)) for user, incident in _PAGE_LINE.findall(text)]
    return found


# -- the database file -------------------------------------------------------------

def connect(path: Path | str, immutable: bool = False) -> sqlite3.Connection:
    """A plain sqlite3 connection; `immutable` for a file on a read-only file system."""
    if immutable:
        return sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    con = sqlite3.connect(str(path), timeout=30)
    con.execute("PRAGMA busy_timeout=30000")
    return con


def integrity(path: Path | str, immutable: bool = False) -> str:
    con = connect(path, immutable)
    try:
        return "; ".join(row[0] for row in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


def query(path: Path | str, sql: str, params: Sequence = ()) -> list[tuple]:
    con = connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def config_dump(path: Path | str) -> dict[str, list[tuple]]:
    """Every row of the config tables without surrogate ids, sorted: equal dumps
    mean equal configs, whatever order the rows were written in."""
    con = connect(path)
    try:
        dump = {}
        for table in CONFIG_TABLES:
            columns = [row[1] for row in con.execute(f"PRAGMA table_info({table})") if row[1] != "id"]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()
            dump[table] = sorted(rows, key=repr)
        return dump
    finally:
        con.close()


def copy_db(template: Path, dest: Path) -> Path:
    """A private copy of a template database (checkpointed: one file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, dest)
    return dest


def make_template(folder: Path, config_text: str = CONFIG_YAML, now: str = T0) -> Path:
    """A database with `config_text` applied, built in process with the library
    (no subprocess), checkpointed so that the one file can be copied."""
    from datetime import datetime

    from pager_cli.config.apply import apply_config
    from pager_cli.config.load import load_config_text
    from pager_cli.store.db import open_database
    from pager_cli.times import UTC, parse_time

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "template.db"
    config = load_config_text(config_text, "reliability.yaml")
    db = open_database(str(path))
    try:
        with db.write() as session:
            apply_config(session, config, parse_time(now, datetime.now(UTC)))
    finally:
        db.close()
    con = sqlite3.connect(str(path))
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


@dataclass
class Ledger:
    """What a stream reported done, to compare with the database afterwards."""

    sent: dict[str, int] = field(default_factory=dict)  # dedup key → records sent
    reported: dict[str, int] = field(default_factory=dict)  # dedup key → reported created/deduplicated
    incidents: dict[int, str] = field(default_factory=dict)  # reported incident → its key

    def send(self, key: str) -> None:
        self.sent[key] = self.sent.get(key, 0) + 1

    def report(self, key: str, incident: int) -> None:
        self.reported[key] = self.reported.get(key, 0) + 1
        previous = self.incidents.setdefault(incident, key)
        assert previous == key, f"incident #{incident} reported for keys {previous!r} and {key!r}"


# -- file systems that misbehave -----------------------------------------------------

@contextmanager
def tmpfs(folder: Path, size: str = "8m") -> Iterator[Path]:
    """A fresh tmpfs of `size` mounted on `folder` (root only); the test is
    skipped, saying why, where mounting is impossible."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def remount(folder: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True, capture_output=True)


@contextmanager
def read_only_file(path: Path) -> Iterator[Path]:
    """`path` made read-only while its folder stays writable: a read-only bind
    mount of the file as root (root ignores file modes), chmod 0444 otherwise."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield path
        finally:
            path.chmod(0o600)
        return
    bound = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if bound.returncode:
        pytest.skip(f"cannot bind-mount a file here: {bound.stderr.decode().strip()}")
    try:
        remount(path, "ro,bind")
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """A folder nobody can write into: a tmpfs remounted read-only as root,
    chmod 0555 otherwise. Whatever is in it before the `with` stays readable."""
    if os.geteuid() != 0:
        folder.mkdir(parents=True, exist_ok=True)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    with tmpfs(folder) as mounted:
        yield mounted


def make_read_only(folder: Path) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:
        remount(folder, "ro")
