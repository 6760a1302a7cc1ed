"""Untrusted text made inert for a terminal: every control character (ESC, CSI,
NUL, …) is shown as an escape such as `\\x1b`, so no alert can move the cursor,
clear the screen or retitle a window."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """`value` as text with control characters escaped (tab and newline kept)."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_escape, text)


def one_line(value: object) -> str:
    """`printable`, with newlines and tabs folded to spaces."""
    return printable(value).replace("\r", " ").replace("\n", " ").replace("\t", " ")
