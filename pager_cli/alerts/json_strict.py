"""JSON text → values, strictly: only what serializes back to standard JSON.

Used for every JSON document on stdin, and meant for any other JSON a user
hands us (`trigger --details`, an HTTP body), so all of it is judged alike:

- `loads_strict(text)`: `json.loads`, but no NaN or Infinity, no numbers
  beyond the float range, no integers of more than 4300 digits; raises
  ValueError (`json.JSONDecodeError` for bad syntax, `TooDeep` for nesting
  that would exhaust the stack);
- `limits_problem(value)`: what is wrong with a parsed value — JSON nesting
  deeper than MAX_DEPTH, a lone UTF-16 surrogate in a string or key — or
  None, so `details` always serializes back to standard JSON;
- `json_error_reason(exc, text)`: plain words for why `loads_strict` failed;
- `parse_details(text)`: a `details` object given on the command line, judged
  by all of the above.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import UsageError
from .record import MAX_DEPTH, MAX_RECORD_BYTES, kind_of

_INF = float("inf")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_TOO_DEEP = f"JSON nested deeper than {MAX_DEPTH} levels"
_SURROGATE = "invalid JSON: a \\u escape that is not valid Unicode (a lone surrogate)"


class TooDeep(ValueError):
    """JSON nested so deep that parsing it would exhaust the stack."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=_reject_constant)
_SCAN_ONCE = _DECODER.scan_once


def loads_strict(text: str) -> Any:
    """The value of a JSON text; ValueError if it is not strict JSON.

    The scanner is called directly for speed, and the full decoder only to
    raise the error of bad text. The depth and surrogate limits are checked
    apart, by `limits_problem`.
    """
    try:
        try:
            value, end = _SCAN_ONCE(text, 0)
        except StopIteration:
            return _DECODER.decode(text)
        if end != len(text) and text[end:].strip(" \t\r\n"):
            return _DECODER.decode(text)
        return value
    except RecursionError:
        raise TooDeep(_TOO_DEEP) from None


def limits_problem(value: Any, text: str | None = None) -> str | None:
    """Why a parsed value breaks the limits (nesting, lone surrogates), or None.

    Given the `text` it was parsed from, the value is walked only when that
    text could break them, so a stream of small records stays fast.
    """
    if text is not None:
        deep = len(text) > MAX_DEPTH and text.count("{") + text.count("[") > MAX_DEPTH
        if not deep and not ("\\u" in text and _SURROGATE_ESCAPE.search(text)):
            return None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                return _TOO_DEEP
            for key, child in item.items():
                if _LONE_SURROGATE.search(key):
                    return _SURROGATE
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                return _TOO_DEEP
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and _LONE_SURROGATE.search(item):
            return _SURROGATE
    return None


def json_error_reason(exc: ValueError, text: str, start: int = 1) -> str:
    """Plain words for why `text` (a document from line `start`) is not JSON."""
    if isinstance(exc, TooDeep):
        return _TOO_DEEP
    if isinstance(exc, json.JSONDecodeError):
        msg = exc.msg.removesuffix(" at")
        if exc.pos >= len(text.rstrip()):
            end = start + text.count("\n", 0, len(text.rstrip()))
            return f"invalid JSON: document not finished when the input ended (line {end}): {msg}"
        return f"invalid JSON at line {start + exc.lineno - 1} column {exc.colno}: {msg}"
    if "digits" in str(exc):
        return "invalid JSON: an integer with more than 4300 digits"
    return f"invalid JSON: {exc}"


def parse_details(text: str, option: str = "--details") -> dict:
    """A `details` object given on the command line, under the same rules as a
    stdin record (strict JSON, valid Unicode, no NaN or Infinity, nesting of at
    most MAX_DEPTH); UsageError (exit 2) otherwise."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RECORD_BYTES:
        raise UsageError(f"{option} is larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB")
    try:
        value = loads_strict(text)
    except ValueError as e:
        raise UsageError(f"{option}: {json_error_reason(e, text, 1)}") from None
    problem = limits_problem(value)
    if problem:
        raise UsageError(f"{option}: {problem}")
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object, not {kind_of(value)}", hint="""--details '{"host": "db1"}'""")
    return value
