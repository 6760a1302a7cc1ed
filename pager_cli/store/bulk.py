"""Set-wise statements on a hot path (batch ingest), run cheaply.

Engine-neutral to call: `stored` gives a value in the form the rows of
`executemany` carry, `executemany` runs one statement for many rows, and
`rows_in` one SELECT whose IN list is bound to a list. Where the dialect allows
it (`Dialect.raw_bulk`: SQLite), each statement is compiled once and run on
the driver's own cursor (of the transaction's connection) with rows already in
their stored form: SQLAlchemy's processing of each row, and its execution
context around each statement, would cost more than the database's work (a
`serve` commit of a few events is a handful of such statements). A driver
error is raised as SQLAlchemy would raise it (`DBAPIError`), so it is
translated as any other. Elsewhere they are plain SQLAlchemy Core executions
of the same statements.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from .dialect import of

_COMPILED: dict = {}
_EXPANDED: dict = {}
_PROCESSORS: dict = {}  # (column, dialect name) → the column type's bind processor, or None
_ORDERS: dict = {}  # (compiled, columns) → the positions of `columns` the compiled text takes, or None
_ROUNDED = 64  # IN lists are padded to a multiple of this, so that a few SQL texts serve every batch


def stored(connection: Connection, column: Column, value: Any) -> Any:
    """`value` as rows given to `executemany` carry it for `column`: converted
    once (as the column's type stores it) where the driver is handed rows as
    they are, else the value itself. For a value shared by many rows (a batch's
    instant), converted once rather than once a row."""
    if not of(connection).raw_bulk:
        return value
    dialect = connection.dialect
    key = (column, dialect.name)
    if key not in _PROCESSORS:
        _PROCESSORS[key] = column.type.dialect_impl(dialect).bind_processor(dialect)
    process = _PROCESSORS[key]
    return process(value) if process is not None else value


def executemany(connection: Connection, statement: Executable, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """`statement` once for each row, in one executemany; each row's values in
    the order of `columns`, strings, numbers, None or what `stored` gave."""
    if not of(connection).raw_bulk:
        connection.execute(statement, [dict(zip(columns, row)) for row in rows])
        return
    compiled = _compiled(connection, statement, columns)
    if compiled.positional:
        key = (id(compiled), columns)
        if key not in _ORDERS:
            order = [columns.index(name) for name in compiled.positiontup]
            _ORDERS[key] = order if order != list(range(len(columns))) else None
        order = _ORDERS[key]
        if order is not None:
            rows = [tuple(row[i] for i in order) for row in rows]
    else:
        rows = [dict(zip(columns, row)) for row in rows]
    _driver(connection, "executemany", compiled.string, rows)


def rows_in(connection: Connection, statement: Executable, fixed: dict[str, Any], listed: str,
            values: list) -> list:
    """The rows of SELECT `statement`, its parameters `fixed` bound and its
    expanding parameter `listed` bound to `values` (not empty). Where the driver
    is handed SQL text, the IN list is padded (by repeating a value) to a
    multiple of _ROUNDED, and each padded length's text is made once."""
    if not of(connection).raw_bulk:
        return connection.execute(statement, {**fixed, listed: values}).all()
    values = values + values[-1:] * (-len(values) % _ROUNDED)
    compiled = _compiled(connection, statement)
    key = (id(compiled), tuple(fixed), listed, len(values))
    params = (*fixed.values(), *values)
    sql = _EXPANDED.get(key)
    if sql is not None:
        return _driver(connection, "execute", sql, params)
    expanded = compiled.construct_expanded_state({**fixed, listed: values})
    if expanded.positiontup is None:  # a driver with named parameters
        return connection.exec_driver_sql(expanded.statement, expanded.parameters).all()
    if expanded.positional_parameters == params:  # the order the cached text expects
        _EXPANDED[key] = expanded.statement
    return _driver(connection, "execute", expanded.statement, expanded.positional_parameters)


def _driver(connection: Connection, method: str, sql: str, params: Any) -> list:
    """`sql` run by the driver's cursor `method` on the transaction's
    connection (begun, as SQLAlchemy begins it); the rows it returns. A driver
    error becomes the DBAPIError SQLAlchemy would raise."""
    if not connection.in_transaction():
        connection.begin()  # as an execute would autobegin it (SQLite: BEGIN IMMEDIATE)
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        getattr(cursor, method)(sql, params)
        return cursor.fetchall() if cursor.description is not None else []
    except connection.dialect.loaded_dbapi.Error as e:
        raise exc.DBAPIError.instance(sql, params, e, connection.dialect.loaded_dbapi.Error,
                                      dialect=connection.dialect) from e
    finally:
        cursor.close()


def _compiled(connection: Connection, statement: Executable, columns: tuple[str, ...] | None = None):  # noqa: ANN202
    """`statement` compiled once per dialect."""
    dialect = connection.dialect
    compiled = _COMPILED.get((id(statement), dialect.name))
    if compiled is None:
        keys = list(columns) if columns else None
        compiled = _COMPILED[(id(statement), dialect.name)] = statement.compile(dialect=dialect, column_keys=keys)
    return compiled
