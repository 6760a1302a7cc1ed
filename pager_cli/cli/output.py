"""Output: plain JSON on stdout, Rich for people, and untrusted text made inert.

JSON never goes through Rich. Text that came from an alert (titles, details,
notes, names) goes through `literal()` before it reaches a terminal: Rich markup
is not interpreted and control characters (ESC, CSI, newlines, bidi overrides, …)
are shown as `\\xNN` / `\\uNNNN`.

`dumps()` always writes standard JSON in valid UTF-8, whatever a stored value
holds: NaN and ±Infinity become the strings "NaN", "Infinity" and "-Infinity",
a lone UTF-16 surrogate is written as its `\\uXXXX` escape, and nesting deeper
than MAX_NESTING is cut (the inner value becomes the string "…"). Input is
refused long before that (`alerts.json_strict`); this is for what is already stored.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..safetext import inline, one_line, printable

if TYPE_CHECKING:
    from rich.text import Text

# written as \uXXXX escapes (same JSON value): C1 controls, the JavaScript line
# breaks, bidi controls, and lone surrogates, which UTF-8 cannot encode
_JSON_CONTROL = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
MAX_NESTING = 200
_CUT = "…"


def literal(value: object, style: str = "") -> "Text":
    """A Rich Text of `value` that shows exactly what it says: no markup, no escapes."""
    from rich.text import Text

    return Text(inline(value), style=style)


def dumps(document: Any, depth: int = 0) -> str:
    """`document` as one line of standard JSON (see the module's docstring);
    `depth`: how deep it sits in the document it is part of."""
    try:
        text = json.dumps(document, ensure_ascii=False, separators=(", ", ": "), default=str, allow_nan=False)
    except (ValueError, RecursionError):
        text = json.dumps(_standard(document, depth), ensure_ascii=False, separators=(", ", ": "), default=str,
                          allow_nan=False)
    return _JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _standard(document: Any, depth: int = 0) -> Any:
    """A copy of `document` that standard JSON can hold: non-finite floats as
    strings, nesting cut at MAX_NESTING. Iterative, so any depth is safe."""
    root: list = [None]
    stack = [(document, root, 0, depth)]
    while stack:
        value, parent, slot, depth = stack.pop()
        if isinstance(value, float) and value != value:
            value = "NaN"
        elif isinstance(value, float) and value in (_INF, -_INF):
            value = "Infinity" if value > 0 else "-Infinity"
        elif isinstance(value, (dict, list, tuple)):
            if depth >= MAX_NESTING:
                value = _CUT
            elif isinstance(value, dict):
                copy: Any = dict.fromkeys(value)
                stack.extend((child, copy, key, depth + 1) for key, child in value.items())
                value = copy
            else:
                copy = [None] * len(value)
                stack.extend((child, copy, i, depth + 1) for i, child in enumerate(value))
                value = copy
        parent[slot] = value
    return root[0]


_INF = float("inf")


def emit_json(document: Any) -> None:
    """One JSON document (or one NDJSON line) on stdout, plain."""
    sys.stdout.write(dumps(document) + "\n")
    sys.stdout.flush()


def emit_json_array(documents: Iterable[Any]) -> None:
    """A JSON array on stdout, written element by element as they come (the same
    text `emit_json(list(documents))` writes, never the whole list in memory)."""
    write = sys.stdout.write
    write("[")
    first = True
    for document in documents:
        write(("" if first else ", ") + dumps(document, depth=1))
        first = False
    write("]\n")
    sys.stdout.flush()


def line(text: str) -> None:
    """One plain line on stdout (a page, an escalation): flushed, for pipes and cron."""
    sys.stdout.write(one_line(text) + "\n")
    sys.stdout.flush()


def raw(document: bytes) -> None:
    """A document (a calendar, a metrics exposition) on stdout, byte for byte."""
    sys.stdout.flush()
    sys.stdout.buffer.write(document)
    sys.stdout.buffer.flush()


def pages(pages: list, as_json: bool) -> None:
    """Committed pages on the console channel: a `PAGE …` line each on stdout, or
    on stderr when stdout carries JSON. Every command delivers through here."""
    if pages:
        from ..notify.console import deliver

        deliver(pages, quiet=as_json)


def deliveries(outcomes: list) -> None:
    """What a command's own sends came to: a warning on stderr for each delivery
    that failed for good or became unknown (the incident stands; escalation
    goes on). Sent ones are not announced."""
    for outcome in outcomes:
        if outcome.problem:
            warn(f"delivery {outcome.line()}")


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


def table(*columns: str, title: "str | Text | None" = None, fold: tuple[str, ...] = ()):  # noqa: ANN201
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
