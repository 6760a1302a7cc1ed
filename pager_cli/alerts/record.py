"""The alert record, the limits, and the field checks every format shares.

A record is one `Alert`; a bad record is an `Alert` with `error` set to the
reason (`bad_record`), and reading goes on with the next one. Inside a
format, a field that cannot be used raises `BadRecord`, which the format
turns into a bad record.

Limits: titles are stripped of surrounding whitespace and cut at
MAX_TITLE_CHARS characters (with a warning), otherwise kept literally (markup
and escape sequences are made harmless where they are displayed); dedup keys,
service names and routing keys have at most MAX_KEY_CHARS characters. An
unknown severity is `error` with a warning, never a bad record. The limits
on the input itself (MAX_RECORD_BYTES, MAX_DEPTH) are enforced by
`json_strict` and `stream`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..describe import kind_of, show  # noqa: F401 - the formats import them from here
from ..severity import DEFAULT_SEVERITY, normalize_severity

MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_TITLE_CHARS = 1024
MAX_KEY_CHARS = 1024


@dataclass(slots=True)
class Alert:
    """One record of an alert stream, normalized.

    `service` is a service name or None (then `routing_key`, then the
    `--service` default decide); `dedup_key` None means it is computed later
    from the title. A bad record has `error` set to the reason; its other
    fields may be empty.
    """

    record: int
    line: int
    action: str  # "trigger" | "acknowledge" | "resolve" | "change" (context, never an incident)
    service: str | None
    routing_key: str | None
    title: str | None
    severity: str
    dedup_key: str | None
    details: dict
    warnings: list[str]
    error: str | None = None
    generated_key: bool = False
    # Alertmanager-shaped bodies only: the body's `receiver`, a service name
    # to try when the alert has no `service` label ("" when the body has none).
    receiver: str | None = None


class BadRecord(Exception):
    """A record that cannot be used; the message is the reason."""


def bad_record(line: int, reason: str) -> Alert:
    """A bad record starting at `line`."""
    return Alert(0, line, "trigger", None, None, None, DEFAULT_SEVERITY, None, {}, [], error=reason)


def one_record(obj: dict, line: int, build: Callable[..., Alert], *args: Any) -> list[Alert]:
    """The records of a body that is one record: `build(obj, line, *args)`, or
    the bad record its BadRecord names."""
    try:
        return [build(obj, line, *args)]
    except BadRecord as e:
        return [bad_record(line, str(e))]


def clip_title(title: str, warnings: list[str]) -> str:
    """A title cut at MAX_TITLE_CHARS characters, with a warning if it was."""
    if len(title) > MAX_TITLE_CHARS:
        warnings.append(f"title cut to {MAX_TITLE_CHARS} characters")
        title = title[:MAX_TITLE_CHARS].rstrip()
    return title


def title_field(value: Any, field_name: str, warnings: list[str]) -> str | None:
    """A title: a string, stripped and clipped; empty is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{field_name} is {kind_of(value)}, not a string")
    return clip_title(value.strip(), warnings) or None


def name_field(value: Any, field_name: str) -> str | None:
    """A service name or routing key: a string, stripped; empty is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{field_name} is {kind_of(value)}, not a string")
    value = value.strip()
    if len(value) > MAX_KEY_CHARS:
        raise BadRecord(f"{field_name} is longer than {MAX_KEY_CHARS} characters")
    return value or None


def key_field(value: Any, field_name: str) -> str | None:
    """A dedup key: a string kept as it is; empty is none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{field_name} is {kind_of(value)}, not a string")
    if len(value) > MAX_KEY_CHARS:
        raise BadRecord(f"{field_name} is longer than {MAX_KEY_CHARS} characters")
    return value


def object_field(value: Any, field_name: str) -> dict:
    """A JSON object; missing is empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadRecord(f"{field_name} is {kind_of(value)}, not an object")
    return value


class _Unset(str):
    """The type of UNSET_SEVERITY."""


# A record that gives no severity has this one: `error` (DEFAULT_SEVERITY), told
# apart by identity, so that `trigger - --severity` can stand in for it.
UNSET_SEVERITY: str = _Unset(DEFAULT_SEVERITY)


def details_field(value: Any, field_name: str) -> dict:
    """Details: a JSON object, or a string kept as `{"text": …}` (GoAlert, the
    PagerDuty v1 examples send one); missing or empty is none."""
    if isinstance(value, str):
        return {"text": value} if value else {}
    return object_field(value, field_name)


def severity_field(value: Any, warnings: list[str]) -> str:
    """A severity (UNSET_SEVERITY when none is given); an unknown one is `error`
    with a warning, never a bad record."""
    if value is None or value == "":
        return UNSET_SEVERITY
    severity = normalize_severity(value)
    if severity is None:
        warnings.append(f"unknown severity {show(value)}, using {DEFAULT_SEVERITY}")
        return DEFAULT_SEVERITY
    return severity
