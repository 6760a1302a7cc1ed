"""Hostile config files: every file of `corpus/config/` through the loader, most
of them through `pager schedules validate` as real processes, the worst through
`schedules apply`, and files made here (50 MB, a folder, a FIFO, a device).
The answer is exit 2 with every problem on its own `FILE:LINE: …` line and a
last `Error: …` line — never a traceback, never a hang, never code run from a
YAML tag — and `apply` leaves the database as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from reliability_kit import (CORPUS, T0, assert_no_traceback, config_dump, copy_db, make_template, run, run_all)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

CONFIG_CORPUS = sorted((CORPUS / "config").iterdir())
MARKER = "pager-reliability-pwned"  # what the python tags in the corpus would create

KNOWN_BUGS: dict[str, str] = {}


def _params(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[n])) if n in KNOWN_BUGS else n
            for n in names]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("config-template"))


def assert_config_refused(proc, name: str) -> None:
    """Exit 2; every line but the last a problem located at a line of `name`
    (or, for a file that cannot be read at all, at the file); last `Error: …`."""
    assert_no_traceback(proc)
    assert proc.code == 2, proc
    lines = proc.stderr.rstrip("\n").split("\n")
    assert lines[-1].startswith("Error: "), proc
    assert len(lines) >= 2, proc
    located = re.compile(rf"^{re.escape(name)}:\d+: \S")
    unreadable = re.compile(rf"^{re.escape(name)}: (not a regular file|larger than \d+ [KM]B|no such file)")
    for line in lines[:-1]:
        assert located.match(line) or unreadable.match(line), f"problem without a line: {line!r}"
    assert proc.out == b""


# `schedules validate` runs as a real process for these; every file goes
# through the loader in process (below), where anything but our ConfigError
# would be a traceback in the CLI.
AS_PROCESSES = ["billion-laughs.yaml", "alias-bomb-in-mappings.yaml", "python-object-tag.yaml",
                "python-module-tag-in-list.yaml", "python-name-tag.yaml", "binary-garbage.yaml", "utf16-with-bom.yaml",
                "deep-nesting.yaml", "unknown-keys.yaml", "duplicate-keys.yaml", "unknown-time-zones.yaml",
                "wrong-types-everywhere.yaml", "syntax-error.yaml"]


@pytest.fixture(scope="module")
def validations(tmp_path_factory):
    """`schedules validate` of the files above, run where the python tags
    would leave their mark if they were ever executed."""
    folder = tmp_path_factory.mktemp("validate")
    for path in CONFIG_CORPUS:
        shutil.copyfile(path, folder / path.name)
    db = folder / "pager.db"
    calls = [{"args": ["--now", T0, "schedules", "validate", name], "db": db, "cwd": folder, "timeout": 60}
             for name in AS_PROCESSES]
    return folder, dict(zip(AS_PROCESSES, run_all(calls)))


@pytest.mark.parametrize("name", AS_PROCESSES)
def test_hostile_config_is_refused_with_every_problem_on_its_line(validations, name):
    folder, procs = validations
    assert_config_refused(procs[name], name)
    assert not (folder / MARKER).exists()


@pytest.mark.parametrize("name", _params([p.name for p in CONFIG_CORPUS]))
def test_the_loader_refuses_every_hostile_config_with_located_problems(tmp_path, monkeypatch, name):
    from pager_cli.config.load import load_config
    from pager_cli.errors import ConfigError

    shutil.copyfile(CORPUS / "config" / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as refused:
        load_config(name)
    problems = refused.value.problems
    assert problems, refused.value
    located = re.compile(rf"^{re.escape(name)}:\d+: \S")
    for problem in problems:
        assert located.match(problem), f"problem without a line: {problem!r}"
    assert not (tmp_path / MARKER).exists()


def test_every_problem_of_a_file_is_reported(validations):
    _, procs = validations
    expected = {
        "unknown-keys.yaml": ["timezones", "users.alice.phone", "rotaiton", "escalate_after", "services.payments.priority"],
        "duplicate-keys.yaml": ["duplicate key 'timezone'", "duplicate key 'alice'", "duplicate key 'payments'"],
        "unknown-time-zones.yaml": ["Mars/Olympus_Mons", "../../../../etc/passwd", "UTC+25", "schedules.third.timezone"],
        "billion-laughs.yaml": ["aliases expand to more than"],
        "alias-bomb-in-mappings.yaml": ["aliases expand to more than"],
        "python-object-tag.yaml": ["python/object/apply:os.system"],
        "python-module-tag-in-list.yaml": ["python/object/new:subprocess.Popen"],
        "python-name-tag.yaml": ["python/name:os.system"],
    }
    for name, fragments in expected.items():
        err = procs[name].stderr
        for fragment in fragments:
            assert fragment in err, (name, fragment, err)
    assert procs["unknown-keys.yaml"].stderr.rstrip().endswith("Error: 5 problems in unknown-keys.yaml")


@pytest.mark.parametrize("name", _params(["billion-laughs.yaml", "python-object-tag.yaml", "huge-repeat.yaml"]))
def test_apply_of_a_hostile_config_changes_nothing(template, tmp_path, name):
    db = copy_db(template, tmp_path / "pager.db")
    before = config_dump(db)
    shutil.copyfile(CORPUS / "config" / name, tmp_path / name)
    proc = run(["--now", T0, "schedules", "apply", name], db, cwd=tmp_path)
    assert_config_refused(proc, name)
    assert config_dump(db) == before
    assert not (tmp_path / MARKER).exists()


def test_files_that_are_not_config_files(template, tmp_path):
    """50 MB of YAML, a folder, a FIFO nobody writes to, a character device:
    each refused at once, without reading it."""
    huge = tmp_path / "huge.yaml"
    with huge.open("w") as f:
        f.write("timezone: UTC\nusers:\n")
        line = "  u{:08d}: {{name: padding padding padding padding}}\n"
        for i in range(50 * 1024 * 1024 // len(line.format(0)) + 1):
            f.write(line.format(i))
    assert huge.stat().st_size > 50 * 1024 * 1024
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    db = copy_db(template, tmp_path / "pager.db")
    before = config_dump(db)
    cases = [("validate", "huge.yaml"), ("validate", "folder.yaml"), ("validate", "fifo.yaml"),
             ("validate", "/dev/zero"), ("apply", "huge.yaml"), ("apply", "folder.yaml")]
    procs = run_all([{"args": ["--now", T0, "schedules", command, name], "db": db, "cwd": tmp_path, "timeout": 60}
                     for command, name in cases])
    for proc, (_, name) in zip(procs, cases):
        assert_config_refused(proc, name)
    assert "larger than" in procs[0].stderr and "larger than" in procs[4].stderr
    for proc in procs[1:4] + procs[5:]:
        assert "not a regular file" in proc.stderr, proc
    assert config_dump(db) == before


def test_alias_bombs_and_oversized_files_are_refused_in_milliseconds(tmp_path):
    """The same refusals measured in process, free of process start-up."""
    from pager_cli.config import yaml_lines
    from pager_cli.config.load import load_config
    from pager_cli.errors import ConfigError

    for name in ("billion-laughs.yaml", "alias-bomb-in-mappings.yaml"):
        started = time.perf_counter()
        doc = yaml_lines.load((CORPUS / "config" / name).read_text())
        assert doc.fatal and time.perf_counter() - started < 1.0
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB that costs nothing to make
    started = time.perf_counter()
    with pytest.raises(ConfigError):
        load_config(huge)
    assert time.perf_counter() - started < 1.0


def test_a_config_just_under_the_size_limit_is_validated(tmp_path):
    from pager_cli.config.load import MAX_BYTES

    path = tmp_path / "big-but-allowed.yaml"
    lines = ["timezone: UTC", "users:"]
    size, i = 0, 0
    while size < MAX_BYTES - 100:
        line = f"  u{i}: {{name: User {i}}}"
        lines.append(line)
        size += len(line) + 1
        i += 1
    path.write_text("\n".join(lines) + "\n")
    # a guard against a hang only: the suite never times what it tests
    proc = run(["--now", T0, "schedules", "validate", path], tmp_path / "pager.db", timeout=300, fail_on_hang=False)
    assert not proc.hung, "validate of a config just under the size limit hung"
    assert proc.code in (0, 2), proc
