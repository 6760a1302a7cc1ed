"""What the benchmarks share: running a command as a real process (wall time,
CPU time and peak RSS of that one child), timing several commands N times
each, interleaved, down to medians, and building databases once under
`bench/.cache/` (git-ignored), keyed by the schema version and the input.

Every child runs with bytecode caching on: `PYTHONDONTWRITEBYTECODE` is
dropped and `PYTHONPYCACHEPREFIX` points into `bench/.cache/pycache`, so a
command pays what it pays for an installed pager, not for compiling
`pager_cli` from source on every run. `prepare_environment()` sets this for
the runner's own children too, so benchmarks that copy `os.environ` inherit it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
EXAMPLE_CONFIG = ROOT / "schedules.example.yaml"
NOW = "2026-11-23T09:00:00Z"  # every benchmark replays this instant
PYCACHE = CACHE / "pycache"
DROPPED = ("PAGER_NOW", "PAGER_DB", "PAGER_USER", "COLUMNS", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


# --------------------------------------------------------------------------
# The environment and the commands.


def child_env(*, bytecode: bool = True, **extra: str) -> dict[str, str]:
    """The environment of a measured child: no pager variables, bytecode cached
    under bench/.cache/pycache (or, with `bytecode=False`, never written)."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def prepare_environment() -> None:
    """Make this process's children measure like an installed pager (see the
    module docstring); benchmarks that copy os.environ inherit it."""
    PYCACHE.mkdir(parents=True, exist_ok=True)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)


def python() -> str:
    """The interpreter pager is installed in (the real binary, not a shim)."""
    return sys.executable


def console_script() -> str:
    """The `pager` console script of this interpreter's environment. PATH may
    find a wrapper first (a pyenv shim, or Debian's /usr/bin/pager, which is
    `less`); `path_script()` says what PATH finds."""
    script = Path(sysconfig.get_path("scripts")) / "pager"
    if script.exists():
        return str(script)
    found = shutil.which("pager")
    if found is None:
        raise RuntimeError("no `pager` console script: pip install -e '.[test]'")
    return found


def path_script() -> str | None:
    """What `pager` on PATH is, when it is not the console script itself."""
    found = shutil.which("pager")
    if found is None or Path(found).resolve() == Path(console_script()).resolve():
        return None
    return found


def pager(db: Path | str | None = None, *args: str, module: bool = False, now: str | None = NOW) -> list[str]:
    """argv of one pager command (the console script, or `python -m pager_cli`)."""
    argv = [python(), "-m", "pager_cli"] if module else [console_script()]
    if db is not None:
        argv += ["--db", str(db)]
    if now is not None:
        argv += ["--now", now]
    return argv + list(args)


# --------------------------------------------------------------------------
# Running and timing.


@dataclass
class Sample:
    """One run of one process."""

    wall: float  # seconds
    cpu: float  # user + system seconds of the child
    rss: int  # peak resident set size of the child, bytes
    stdout: bytes = b""


# A child's peak RSS as the kernel reports it (ru_maxrss) starts at the peak of
# the process that spawned it: exec records the old address space's high-water
# mark, and a fork or vfork child's old address space is its parent's. So a
# measured command is spawned by this small launcher (python -S, ~10 MB), not by
# the benchmark process, which may have grown to hundreds of MB building a
# database; the launcher also takes the wall time around the command alone.
_LAUNCHER = """
import os, sys, time
fd, argv = int(sys.argv[1]), sys.argv[2:]
began = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - began
os.write(fd, ("%r %r %d %d" % (wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                               os.waitstatus_to_exitcode(status))).encode())
"""


def run_once(argv: Sequence[str], *, stdin: Path | None = None, env: dict[str, str] | None = None,
             keep_stdout: bool = False, check: bool = True) -> Sample:
    """Run `argv` once: its own wall time, CPU time and peak RSS (read with
    os.wait4 by a small launcher, see above). stdout goes to /dev/null unless kept."""
    env = child_env() if env is None else env
    read, write = os.pipe()
    try:
        with open(stdin or os.devnull, "rb") as source, tempfile.TemporaryFile() as out, \
                tempfile.TemporaryFile() as err, open(os.devnull, "wb") as sink:
            launcher = [python(), "-S", "-c", _LAUNCHER, str(write), *map(str, argv)]
            proc = subprocess.Popen(launcher, stdin=source, stdout=out if keep_stdout else sink, stderr=err,
                                    env=env, pass_fds=(write,))
            os.close(write)
            write = -1
            report = b""
            while chunk := os.read(read, 4096):
                report += chunk
            launched = proc.wait()
            out.seek(0)
            err.seek(0)
            stdout, stderr = (out.read() if keep_stdout else b""), err.read()
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)
    if launched != 0 or not report:
        raise RuntimeError(f"could not run {' '.join(map(str, argv))}: {stderr.decode(errors='replace')[-1500:]}")
    wall, cpu, maxrss, code = report.decode().split()
    if check and int(code) != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {code}: {stderr.decode(errors='replace')[-1500:]}")
    rss = int(maxrss) * (1 if sys.platform == "darwin" else 1024)
    return Sample(float(wall), float(cpu), rss, stdout)


