"""Untrusted text made inert for a terminal: every control character (ESC, CSI,
NUL, …) and every bidirectional control (U+202E RIGHT-TO-LEFT OVERRIDE and its
kin, which reorder what follows them on screen) is shown as an escape such as
`\\x1b` or `\\u202e`, so no alert can move the cursor, clear the screen,
retitle a window or make its text read differently from what it is."""

from __future__ import annotations

import re

# C0 and C1 controls (not tab or newline), DEL, the line/paragraph separators,
# the bidi marks, embeddings, overrides and isolates, and the Arabic letter mark.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI}]")
# the same, and newline and tab too: for text that must stay on its line
_INLINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029{_BIDI}]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object) -> str:
    """`value` as text with control characters escaped (tab and newline kept)."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_escape, text)


def inline(value: object) -> str:
    """`value` as text on one line: every control character escaped, newlines
    and tabs too (`\\x0a`, `\\x09`), so a title or a note cannot start a line of
    its own (a forged `PAGE …`) or reorder what follows it."""
    text = "" if value is None else str(value)
    return _INLINE.sub(_escape, text)


def one_line(value: object) -> str:
    """`printable`, with newlines and tabs folded to spaces."""
    return printable(value).replace("\r", " ").replace("\n", " ").replace("\t", " ")
