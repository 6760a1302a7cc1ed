"""A JSON document gathered over several lines, as a stream gives it.

Each line is scanned for brackets outside strings: the document is whole
when they balance (`CLOSED`), and broken for sure (`CUT`) when a closing
bracket does not match or a string is still open at the end of a line (JSON
strings cannot hold a newline). `Document.continues` says whether a next
line can continue the document at all: the JSON grammar allows only a few
characters there (after `"a": 1` comes `,` or `}`), so a new `{…}` line
means the document was truncated. Only brackets and that grammar are
checked here; the text is parsed by `json_strict` once it is whole.
"""

from __future__ import annotations

import re

_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_VALUE_START = b'{["-0123456789tfn'
_CLOSER = {0x7B: 0x7D, 0x5B: 0x5D}
_OPENER = {0x7D: 0x7B, 0x5D: 0x5B}
OPEN, CLOSED, CUT = 0, 1, 2  # what `Document.feed` says of a document


class Document:
    """A JSON document being gathered over several lines."""

    __slots__ = ("start", "lines", "size", "stack", "last", "open_string")

    def __init__(self, start: int):
        self.start = start
        self.lines: list[bytes] = []
        self.size = 0
        self.stack = bytearray()
        self.last = 0
        self.open_string = False

    def feed(self, raw: bytes) -> int:
        """Add a line: CLOSED when the brackets balance, CUT when the
        document is broken for sure, else OPEN."""
        self.lines.append(raw)
        self.size += len(raw)
        rest = _STRING.sub(b"", raw) if 0x22 in raw else raw
        if 0x22 in rest:  # a string still open at the end of the line
            self.open_string = True
            return CUT
        stack = self.stack
        for b in rest.translate(None, _NOT_BRACKET):
            if b == 0x7B or b == 0x5B:
                stack.append(b)
            elif stack and stack[-1] == _OPENER[b]:
                stack.pop()
                if not stack:
                    return CLOSED
            else:
                return CUT
        tail = raw.rstrip()
        if tail:
            self.last = tail[-1]
        return OPEN

    def continues(self, first: int) -> bool:
        """Whether a line starting with byte `first` can continue the document."""
        top, last = self.stack[-1], self.last
        if last == 0x7B:  # {
            return first == 0x22 or first == 0x7D
        if last == 0x5B:  # [
            return first in _VALUE_START or first == 0x5D
        if last == 0x2C:  # ,
            return first == 0x22 if top == 0x7B else first in _VALUE_START
        if last == 0x3A:  # :
            return first in _VALUE_START
        if last == 0x22 and top == 0x7B and first == 0x3A:  # a key, then its colon
            return True
        return first == 0x2C or first == _CLOSER[top]

    def data(self) -> bytes:
        return b"".join(self.lines)
