"""The database a command works on, and the zone it shows times in."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..store.db import Database


def open_database(option: str | None) -> "Database":
    """--db / PAGER_DB, else the per-user data dir; migrated on open."""
    from ..store.db import open_database as open_

    return open_(option)


def config_zone(db) -> "ZoneInfo":  # noqa: ANN001 - a Database
    """The config's `timezone`, else UTC."""
    from ..config.catalog import config_timezone
    from ..times import zone

    return zone(config_timezone(db) or "UTC")
