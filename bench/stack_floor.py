"""The floor of a command on pager's stack, for bench_startup: the smallest
Typer CLI that imports SQLModel (as every pager database command does) and runs
one command. `plain` prints nothing, like `escalate-check` with nothing due;
`table` also imports python-dateutil's rrule and prints a two-row Rich table,
like `pager oncall`. What pager takes beyond these is its own code: its models,
its database set-up, its queries.

    python bench/stack_floor.py plain
    python bench/stack_floor.py table
"""

from typing import Annotated, Optional

import sqlmodel  # noqa: F401 - imported, as by every pager database command
import typer

app = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False)


@app.callback()
def root(
    db: Annotated[Optional[str], typer.Option("--db", envvar="FLOOR_DB")] = None,
    tz: Annotated[Optional[str], typer.Option("--tz")] = None,
    now: Annotated[Optional[str], typer.Option("--now", envvar="FLOOR_NOW")] = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A root with pager's global options."""


@app.command()
def plain(json_: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Nothing to say."""


@app.command()
def table(
    schedules: Annotated[Optional[list[str]], typer.Argument()] = None,
    at: Annotated[Optional[str], typer.Option("--at")] = None,
) -> None:
    """A small table."""
    import dateutil.rrule  # noqa: F401
    from rich.console import Console
    from rich.table import Table

    grid = Table("Schedule", "On call")
    grid.add_row("payments", "alice")
    grid.add_row("platform", "bob")
    Console(highlight=False, markup=False, emoji=False).print(grid)


if __name__ == "__main__":
    app()
