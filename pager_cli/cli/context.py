"""What every command shares: the global options, the lazily opened database,
the display zone and the one clock read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..db import Database


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
    _now: datetime | None = field(default=None, repr=False)

    @property
    def process_ends_after(self) -> bool:
        return PROCESS_ENDS_AFTER

    def db(self) -> "Database":
        if self._db is None:
            from ..db import open_database

            self._db = open_database(self.db_option)
        return self._db

    def tz(self) -> "ZoneInfo":
        """The zone for display and for times given without an offset: --tz, else
        the config's `timezone`, else UTC."""
        from ..times import zone

        if self.tz_option:
            return zone(self.tz_option)
        from ..catalog import config_timezone

        return zone(config_timezone(self.db()) or "UTC")

    def now(self) -> datetime:
        """The current instant (UTC), honouring --now / PAGER_NOW; read once per command."""
        if self._now is None:
            from ..times import current_time

            self._now = current_time(self.now_option, self.tz)
        return self._now

    def time(self, text: str) -> datetime:
        """A TIME argument in UTC."""
        from ..times import parse_time

        return parse_time(text, self.now(), self.tz)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def get(ctx: typer.Context, json_flag: bool = False) -> Ctx:
    """The shared Ctx; a command's own --json turns JSON output on."""
    root = ctx.find_root()
    if not isinstance(root.obj, Ctx):
        root.obj = Ctx()
    if json_flag:
        root.obj.json = True
    return root.obj
