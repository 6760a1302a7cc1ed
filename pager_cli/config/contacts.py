"""The notification part of the config file (PRODUCT.md §9): the `smtp:`
section, each user's `contacts` and `notify` rules, and the warning about users
an escalation level can reach but no contact can.

Values may come from `${ENV}` and so hold secrets: no problem message here ever
shows a URL, an address, an argv, a header value, a secret or a password; it
names the field instead (the YAML path says which).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, StrictBool, StrictInt,
                      StrictStr, ValidationInfo, model_validator)

from .. import times
from ..errors import UsageError

if TYPE_CHECKING:
    from .schema import Config

KINDS = ("apprise", "webhook", "email", "command")
DEFAULT_TIMEOUT = timedelta(seconds=10)
MAX_TIMEOUT = timedelta(minutes=10)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class Rate(NamedTuple):
    """At most `count` sends per `window`."""

    count: int
    window: timedelta

    def __str__(self) -> str:
        return f"{self.count}/{times.format_duration(self.window.total_seconds())}"


DEFAULT_RATE = Rate(5, timedelta(minutes=15))


def _duration(value: Any) -> timedelta:
    try:
        return times.parse_duration(value)
    except UsageError as exc:
        raise ValueError(f"{exc.message}: {exc.hint}" if exc.hint else exc.message) from None


def _timeout(value: Any) -> timedelta:
    result = _duration(value)
    if not timedelta(0) < result <= MAX_TIMEOUT:
        raise ValueError("timeout must be longer than 0s and at most 10m")
    return result


def _rate(value: Any) -> Rate:
    text = value.strip() if isinstance(value, str) else ""
    count, slash, window = text.partition("/")
    if not slash or not count.strip().isdigit() or not count.strip().isascii():
        raise ValueError(f"bad rate {value!r}: use N/DURATION like 5/15m")
    try:
        length = times.parse_duration(window.strip())
    except UsageError:
        raise ValueError(f"bad rate {value!r}: the window is a duration, like 5/15m or 3/1h") from None
    if int(count) < 1 or length <= timedelta(0):
        raise ValueError(f"bad rate {value!r}: at least 1 message in a window longer than 0s")
    return Rate(int(count), length)


def _webhook_url(value: str) -> str:
    # Never show the value: a webhook URL often holds a token.
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
        raise ValueError("bad webhook URL: use an http:// or https:// URL with a host")
    return value


def _apprise_url(value: str) -> str:
    if not _SCHEME.fullmatch(value.strip()):
        raise ValueError("bad Apprise URL: use SERVICE://…, like ntfys://ntfy.sh/TOPIC")
    return value.strip()


def _email_address(value: str, info: ValidationInfo) -> str:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+", value):
        raise ValueError("bad email address")
    if (info.context or {}).get("smtp") is False:
        raise ValueError("an email contact needs the top-level smtp: section (host, port, tls, from)")
    return value


def _headers(value: dict[str, str]) -> dict[str, str]:
    for name, text in value.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"bad header name {name!r}")
        if "\r" in text or "\n" in text:
            raise ValueError(f"header {name}: the value must be one line")
    return value


Duration = Annotated[timedelta, PlainValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Smtp(_Model):
    """The `smtp:` section: where email contacts are sent through."""

    host: Annotated[StrictStr, Field(min_length=1)]
    port: Annotated[StrictInt, Field(ge=1, le=65535)] | None = None
    tls: Literal["starttls", "ssl", "none"] = "starttls"
    sender: Annotated[StrictStr, Field(alias="from")]
    username: StrictStr | None = None
    password: StrictStr | None = None

    @model_validator(mode="after")
    def _login_pair(self) -> Smtp:
        if (self.username is None) != (self.password is None):
            raise ValueError("give both username and password, or neither")
        return self

    def to_json(self) -> dict[str, Any]:
        """The shape `channels.SmtpConfig.from_mapping` takes."""
        return {"host": self.host, "port": self.port, "tls": self.tls, "from": self.sender,
                "username": self.username, "password": self.password}


class Contact(_Model):
    """One way to reach a user: exactly one of the four kinds, and options."""

    apprise: Annotated[StrictStr, AfterValidator(_apprise_url)] | None = None
    webhook: Annotated[StrictStr, AfterValidator(_webhook_url)] | None = None
    email: Annotated[StrictStr, AfterValidator(_email_address)] | None = None
    command: Annotated[tuple[StrictStr, ...], Field(min_length=1)] | None = None
    timeout: Annotated[timedelta, PlainValidator(_timeout)] = DEFAULT_TIMEOUT
    updates: StrictBool = False
    rate: Annotated[Rate, PlainValidator(_rate)] = DEFAULT_RATE
    headers: Annotated[dict[StrictStr, StrictStr], AfterValidator(_headers)] = {}
    secret: Annotated[StrictStr, Field(min_length=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        given = [kind for kind in KINDS if kind in value]
        if not given:
            raise ValueError("give one of apprise: URL, webhook: URL, email: ADDRESS or command: [ARGV…]")
        if len(given) > 1:
            raise ValueError(f"give only one of apprise, webhook, email, command (found {' and '.join(given)})")
        return value

    @model_validator(mode="after")
    def _webhook_options(self) -> Contact:
        if self.kind != "webhook":
            extra = [key for key in ("headers", "secret") if key in self.model_fields_set]
            if extra:
                raise ValueError(f"{' and '.join(extra)}: for webhook contacts only")
        return self

    @property
    def kind(self) -> str:
        return next(kind for kind in KINDS if getattr(self, kind) is not None)

    @property
    def target(self) -> str | list[str]:
        value = getattr(self, self.kind)
        return list(value) if isinstance(value, tuple) else value


class NotifyRule(_Model):
    contact: StrictStr
    after: Duration = timedelta(0)


def rule_problems(data: Any) -> list[tuple[tuple, str]]:
    """(YAML path, problem) for each notify rule naming a contact its user does
    not define. Checked on the file's data, so that it is said even when some
    other contact of the user has a problem of its own."""
    import difflib

    found: list[tuple[tuple, str]] = []
    users = data.get("users") if isinstance(data, dict) else None
    for user, value in (users.items() if isinstance(users, dict) else ()):
        if not isinstance(value, dict) or not isinstance(value.get("notify"), list):
            continue
        contacts = value.get("contacts")
        names = sorted(k for k in contacts if isinstance(k, str)) if isinstance(contacts, dict) else []
        for i, rule in enumerate(value["notify"]):
            name = rule.get("contact") if isinstance(rule, dict) else None
            if isinstance(name, str) and name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                known = f" (did you mean {close[0]!r}?)" if close else (
                    f" ({user}'s contacts: {', '.join(names)})" if names else f" ({user} has no contacts)")
                found.append((("users", user, "notify", i, "contact"), f"unknown contact {name!r}{known}"))
    return found


def unreachable_users(config: Config) -> list[tuple[str, str]]:
    """(user, why they can be paged) for each user an escalation level can
    reach, directly or through a schedule's layers or overrides, who has no
    notify rule: such a user is paged on the console line only."""
    reached: dict[str, str] = {}
    for policy_name, policy in config.escalation_policies.items():
        for number, level in enumerate(policy.levels):
            for kind, name in level.targets:
                where = f"escalation policy {policy_name} level {number}"
                if kind == "user":
                    reached.setdefault(name, where)
                elif name in config.schedules:
                    schedule = config.schedules[name]
                    users = [u for layer in schedule.layers for u in layer.users]
                    users += [o.user for o in schedule.overrides]
                    for user in users:
                        reached.setdefault(user, f"{where} through schedule {name}")
    return [(user, why) for user, why in reached.items()
            if user in config.users and not config.users[user].notify]
