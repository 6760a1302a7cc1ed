"""The HTTP server: the standard library's ThreadingHTTPServer, one thread per
connection, keep-alive, Nagle's algorithm off (with it on, each keep-alive
answer waits out a 40 ms delayed ACK: 89 requests/s instead of thousands).

A connection may wait IDLE_TIMEOUT for its next request; once the request
line is in, the headers and the body must all arrive within `read_timeout`
(one deadline for the whole request, not per read: a client sending a byte a
second is cut off all the same). Bodies over MAX_BODY get 413, their bytes dropped unparsed. No log
line shows a body, a header value, a token or a query string.

An endpoint may answer later, from another thread (`Request.later`: the
group-commit writer answers PagerDuty events once committed), while the
connection's thread reads the next request; answers still go out in the
order of their requests, and the connection closes only once the last is out.
"""

from __future__ import annotations

import functools
import io
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import head
from .wire import LATER, Request, Response, json_response

MAX_BODY = 1024 * 1024
DISCARD_LIMIT = 8 * MAX_BODY  # what a refused body may still send before the connection closes
IDLE_TIMEOUT = 75.0  # seconds a keep-alive connection may wait for its next request


def _timeval(seconds: float) -> bytes:
    """`seconds` as a socket option's struct timeval (never 0, which would mean no limit)."""
    whole = int(seconds)
    return struct.pack("@ll", whole, max(1, int((seconds - whole) * 1_000_000)))


