"""What every command shares: the global options, the lazily opened database,
the display zone and the one clock read."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..app.clock import Clock
    from ..store.db import Database


JsonFlag = Annotated[bool, typer.Option("--json", help="Print plain JSON on stdout.")]

# True when the command runs as the `pager` process itself (`main()`), which ends
# right after it; False in process (tests, a host program), where whatever a
# command changes process-wide (signal handlers) must be put back.
PROCESS_ENDS_AFTER = False


@dataclass
class Ctx:
    db_option: str | None = None
    tz_option: str | None = None
    now_option: str | None = None
    json: bool = False
    _db: Any = field(default=None, repr=False)
    _clock: "Clock | None" = field(default=None, repr=False)
    _now: datetime | None = field(default=None, repr=False)

    @property
    def process_ends_after(self) -> bool:
        return PROCESS_ENDS_AFTER

    def db(self) -> "Database":
        if self._db is None:
            from ..app.database import open_database

            self._db = open_database(self.db_option)
        return self._db

    def tz(self) -> "ZoneInfo":
        """The zone for display and for times given without an offset: --tz, else
        the config's `timezone`, else UTC."""
        from ..times import zone

        if self.tz_option:
            return zone(self.tz_option)
        from ..app.database import config_zone

        return config_zone(self.db())

    def clock(self) -> "Clock":
        """The command's clock (`app.clock`): fixed at --now / PAGER_NOW in a
        replay, else live; a loop takes `clock().moving()`."""
        if self._clock is None:
            from ..app.clock import Clock

            self._clock = Clock.from_option(self.now_option, self.tz)
        return self._clock

    def now(self) -> datetime:
        """The command's instant (UTC): the clock, read once per command."""
        if self._now is None:
            self._now = self.clock().now()
        return self._now

    def time(self, text: str, past: bool = False) -> datetime:
        """A TIME argument in UTC; `past` (a --since): an unsigned duration such
        as `7d` is that long ago."""
        from ..times import parse_time

        return parse_time(text, self.now(), self.tz, past=past)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def get(ctx: typer.Context, json_flag: bool = False) -> Ctx:
    """The shared Ctx; a command's own --json turns JSON output on. First of all,
    every text argument of the command line must be valid UTF-8."""
    check_utf8(ctx)
    root = ctx.find_root()
    if not isinstance(root.obj, Ctx):
        root.obj = Ctx()
    if json_flag:
        root.obj.json = True
    return root.obj


def who(by: str | None) -> str:
    """--by, else $PAGER_USER, else the login name; exit 2 when the one it takes
    is not valid UTF-8; a blank --by is refused (exit 2)."""
    if by is not None and not by.strip():
        from ..errors import UsageError

        raise UsageError("--by is blank", hint="give a name, or leave --by out for $PAGER_USER")
    if by:
        return by
    env = os.environ.get("PAGER_USER")
    if env:
        return require_utf8(env, "PAGER_USER")
    import getpass

    try:
        login = getpass.getuser()
    except Exception:  # no login name in a container
        return "unknown"
    return require_utf8(login, "the login name", hint="set PAGER_USER or give --by")


# Parameters that name files: a path may hold any bytes the file system allows.
_PATH_PARAMS = frozenset({"db", "file"})


def check_utf8(ctx: typer.Context) -> None:
    """UsageError (exit 2) when an argument or option of the command (or of the
    groups above it), or the environment variable it came from, is not valid
    UTF-8. Python decodes such bytes to lone surrogates, which could be neither
    stored nor printed."""
    level = ctx
    while level is not None:
        for param in level.command.params:
            if param.name in _PATH_PARAMS or param.name not in level.params:
                continue
            value = level.params[param.name]
            values = value if isinstance(value, (list, tuple)) else (value,)
            if any(isinstance(v, str) and not is_utf8(v) for v in values):
                raise _not_utf8(_label(level, param))
        level = level.parent


def require_utf8(value: str, label: str, hint: str | None = None) -> str:
    """`value`, or UsageError when it is not valid UTF-8 (see check_utf8)."""
    if not is_utf8(value):
        raise _not_utf8(label, *([hint] if hint else []))
    return value


def is_utf8(text: str) -> bool:
    """Whether `text` encodes to UTF-8: it holds no lone surrogate, the way
    Python carries bytes of an argument or variable that were not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _label(ctx: typer.Context, param) -> str:  # noqa: ANN001
    envvar = getattr(param, "envvar", None)
    source = ctx.get_parameter_source(param.name)
    if isinstance(envvar, str) and getattr(source, "name", "") == "ENVIRONMENT":
        return envvar
    if getattr(param, "param_type_name", "") == "option":
        return max(param.opts, key=len)
    return param.metavar or param.name.upper()


def _not_utf8(label: str, hint: str = "check the encoding of the terminal or script"):  # noqa: ANN202
    from ..errors import UsageError

    return UsageError(f"{label} is not valid UTF-8", hint=hint)
