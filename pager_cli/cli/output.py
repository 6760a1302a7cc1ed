"""Output: plain JSON on stdout, Rich for people, and untrusted text made inert.

JSON never goes through Rich. Text that came from an alert (titles, details,
notes, names) goes through `literal()` before it reaches a terminal: Rich markup
is not interpreted and control characters (ESC, CSI, …) are shown as `\\xNN`.
"""

from __future__ import annotations

import json
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..safetext import one_line, printable

if TYPE_CHECKING:
    from rich.text import Text

_JSON_CONTROL = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def literal(value: object, style: str = "") -> "Text":
    """A Rich Text of `value` that shows exactly what it says: no markup, no escapes."""
    from rich.text import Text

    return Text(printable(value), style=style)


def dumps(document: Any) -> str:
    text = json.dumps(document, ensure_ascii=False, separators=(", ", ": "), default=str)
    return _JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def emit_json(document: Any) -> None:
    """One JSON document (or one NDJSON line) on stdout, plain."""
    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()


def line(text: str) -> None:
    """One plain line on stdout (a page, an escalation): flushed, for pipes and cron."""
    sys.stdout.write(one_line(text) + "\n")
    sys.stdout.flush()


def silence_stdout() -> None:
    """Point stdout at /dev/null once it is closed or broken, so that nothing
    (not even the flush at exit) writes to it again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


@lru_cache(maxsize=None)
def console(stderr: bool = False):  # noqa: ANN201 - rich is imported lazily
    from rich.console import Console

    # no markup or emoji codes in any string: what we print is what it says
    return Console(stderr=stderr, highlight=False, soft_wrap=False, markup=False, emoji=False)


def say(message: str) -> None:
    """A notice on stderr (plain words we wrote; alert text inside is made printable)."""
    sys.stderr.write(printable(message) + "\n")
    sys.stderr.flush()


def warn(message: str) -> None:
    say(f"Warning: {message}")


def error(message: str, hint: str | None = None) -> None:
    say(f"Error: {message}" + (f" (hint: {hint})" if hint else ""))


def local_time(value, tz) -> str:  # noqa: ANN001
    """`2026-11-23 10:00 CET` in the display zone."""
    if value is None:
        return "—"
    shown = value.astimezone(tz)
    return shown.strftime("%Y-%m-%d %H:%M ") + (shown.tzname() or "")


def table(*columns: str, title: str | None = None, fold: tuple[str, ...] = ()):  # noqa: ANN201
    """A plain Rich table with our column headers. Columns named in `fold` (and
    the last one) wrap long text; the others (ids, times, states) keep one line."""
    from rich import box
    from rich.table import Table

    grid = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left")
    for i, name in enumerate(columns):
        wraps = name in fold or i == len(columns) - 1
        grid.add_column(name, overflow="fold", no_wrap=not wraps)
    return grid


def show(renderable) -> None:  # noqa: ANN001
    console().print(renderable)


SEVERITY_STYLES = {"critical": "bold red", "error": "red", "warning": "yellow", "info": "cyan"}
STATUS_STYLES = {"triggered": "bold red", "acknowledged": "yellow", "resolved": "green"}
