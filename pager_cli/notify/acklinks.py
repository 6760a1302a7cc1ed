"""Signed ack links (PRODUCT.md §10): `{public_url}/ack/{token}`, put into a
page's messages when `serve.public_url` is set, answered by `pager serve`.

A token is `{delivery}.{action}.{expires}.{signature}`: the delivery the
message was (so the acknowledgement is made as the user it went to), the
action (`ack`), the expiry as Unix seconds, and an HMAC-SHA256 over those
three with a key kept in the database (`pager_instance`, made on first use:
it never leaves the database, so a link cannot be forged by whoever reads
the config). Links are valid for LIFETIME. Pure functions: the caller gives
the key and the time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

LIFETIME = timedelta(hours=24)
ACTIONS = ("ack",)


class BadLink(Exception):
    """A link that is not ours, was changed, or has expired (`expired`)."""

    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired


def _signature(key: bytes, delivery: int, action: str, expires: int) -> str:
    mac = hmac.new(key, f"{delivery}:{action}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def sign(key: bytes, delivery: int, now: datetime, action: str = "ack") -> str:
    """The token of a link for `delivery`, valid LIFETIME from `now`."""
    expires = int((now + LIFETIME).timestamp())
    return f"{delivery}.{action}.{expires}.{_signature(key, delivery, action, expires)}"


def verify(key: bytes, token: str, now: datetime) -> tuple[int, str]:
    """(delivery, action) of a good token; BadLink otherwise."""
    parts = token.split(".")
    if len(parts) != 4 or not parts[0].isascii() or not parts[0].isdigit() or parts[1] not in ACTIONS \
            or not parts[2].isascii() or not parts[2].isdigit() or len(parts[0]) > 18 or len(parts[2]) > 12:
        raise BadLink("this link is not a pager ack link")
    delivery, action, expires = int(parts[0]), parts[1], int(parts[2])
    if not hmac.compare_digest(parts[3].encode("ascii", "replace"),
                               _signature(key, delivery, action, expires).encode("ascii")):
        raise BadLink("this link's signature does not match: it was changed, or made by another database")
    if now >= datetime.fromtimestamp(expires, timezone.utc):
        raise BadLink("this link has expired (links are valid for 24 hours): use `pager ack`", expired=True)
    return delivery, action


def url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/ack/{token}"