class _DeadlineSocketReader(io.RawIOBase):
    """A socket read with one deadline per request: waiting for a request may
    last IDLE_TIMEOUT; from its first byte, the whole request (line, headers,
    body) must arrive within `read_timeout`. Each recv waits only for what is
    left, so a trickle of bytes does not keep the connection.

    The socket stays blocking and the kernel keeps the time (SO_RCVTIMEO, and
    SO_SNDTIMEO for a client that does not read its answers): a timeout set on
    a Python socket makes each recv and send a poll() first, two system calls
    and two hand-overs of the interpreter lock instead of one."""

    def __init__(self, sock: socket.socket, read_timeout: float):
        super().__init__()
        self.sock = sock
        self.read_timeout = read_timeout
        self.idle = True
        self.deadline = time.monotonic() + IDLE_TIMEOUT
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, _timeval(read_timeout))

    def next_request(self) -> None:
        self.idle = True
        self.deadline = time.monotonic() + IDLE_TIMEOUT

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("request deadline passed")
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(left))
        try:
            count = self.sock.recv_into(buffer)
        except BlockingIOError:  # SO_RCVTIMEO ran out
            raise TimeoutError("request deadline passed") from None
        if self.idle and count:
            self.idle = False
            self.deadline = time.monotonic() + self.read_timeout
        return count


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "pager"
    server: "Server"

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineSocketReader(self.connection, self.server.read_timeout)
        self.rfile = io.BufferedReader(self._reader, 64 * 1024)
        self._owing = False  # an answer is to be written by another thread (`_later`)
        self._written = threading.Lock()  # released by `_later` once it has written that answer
        self._written.acquire()

    def finish(self) -> None:
        self._settle()  # the answer owed is written before the connection closes
        super().finish()

    def _settle(self) -> None:
        """Wait for the answer owed, if any, before the next request is
        parsed and before the connection closes: answers go out in the order
        of their requests, even from a client that sends the next one first."""
        if self._owing:
            self._written.acquire()
            self._owing = False

    def send_error(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        self._settle()  # (a request line too long is answered before it is parsed)
        super().send_error(*args, **kwargs)

    def handle_one_request(self) -> None:
        self._reader.next_request()
        self.server.idle(self, True)
        try:
            super().handle_one_request()
        finally:
            self.server.idle(self, False)
            self.server.arrivals.settled()
        if self.server.stopping:
            self.close_connection = True

    def parse_request(self) -> bool:
        self.server.arrivals.coming()
        self.server.idle(self, False)
        self._settle()  # the last answer is out (a client that waits for it: at once)
        return head.parse_request(self)  # the standard library's, without `email` for the header fields

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._send(json_response(405, {"error": "method not allowed"}), close=True)

    do_DELETE = do_PATCH = do_PUT  # noqa: N815

    def _serve(self) -> None:
        body = self._body()
        if body is None:
            return
        parts = urlsplit(self.path)
        keeps = not self.close_connection and not self.server.stopping and self.request_version != "HTTP/0.9"
        later = functools.partial(self._later, f"{self.command} {parts.path}") if keeps else None
        request = Request(self.command, parts.path, parts.query, self.headers, body, later=later)
        try:
            response = self.server.dispatch(request)
        except Exception as e:  # a bug: never a traceback with a body in it
            self.server.log(f"{self.command} {parts.path}: internal error ({type(e).__name__})")
            response = json_response(500, {"error": "internal error"})
        if response is LATER:  # `_later` writes it; meanwhile this thread reads the next request
            self._owing = True
            return
        self._send(response)

    def _later(self, what: str, make: Callable[[], Response]) -> None:
        """Write the answer `make()` gives to the request `what` ("METHOD path"),
        on the thread that calls this (once per request handed `later`), while
        the connection's own thread may already wait for the next request. The
        write never waits: a client whose socket cannot take a small answer at
        once reads none of its answers (one is owed at a time), and is cut off."""
        try:
            try:
                response = make()
            except Exception as e:  # a bug: never a traceback with a body in it
                self.server.log(f"{what}: internal error ({type(e).__name__})")
                response = json_response(500, {"error": "internal error"})
            data = self._encoded(response, False)
            if self.connection.send(data, socket.MSG_DONTWAIT) != len(data):
                raise BlockingIOError("the client takes no answers")
        except OSError:  # the client is gone, or takes no answers: end the connection
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        finally:
            self._written.release()

    def _body(self) -> bytes | None:
        """The request body; None when an answer was already sent."""
        if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
            self._send(json_response(411, {"error": "send the body with a Content-Length"}), close=True)
            return None
        raw = self.headers.get("Content-Length", "0").strip() or "0"
        if not raw.isascii() or not raw.isdigit():
            self._send(json_response(400, {"error": "bad Content-Length"}), close=True)
            return None
        length = int(raw)
        if length > MAX_BODY:
            self._send(json_response(413, {"error": f"body larger than {MAX_BODY // 1024 // 1024} MiB"}), close=True)
            self._discard(min(length, DISCARD_LIMIT))
            return None
        try:
            body = self.rfile.read(length) if length else b""
        except (TimeoutError, OSError):
            self.server.log(f"{self.command} {urlsplit(self.path).path}: body too slow, connection cut")
            self.close_connection = True
            return None
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _discard(self, length: int) -> None:
        """Read and drop up to `length` bytes of a refused body (within the read
        deadline), so a client still sending it reads the answer instead of a
        reset connection; a client that sends more is cut off all the same."""
        try:
            while length > 0:
                chunk = self.rfile.read1(min(length, 64 * 1024))
                if not chunk:
                    return
                length -= len(chunk)
        except (TimeoutError, OSError):
            return

    def _send(self, response: Response, close: bool = False) -> None:
        """Answer on this thread; `close`: the connection ends after it."""
        close = close or self.server.stopping
        if close:
            self.close_connection = True
        try:
            self.wfile.write(self._encoded(response, close))
        except BlockingIOError:  # SO_SNDTIMEO ran out: the client reads no answers
            raise TimeoutError("answer not taken") from None

    def _encoded(self, response: Response, close: bool) -> bytes:
        """Status line, head and body as one write (one segment for a small
        answer), the head made in one string."""
        if self.request_version == "HTTP/0.9":  # no head
            return response.body
        status = response.status
        phrase = self.responses[status][0] if status in self.responses else ""
        text = (f"{self.protocol_version} {status} {phrase}\r\nServer: pager\r\nDate: {_date()}\r\n"
                f"Content-Type: {response.content_type}\r\nContent-Length: {len(response.body)}\r\n")
        for name, value in response.headers:
            text += f"{name}: {value}\r\n"
        if close:
            text += "Connection: close\r\n"
        return text.encode("latin-1") + b"\r\n" + response.body

    def log_request(self, code="-", size="-") -> None:  # noqa: ANN001
        pass  # no access log: at thousands of requests a second it would be the bottleneck

    def log_error(self, format: str, *args) -> None:  # noqa: A002, ANN002
        # the standard messages hold the request line (which may hold a token in
        # a query string): say only which kind of trouble it was
        if format.startswith("code %d") and args:
            what = f"HTTP {args[0]} (a malformed request)"
        else:
            what = format.split(":")[0].split("%")[0].strip() or "error"
        self.server.log(f"{self.client_address[0]}: {what}")


_dated: tuple[int, str] = (0, "")


def _date() -> str:
    """The Date header's value, made once a second."""
    global _dated
    now = int(time.time())
    if _dated[0] != now:
        from email.utils import formatdate

        _dated = (now, formatdate(now, usegmt=True))
    return _dated[1]


class Arrivals(Protocol):
    """Told when a request begins to arrive on a connection thread (`coming`)
    and when it is answered (`settled`): the group-commit writer waits for
    requests still arriving before it commits."""

    def coming(self) -> None: ...

    def settled(self) -> None: ...


class _Nobody:
    def coming(self) -> None:
        pass

    def settled(self) -> None:
        pass


class Server(ThreadingHTTPServer):
    """Tracks its connections, so a stop can close the idle ones and wait for
    the busy ones."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], dispatch: Callable[[Request], Response], read_timeout: float,
                 log: Callable[[str], None], arrivals: Arrivals | None = None):
        import ipaddress

        try:
            if ipaddress.ip_address(address[0]).version == 6:
                self.address_family = socket.AF_INET6
        except ValueError:
            pass
        self.dispatch = dispatch
        self.arrivals = arrivals or _Nobody()
        self.read_timeout = read_timeout
        self.log = log
        self.stopping = False
        self._idle: dict[Handler, bool] = {}
        self._lock = threading.Lock()
        super().__init__(address, Handler)

    def idle(self, handler: Handler, waiting: bool) -> None:
        with self._lock:
            self._idle[handler] = waiting
        if waiting and self.stopping:
            self._cut(handler)

    def finish_request(self, request, client_address) -> None:  # noqa: ANN001
        try:
            super().finish_request(request, client_address)
        except (ConnectionError, TimeoutError):
            pass

    def shutdown_request(self, request) -> None:  # noqa: ANN001
        with self._lock:
            for handler in [h for h in self._idle if h.connection is request]:
                del self._idle[handler]
        super().shutdown_request(request)

    def drain(self) -> None:
        """Stop accepting (after `shutdown()`), close the idle connections,
        let the busy ones finish their request, wait for them."""
        self.stopping = True
        with self._lock:
            idle = [h for h, waiting in self._idle.items() if waiting]
        for handler in idle:
            self._cut(handler)
        self.server_close()  # joins the connection threads

    @staticmethod
    def _cut(handler: Handler) -> None:
        try:
            handler.connection.shutdown(socket.SHUT_RD)
        except OSError:
            pass

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        self.log(f"{client_address[0]}: connection error ({sys.exc_info()[0].__name__})")
