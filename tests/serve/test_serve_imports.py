"""`pager serve`'s stack (http.server, socketserver, hmac, the serve
package) is loaded by `pager serve` alone: every other command starts without it."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import EXAMPLE

SERVE_ONLY = ("http.server", "socketserver", "hmac", "pager_cli.serve", "pager_cli.serve.http", "pager_cli.serve.head",
              "pager_cli.app.group_commit", "pager_cli.notify.acklinks")


def _loaded_by(argv: list[str], db: str) -> list[str]:
    code = (f"import sys; sys.argv = ['pager', *{argv!r}]\n"
            "from pager_cli.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print([m for m in {SERVE_ONLY!r} if m in sys.modules])\n")
    env = {**os.environ, "PAGER_DB": db, "PAGER_NOW": "2026-11-23T09:00:00Z"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    return eval(out.strip().splitlines()[-1])  # a list literal we printed ourselves


def test_no_other_command_loads_the_server_stack(tmp_path):
    db = str(tmp_path / "p.db")
    for argv in (["schedules", "apply", str(EXAMPLE)], ["trigger", "--service", "payments", "DB down"],
                 ["escalate-check"], ["list"], ["ack", "1"], ["watch", "--once"], ["serve", "--help"], ["--help"]):
        assert (argv, _loaded_by(argv, db)) == (argv, [])
