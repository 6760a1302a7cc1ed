"""A throw-away PostgreSQL server for the tests (and bench/), from the
installed server binaries: initdb into a temporary folder, fsync off, listening
on 127.0.0.1 at a free port (password auth, so wrong passwords can be tested).
As root it runs as the `postgres` user (PostgreSQL refuses root), and the
folder is theirs.

`template` holds the migrated schema; `fresh()` gives each test its own
database copied from it (CREATE DATABASE … TEMPLATE), which is fast.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PASSWORD = "s3cret-pw"  # the superuser's: tests check that no message ever shows it
USER = "pager"
TEMPLATE = "pager_template"


def binaries() -> Path | None:
    """The folder of the newest installed initdb/postgres (Debian layout), or PATH's."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parent.parent.name))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).parent if which else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self) -> None:
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) installed: apt-get install postgresql")
        self.dir = Path(tempfile.mkdtemp(prefix="pager-pg-"))
        self.port = _free_port()
        self.as_postgres = os.geteuid() == 0
        self.counter = 0
        self._admin = None

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        proc = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}")

    def start(self) -> Server:
        os.chmod(self.dir, 0o700)
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_postgres:
            shutil.chown(pwfile, "postgres", "postgres")
        data = self.dir / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(pwfile), "-A", "scram-sha-256",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        opts = (f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c listen_addresses=127.0.0.1 "
                f"-p {self.port} -k {self.dir} -c max_connections=300 -c shared_buffers=64MB")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"), "-w", "-t", "60",
                  "start")
        return self

    def url(self, database: str = "postgres", password: str | None = PASSWORD, driver: str = "postgresql") -> str:
        secret = f":{password}" if password is not None else ""
        return f"{driver}://{USER}{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self):  # noqa: ANN201 - a psycopg connection in autocommit
        if self._admin is None or self._admin.closed:
            import psycopg

            self._admin = psycopg.connect(self.url(), autocommit=True)
        return self._admin

    def make_template(self) -> None:
        """The template database: pager's schema, every migration applied."""
        from pager_cli.store.db import open_database

        self.admin().execute(f"CREATE DATABASE {TEMPLATE}")
        open_database(self.url(TEMPLATE)).close()

    def fresh(self) -> str:
        """A new database holding the migrated schema; its URL."""
        self.counter += 1
        name = f"t{os.getpid()}_{self.counter}"
        self.admin().execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY WAL_LOG")
        return name

    def drop(self, name: str) -> None:
        self.admin().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        except Exception:  # noqa: BLE001 - best effort: the folder goes anyway
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