def peak_rss(argv: Sequence[str], **kwargs) -> int:  # noqa: ANN003
    """Peak RSS (bytes) of one run of `argv`."""
    return run_once(argv, **kwargs).rss


def time_commands(commands: dict[str, Sequence[str]], repeat: int, *, warmup: int = 1,
                  env: dict[str, dict[str, str]] | None = None,
                  before: Callable[[str], dict] | None = None) -> dict[str, list[Sample]]:
    """Run each command `warmup` times untimed, then `repeat` times, round-robin
    (so a busy moment of the machine spreads over all of them rather than
    landing on one). `env` gives a command its own environment; `before(name)`
    runs untimed ahead of each run and returns extra run_once arguments."""
    env = env or {}
    samples: dict[str, list[Sample]] = {name: [] for name in commands}
    for round_ in range(warmup + repeat):
        for name, argv in commands.items():
            extra = before(name) if before else {}
            sample = run_once(argv, env=env.get(name), **extra)
            if round_ >= warmup:
                samples[name].append(sample)
    return samples


def instructions(argv: Sequence[str], env: dict[str, str] | None = None) -> int | None:
    """Instructions one run of `argv` executes, counted by valgrind (callgrind):
    the same on a busy machine as on a quiet one. None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *map(str, argv)],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          env=child_env() if env is None else env)
    found = re.search(rb"Collected : (\d+)", proc.stderr)
    return int(found.group(1)) if proc.returncode == 0 and found else None


def count_instructions(commands: dict[str, Sequence[str]], env: dict[str, dict[str, str]] | None = None,
                       workers: int = 2) -> dict[str, int | None]:
    """`instructions` of each command, `workers` at a time (the counts do not
    depend on what else runs)."""
    from concurrent.futures import ThreadPoolExecutor

    env = env or {}
    with ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(instructions, argv, env.get(name)) for name, argv in commands.items()}
        return {name: future.result() for name, future in futures.items()}


def median(samples: Iterable[Sample], what: str = "wall") -> float:
    return statistics.median(getattr(s, what) for s in samples)


def paired(a: Sequence[Sample], b: Sequence[Sample], what: str = "wall", ratio: bool = False) -> float:
    """The median over rounds of a − b (or a / b), each pair taken in the same
    round of `time_commands`, back to back: on a machine whose load drifts this
    moves far less than the difference of the two medians."""
    pairs = zip((getattr(s, what) for s in a), (getattr(s, what) for s in b), strict=True)
    return statistics.median(x / y if ratio else x - y for x, y in pairs)


# --------------------------------------------------------------------------
# Cached inputs.


def fingerprint(*parts: object) -> str:
    """A short hash of what a cached file was built from."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.read_bytes() if isinstance(part, Path) else repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()[:10]


def schema_version() -> int:
    from pager_cli.store.migrations import LATEST

    return LATEST


def remove_database(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)


def cached(path: Path, build: Callable[[Path], None], log: Callable[[str], None] | None = None,
           family: str | None = None) -> Path:
    """`path`, built by `build(partial)` first when missing; the partial file is
    renamed into place only once complete, so an interrupted build never leaves
    a half-built cache behind. Once built, older files matching the glob
    `family` (the same input under an older schema or config) are removed."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    remove_database(partial)
    began = time.perf_counter()
    build(partial)
    remove_database(path)
    os.replace(partial, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    if log:
        log(f"built {path.relative_to(ROOT)} in {time.perf_counter() - began:.1f} s")
    if family:
        for stale in path.parent.glob(family):
            if stale != path:
                remove_database(stale)
    return path


def apply_config(db: Path, config: Path = EXAMPLE_CONFIG) -> None:
    """Create `db` and apply `config` to it through the real command."""
    run_once([python(), "-m", "pager_cli", "--db", str(db), "--now", NOW, "schedules", "apply", str(config)])


def applied_database(log: Callable[[str], None] | None = None) -> Path:
    """A small database with schedules.example.yaml applied and no incidents."""
    path = CACHE / f"applied-schema{schema_version()}-{fingerprint(EXAMPLE_CONFIG)}.db"
    return cached(path, apply_config, log, family="applied-schema*.db")


def copy_database(source: Path, target: Path) -> Path:
    """A fresh copy of a closed (checkpointed) database."""
    remove_database(target)
    shutil.copyfile(source, target)
    return target


def vacuumed_size(path: Path) -> int:
    """The file size of `path` after VACUUM (and a WAL checkpoint)."""
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path.stat().st_size


def stderr_log(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)
