"""A request's head, read as the standard library's
`BaseHTTPRequestHandler.parse_request` reads it (the same request-line checks,
the same error answers, the same limits: lines of 64 KiB, 100 header fields),
but with the header fields kept in a plain dict. The standard library hands
them to the `email` package's parser, which cost about as much CPU as all the
rest of a PagerDuty event's reading and checking.

A field is found by its name in any case; of a repeated field, the first
counts; the value is what follows the colon, leading blanks dropped, a folded
continuation line kept (as `email.message.Message.get` gives them). As with
`email`, a line that is not a field ends the fields (the rest of the head
is read and dropped).
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

MAX_LINE = 65536
MAX_FIELDS = 100
_FIELD = re.compile(r"[!-9;-~]*:")  # a field's name and colon (email's `headerRE`, without mbox's "From ")


class Headers(dict):
    """Header fields by lower-case name."""

    __slots__ = ()

    def get(self, name: str, default: Any = None) -> Any:  # noqa: D102
        return dict.get(self, name.lower(), default)


def read_headers(rfile) -> Headers | tuple[HTTPStatus, str]:  # noqa: ANN001
    """The fields of the head on `rfile` (up to its blank line); or the error
    answer (431, and why) when a line is too long or there are too many."""
    fields: dict[str, list[str]] = {}
    last: list[str] | None = None
    ended, count = False, 0
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long"
        count += 1
        if count > MAX_FIELDS:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers"
        if line in (b"\r\n", b"\n", b""):
            break
        if ended:
            continue
        text = line.decode("iso-8859-1")
        if text[0] in " \t" and last is not None:  # a folded continuation of the last field
            last.append(text)
            continue
        found = _FIELD.match(text)
        if found is None:
            ended = True
            continue
        last = [text[found.end():].lstrip(" \t")]
        fields.setdefault(text[:found.end() - 1].lower(), last)
    return Headers((name, "".join(parts).rstrip("\r\n")) for name, parts in fields.items())


def parse_request(handler) -> bool:  # noqa: ANN001, C901 - a BaseHTTPRequestHandler
    """`BaseHTTPRequestHandler.parse_request`, with `read_headers`: sets the
    handler's command, path, request_version, headers and close_connection;
    False when an error answer was sent."""
    handler.command = None
    handler.request_version = version = handler.default_request_version
    handler.close_connection = True
    requestline = str(handler.raw_requestline, "iso-8859-1").rstrip("\r\n")
    handler.requestline = requestline
    words = requestline.split()
    if not words:
        return False
    if len(words) >= 3:
        version = words[-1]
        number = version[5:].split(".") if version.startswith("HTTP/") else []
        if len(number) != 2 or not all(part.isdigit() and len(part) <= 10 for part in number):
            handler.send_error(HTTPStatus.BAD_REQUEST, f"Bad request version ({version!r})")
            return False
        major_minor = int(number[0]), int(number[1])
        if major_minor >= (1, 1) and handler.protocol_version >= "HTTP/1.1":
            handler.close_connection = False
        if major_minor >= (2, 0):
            handler.send_error(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[5:]})")
            return False
        handler.request_version = version
    if not 2 <= len(words) <= 3:
        handler.send_error(HTTPStatus.BAD_REQUEST, f"Bad request syntax ({requestline!r})")
        return False
    command, path = words[:2]
    if len(words) == 2:
        handler.close_connection = True
        if command != "GET":
            handler.send_error(HTTPStatus.BAD_REQUEST, f"Bad HTTP/0.9 request type ({command!r})")
            return False
    handler.command = command
    handler.path = "/" + path.lstrip("/") if path.startswith("//") else path
    headers = read_headers(handler.rfile)
    if not isinstance(headers, Headers):
        handler.send_error(*headers)
        return False
    handler.headers = headers
    connection = headers.get("connection", "").lower()
    if connection == "close":
        handler.close_connection = True
    elif connection == "keep-alive" and handler.protocol_version >= "HTTP/1.1":
        handler.close_connection = False
    if (headers.get("expect", "").lower() == "100-continue" and handler.protocol_version >= "HTTP/1.1"
            and handler.request_version >= "HTTP/1.1"):
        return handler.handle_expect_100()
    return True
