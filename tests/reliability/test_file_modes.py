"""What pager creates on disk is private whatever the umask: the database file
0600 and every folder it makes on the way 0700 — for the default path under
$HOME, for --db in folders that do not exist yet, and for a --db that is a
symlink to a file not there yet. Real processes, each with its own umask.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import pager_argv
from reliability_kit import T0, TIMEOUT, Proc, assert_no_traceback, pager_env, query

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)


def run_with_umask(args: list, umask: int, db: Path | None = None, **env: str) -> Proc:
    """`pager ARGS` in a process whose umask is `umask`."""
    full_env = pager_env(db, **env)
    if db is None:
        full_env.pop("PAGER_DB", None)
    done = subprocess.run(pager_argv(*args), capture_output=True, env=full_env, timeout=TIMEOUT,
                          preexec_fn=lambda: os.umask(umask))
    return Proc(list(map(str, args)), done.returncode, done.stdout, done.stderr)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277], ids=["000", "022", "077", "277"])
def test_the_default_path_under_home_is_private_whatever_the_umask(tmp_path, umask):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    env = {"HOME": str(home), "XDG_DATA_HOME": ""}
    proc = run_with_umask(["--now", T0, "trigger", "--service", "x", "disk full"], umask, **env)
    assert_no_traceback(proc)
    db = home / ".local" / "share" / "pager" / "pager.db"
    assert db.is_file(), proc
    assert proc.code == 3, proc  # no service x yet: the database was made all the same
    for folder in (home / ".local", home / ".local" / "share", home / ".local" / "share" / "pager"):
        assert mode(folder) == 0o700, (folder, oct(mode(folder)))
    assert mode(db) == 0o600
    assert mode(home) == 0o755  # a folder that was there is left as it was
    assert query(db, "PRAGMA user_version")[0][0] > 0


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["000", "022"])
def test_every_missing_folder_of_db_is_made_0700(tmp_path, umask):
    db = tmp_path / "a" / "b" / "c" / "pager.db"
    proc = run_with_umask(["list"], umask, db)
    assert proc.code == 0, proc
    for folder in (tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"):
        assert mode(folder) == 0o700, (folder, oct(mode(folder)))
    assert mode(db) == 0o600
    # SQLite makes the WAL and its index with the database's own mode
    for extra in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        if extra.exists():
            assert mode(extra) & 0o077 == 0, (extra, oct(mode(extra)))


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["000", "022"])
def test_a_dangling_symlink_as_the_database_creates_its_target_0600(tmp_path, umask):
    target = tmp_path / "real" / "sub" / "pager.db"
    link = tmp_path / "link.db"
    link.symlink_to(target)
    proc = run_with_umask(["--now", T0, "list"], umask, link)
    assert proc.code == 0, proc
    assert link.is_symlink() and target.is_file()
    assert mode(target) == 0o600
    assert mode(tmp_path / "real") == 0o700 and mode(tmp_path / "real" / "sub") == 0o700
    # the link is the database: what is written through it is in the target
    assert query(target, "PRAGMA user_version")[0][0] > 0
    assert query(target, "SELECT COUNT(*) FROM incident") == [(0,)]


def test_an_existing_database_keeps_its_mode(tmp_path):
    db = tmp_path / "pager.db"
    assert run_with_umask(["list"], 0o022, db).code == 0
    db.chmod(0o640)  # the owner's choice
    assert run_with_umask(["list"], 0o000, db).code == 0
    assert mode(db) == 0o640
