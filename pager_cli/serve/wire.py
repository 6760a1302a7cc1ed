"""A request and a response as the endpoints see them: plain values, no socket."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Any  # `head.Headers`: .get(name) in any case
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    # Set when the connection can take the answer later: an endpoint that
    # queues work may return LATER and call `later(make)` from another thread
    # once the work is done; `make()` gives the answer, written then.
    later: Callable[[Callable[[], "Response"]], None] | None = None


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


LATER = Response(0, b"")  # an endpoint's answer: it comes through `Request.later`

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # made once: json.dumps with options makes one a call


def json_response(status: int, value: Any, headers: list | None = None) -> Response:
    return Response(status, _ENCODE(value).encode("utf-8"), headers=headers or [])
