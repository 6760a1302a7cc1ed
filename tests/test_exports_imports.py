"""Each export library is imported only by the command that needs it:
icalendar by `schedules ical`, prometheus-client by `metrics --format
prometheus` / `--textfile` — checked in the source (only its exports module
names it) and in real processes (what each command loaded)."""

from __future__ import annotations

import subprocess
import sys

from test_architecture import MODULES, _imports

EXPORT_LIBRARIES = ("icalendar", "prometheus_client")
OWNERS = {"icalendar": "pager_cli.exports.ical", "prometheus_client": "pager_cli.exports.prometheus"}


def test_only_the_export_modules_name_their_libraries():
    users = {lib: sorted({name for name in MODULES for m, _ in _imports(name) if m.split(".")[0] == lib})
             for lib in EXPORT_LIBRARIES}
    assert users == {lib: [owner] for lib, owner in OWNERS.items()}


def _loaded_by(argv: list[str], db: str) -> list[str]:
    code = (f"import sys; sys.argv = ['pager', *{argv!r}]\n"
            "from pager_cli.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print('LOADED', [m for m in {EXPORT_LIBRARIES!r} if m in sys.modules])\n")
    env = {**__import__("os").environ, "PAGER_DB": db, "PAGER_NOW": "2026-11-23T09:00:00Z"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    return eval(out.rsplit("LOADED", 1)[1].strip())  # a list literal we printed ourselves


def test_commands_load_only_their_own_export_library(tmp_path):
    from conftest import EXAMPLE

    db = str(tmp_path / "p.db")
    for argv in (["schedules", "apply", str(EXAMPLE)], ["trigger", "--service", "payments", "DB down"],
                 ["escalate-check"], ["list"], ["oncall"], ["schedules", "show", "payments-primary"],
                 ["metrics"], ["metrics", "--json"], ["watch", "--once"]):
        assert (argv, _loaded_by(argv, db)) == (argv, [])
    assert _loaded_by(["schedules", "ical", "payments-primary"], db) == ["icalendar"]
    assert _loaded_by(["metrics", "--format", "prometheus"], db) == ["prometheus_client"]
