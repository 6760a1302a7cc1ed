"""The `serve:` section of the config (PRODUCT.md §10): where `pager serve`
listens, its Bearer token, and the public URL that puts ack links into
messages. The token may come from `${ENV}`: no message here shows it."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, model_validator

DEFAULT_LISTEN = "127.0.0.1:8080"
MIN_TOKEN_CHARS = 16


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8080` for IPv6) → (host, port); ValueError when it is not one."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ValueError("listen must be HOST:PORT, like 127.0.0.1:8080 (port 0 to 65535)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or any(c.isspace() for c in host):
        raise ValueError("listen must be HOST:PORT, like 127.0.0.1:8080")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen(value: str) -> str:
    parse_listen(value)
    return value.strip()


def _public_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        raise ValueError("bad public_url: use an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError("public_url takes no query or fragment: the link path is added to it")
    return value.rstrip("/")


def _token(value: str) -> str:
    if len(value) < MIN_TOKEN_CHARS or any(c.isspace() for c in value):
        raise ValueError(f"token must have at least {MIN_TOKEN_CHARS} characters and no spaces"
                         " (e.g. from `openssl rand -hex 32`)")
    return value


class Serve(BaseModel):
    """The `serve:` section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: Annotated[StrictStr, AfterValidator(_listen)] = DEFAULT_LISTEN
    token: Annotated[StrictStr, Field(min_length=1), AfterValidator(_token)] | None = None
    public_url: Annotated[StrictStr, AfterValidator(_public_url)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _token_beyond_loopback(self) -> Serve:
        if not is_loopback(parse_listen(self.listen)[0]) and self.token is None:
            raise ValueError("listening beyond loopback needs a token (token: \"${PAGER_SERVE_TOKEN}\")")
        return self

    def to_json(self) -> dict[str, Any]:
        return {"listen": self.listen, "token": self.token, "public_url": self.public_url}
