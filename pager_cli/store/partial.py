"""Partial indexes (an index over the rows a WHERE clause selects), declared once
for every engine.

The clause is kept in the index's `info["where"]`. SQLite's `sqlite_where` is
set where the index is declared; another engine's (`postgresql_where`) is set by
`declare(metadata, engine)` when a database of that engine is opened, or by
`partial_index(..., engine=)` in a migration that creates one on a connection.
Naming `postgresql_where` at import time would make SQLAlchemy load its whole
PostgreSQL dialect into every command, SQLite or not.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa


def partial_index(name: str, *columns, where, unique: bool = False, engine: str = "sqlite") -> sa.Index:  # noqa: ANN001, ANN002
    """An index over the rows `where` selects; the clause also declared for `engine`."""
    index = sa.Index(name, *columns, unique=unique, sqlite_where=where, info={"where": where})
    if engine != "sqlite":
        index.dialect_options[engine]["where"] = where
    return index


def declare(tables: Iterable[sa.Table], engine: str) -> None:
    """Declare the clause of every partial index of `tables` for `engine` too,
    and on PostgreSQL the columns an index carries besides its key
    (`info["include"]`: the id, which SQLite's indexes hold as the rowid)."""
    for table in tables:
        for index in table.indexes:
            if "where" in index.info:
                index.dialect_options[engine]["where"] = index.info["where"]
            if "include" in index.info and engine == "postgresql":
                index.dialect_options[engine]["include"] = index.info["include"]
