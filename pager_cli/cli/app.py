"""The root command: global options, and the one place where our errors become
`Error: …` on stderr and an exit code."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from importlib import import_module
from typing import Annotated, Optional

import typer
import typer.main
from typer.core import TyperGroup

from ..errors import PagerError
from . import output
from .context import Ctx, check_utf8


class PagerGroup(TyperGroup):
    """Maps every PagerError raised by any command to its exit code, and holds
    the commands as `LazyCommands`."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(COMMANDS)

    def invoke(self, ctx):  # noqa: ANN001, ANN201
        try:
            return super().invoke(ctx)
        except PagerError as e:
            for problem in getattr(e, "problems", []) or []:
                output.say(problem)
            output.error(e.message, e.hint)
            raise typer.Exit(e.exit_code) from None
        except OverflowError as e:
            if "sqlite integer" in str(e).lower():  # an id or count past what the database stores
                output.error("an id or number is out of range", "ids and numbers go up to 9223372036854775807")
            else:  # a time at the edge of the calendar
                output.error("a time or number is out of range", "use values between years 1970 and 9000")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError:
            output.silence_stdout()
            raise typer.Exit(0) from None
        finally:
            obj = ctx.obj
            if isinstance(obj, Ctx):
                obj.close()


# Every command: its name → the module of this package that defines it (its
# `register`), in the order `--help` lists them. A run imports the one module
# of the command it runs: each imported module is code compiled at start-up.
COMMANDS = {
    "oncall": "schedules", "trigger": "incidents", "ack": "incidents", "resolve": "incidents",
    "escalate": "incidents", "note": "incidents", "list": "incidents", "show": "incidents",
    "services": "incidents", "escalate-check": "escalation", "watch": "watch", "metrics": "metrics",
    "deliveries": "notify", "schedules": "schedules", "notify": "notify", "serve": "serve",
    "heartbeat": "timers", "heartbeats": "timers", "maintenance": "timers", "snooze": "timers",
}


class LazyCommands(MutableMapping):
    """Every command by name, each turned from its Typer function into a Click
    command only when asked for, its module imported then. Building one reads
    its signature (annotations evaluated, parameters made), so a run builds the
    one command it runs, not all of them; `--help` and completion ask for each."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = dict(modules)
        self._built: dict = {}

    def __getitem__(self, name: str):  # noqa: ANN204 - a click.Command
        if name not in self._built:
            if name not in self._modules:
                raise KeyError(name)
            source = typer.Typer()
            import_module(f"{__package__}.{self._modules[name]}").register(source)
            one = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)
            one.registered_commands = [i for i in source.registered_commands
                                       if (i.name or typer.main.get_command_name(i.callback.__name__)) == name]
            one.registered_groups = [i for i in source.registered_groups if i.name == name]
            self._built[name] = typer.main.get_group(one).commands[name]
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:  # noqa: ANN001
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._built.pop(name, None)
        self._modules.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._modules
        yield from (name for name in self._built if name not in self._modules)

    def __len__(self) -> int:
        return sum(1 for _ in self)


app = typer.Typer(
    cls=PagerGroup,
    name="pager",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="On-call schedules, incidents and escalating pages, over one SQLite file.",
)


def _version(value: bool) -> None:
    if value:
        output.line(f"pager {_package_version()}")
        raise typer.Exit(0)


def _package_version() -> str:
    """The installed package's version (its metadata), else the source's."""
    from importlib import metadata

    try:
        return metadata.version("pager-cli")
    except metadata.PackageNotFoundError:
        from .. import __version__

        return __version__


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", envvar="PAGER_DB", metavar="PATH", help="Database file (default: <user data dir>/pager/pager.db).", show_envvar=True)] = None,
    tz: Annotated[Optional[str], typer.Option("--tz", metavar="ZONE", help="IANA zone for display and for times without an offset (default: the config's timezone).")] = None,
    now: Annotated[Optional[str], typer.Option("--now", envvar="PAGER_NOW", metavar="TIME", help="Replay: take this TIME as the current time.", show_envvar=True)] = None,
    json_: Annotated[bool, typer.Option("--json", help="Machine output: plain JSON (NDJSON for streams) on stdout.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_version)] = False,
) -> None:
    """On-call schedules, incidents and escalating pages, over one SQLite file.

    Cron: `* * * * * /full/path/to/pager escalate-check`.
    """
    _drop_bad_terminal_size()
    check_utf8(ctx)  # every command checks its own arguments again in context.get()
    ctx.obj = Ctx(db_option=db, tz_option=tz, now_option=now, json=json_)
    if now or tz:
        from ..app.clock import Clock
        from ..times import UTC, zone

        if tz:
            zone(tz)
        Clock.from_option(now, UTC)  # a bad --now / PAGER_NOW is a usage error in every command


def _drop_bad_terminal_size() -> None:
    """COLUMNS/LINES that are not plain ASCII numbers would crash Rich (it checks
    with str.isdigit(), which accepts '²'): ignore them, as if unset."""
    import os

    for name in ("COLUMNS", "LINES"):
        value = os.environ.get(name)
        if value is not None and not (value.isascii() and value.isdigit()):
            del os.environ[name]


def main() -> None:
    from . import context

    context.PROCESS_ENDS_AFTER = True
    app(prog_name="pager")
