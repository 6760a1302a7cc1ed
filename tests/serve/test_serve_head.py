"""The request head as `serve` reads it (`serve.head`): what the standard
library's `email`-based parsing gives, without it."""

from __future__ import annotations

import http.client
import io

import pytest

from pager_cli.serve.head import MAX_FIELDS, Headers, read_headers


def _both(raw: bytes) -> tuple:
    """(ours, the standard library's) for the same head."""
    return read_headers(io.BytesIO(raw)), http.client.parse_headers(io.BytesIO(raw))


@pytest.mark.parametrize("raw", [
    b"Host: x\r\nContent-Length: 12\r\nX-Routing-Key:  abc \r\n\r\n",
    b"host: x\r\nCONTENT-LENGTH: 3\r\ncontent-length: 4\r\n\r\n",  # any case; the first of a repeated field
    b"Authorization: Bearer t\r\n\tcontinued\r\nHost: x\r\n\r\n",  # a folded line is kept
    b"Host: x\n\n",  # bare newlines
    b"Host: x\r\nnot a field\r\nAuthorization: Bearer t\r\n\r\n",  # a line that is no field ends the fields
    b"\r\n",
])
def test_fields_are_found_as_the_standard_library_finds_them(raw):
    ours, theirs = _both(raw)
    assert isinstance(ours, Headers)
    for name in ("Host", "content-length", "Content-Length", "X-Routing-Key", "Authorization", "Missing"):
        assert ours.get(name) == theirs.get(name), name
    assert ours.get("Missing", "") == ""


def test_too_many_fields_or_too_long_a_line_is_431():
    many = b"".join(b"X-%d: y\r\n" % n for n in range(MAX_FIELDS + 1)) + b"\r\n"
    assert read_headers(io.BytesIO(many))[0] == 431
    long = b"X: " + b"y" * 70000 + b"\r\n\r\n"
    assert read_headers(io.BytesIO(long))[0] == 431
