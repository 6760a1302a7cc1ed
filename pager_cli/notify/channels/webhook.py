"""`webhook:` contacts: POST the delivery JSON (PRODUCT.md §9) with http.client.

Connections are kept alive and reused (a small pool per scheme, host and
port), and one TLS context serves every https send, so a burst of deliveries
to one receiver pays the TCP and TLS set-up once per worker, not once per
delivery. Redirects are never followed: a 3xx fails.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import threading
from base64 import b64encode
from urllib.parse import unquote, urlsplit

from .model import FAILED, RETRY, Contact, Message, Result, http_result, network_error

MAX_IDLE = 32  # idle connections kept per (scheme, host, port)
MAX_DRAIN = 64 * 1024  # a longer answer body is not read: the connection is dropped instead
USER_AGENT = "pager-cli"

_idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
_lock = threading.Lock()
_tls = None


def _tls_context():  # noqa: ANN202
    """One default (verifying) TLS context for the process: loading the CA
    store costs milliseconds, paid once."""
    global _tls
    if _tls is None:
        import ssl

        _tls = ssl.create_default_context()
    return _tls


def _take(key: tuple[str, str, int], timeout: float, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
    """An idle connection to `key` (and True), or a new one (and False)."""
    conn = None
    with _lock:
        pool = _idle.get(key)
        if pool and not fresh:
            conn = pool.pop()
    if conn is not None:
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, True
    scheme, host, port = key
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=_tls_context()), False
    return http.client.HTTPConnection(host, port, timeout=timeout), False


def _give_back(key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
    with _lock:
        pool = _idle.setdefault(key, [])
        if len(pool) < MAX_IDLE:
            pool.append(conn)
            return
    conn.close()


def close_idle() -> None:
    """Close every kept-alive connection (tests, and a process about to exit)."""
    with _lock:
        conns = [c for pool in _idle.values() for c in pool]
        _idle.clear()
    for conn in conns:
        conn.close()


def signature(secret: str, body: bytes) -> str:
    """The X-Pager-Signature value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _request(contact: Contact, message: Message) -> tuple[tuple[str, str, int], str, dict[str, str]] | Result:
    try:
        url = urlsplit(str(contact.target))
        port = url.port
    except ValueError:
        return Result(FAILED, "bad webhook URL")
    if url.scheme not in ("http", "https") or not url.hostname:
        return Result(FAILED, "bad webhook URL: not http(s)")
    key = (url.scheme, url.hostname, port or (443 if url.scheme == "https" else 80))
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    headers = {"User-Agent": USER_AGENT}
    if url.username is not None:
        credentials = f"{unquote(url.username)}:{unquote(url.password or '')}"
        headers["Authorization"] = "Basic " + b64encode(credentials.encode()).decode()
    headers.update(dict(contact.headers))
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = message.idempotency_key
    if contact.secret:
        headers["X-Pager-Signature"] = signature(contact.secret, message.body)
    return key, path, headers


def send(contact: Contact, message: Message) -> Result:
    prepared = _request(contact, message)
    if isinstance(prepared, Result):
        return prepared
    key, path, headers = prepared
    body = message.body
    conn, reused = _take(key, contact.timeout)
    try:
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            # The receiver had closed the idle connection: once more, on a new one.
            conn.close()
            conn, reused = _take(key, contact.timeout, fresh=True)
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
    except ValueError:  # a header or URL with characters HTTP forbids; its text shows the value
        conn.close()
        return Result(FAILED, "bad webhook URL or header")
    except (OSError, http.client.HTTPException) as error:
        conn.close()
        if isinstance(error, http.client.InvalidURL):
            return Result(FAILED, "bad webhook URL")
        if isinstance(error, http.client.HTTPException) and not isinstance(error, OSError):
            return Result(RETRY, "bad HTTP answer")
        return network_error(error, contact.timeout)
    _finish(key, conn, response)
    return http_result(response.status)


def _finish(key: tuple[str, str, int], conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
    """Read the rest of a short answer and keep the connection for the next
    send; drop it when the receiver closes it or the answer is long. The status
    already decided the result: a failure here only costs the connection."""
    length = response.getheader("Content-Length")
    if response.will_close or (length and length.isdigit() and int(length) > MAX_DRAIN):
        conn.close()
        return
    try:
        response.read(MAX_DRAIN + 1)
    except (OSError, http.client.HTTPException):
        conn.close()
        return
    if response.isclosed():
        _give_back(key, conn)
    else:
        conn.close()
