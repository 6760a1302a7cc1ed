"""The PagerDuty Events API v2 format.

A body with `event_action`, or with `routing_key` and `payload`. Its service
is None and `routing_key` is set, so the routing key decides. A trigger
takes its title from `payload.summary` and its details from the payload's
`source`, `component`, `group`, `class`, `custom_details` and `timestamp`
and the body's `client`, `client_url`, `links` and `images`; a trigger
without `dedup_key` gets a random one (`generated_key`). An acknowledge or
resolve needs a `dedup_key`.

A change event (what `/v2/change/enqueue` takes: `routing_key` and `payload`
with a `summary`, no `event_action`) is a record with the action `change`:
never an incident, it is added to the timeline of the open incidents of the
service its routing key selects. Its title is `payload.summary`.
"""

from __future__ import annotations

import uuid

from ..severity import DEFAULT_SEVERITY
from .record import (
    Alert, one_record,
    BadRecord,
    key_field,
    kind_of,
    name_field,
    object_field,
    severity_field,
    show,
    title_field,
)

_ACTIONS = ("trigger", "acknowledge", "resolve")
_PAYLOAD_DETAILS = ("source", "component", "group", "class", "custom_details", "timestamp")
_BODY_DETAILS = ("client", "client_url", "links", "images")


def matches(obj: dict) -> bool:
    """Whether an object is a PagerDuty Events v2 body."""
    return "event_action" in obj or ("routing_key" in obj and "payload" in obj)


def records(obj: dict, line: int, default_service: str | None = None) -> list[Alert]:
    """The one record of a body (a bad record when a field is wrong). The
    default service is not used: the routing key decides."""
    return one_record(obj, line, _alert)


def _alert(obj: dict, line: int) -> Alert:
    warnings: list[str] = []
    action = obj.get("event_action")
    if action is None and "routing_key" in obj and "payload" in obj:
        return _change(obj, line, warnings)
    if action is None:
        action = "trigger"
    elif not isinstance(action, str):
        raise BadRecord(f"event_action is {kind_of(action)}, not a string")
    elif action.strip().lower() not in _ACTIONS:
        raise BadRecord(f"unknown event_action {show(action)} (expected trigger, acknowledge or resolve)")
    else:
        action = action.strip().lower()
    routing_key = name_field(obj.get("routing_key"), "routing_key")
    dedup_key = key_field(obj.get("dedup_key"), "dedup_key")
    payload = object_field(obj.get("payload"), "payload")
    if action != "trigger":
        if dedup_key is None:
            raise BadRecord(f"event_action {action} needs a dedup_key")
        return Alert(0, line, action, None, routing_key, None, DEFAULT_SEVERITY, dedup_key, {}, warnings)
    title = title_field(payload.get("summary"), "payload.summary", warnings)
    if title is None:
        raise BadRecord("missing title (a trigger needs payload.summary)")
    severity = severity_field(payload.get("severity"), warnings)
    details = {k: payload[k] for k in _PAYLOAD_DETAILS if payload.get(k) is not None}
    details.update((k, obj[k]) for k in _BODY_DETAILS if obj.get(k) is not None)
    generated = dedup_key is None
    if generated:
        dedup_key = uuid.uuid4().hex
    return Alert(0, line, "trigger", None, routing_key, title, severity, dedup_key, details, warnings,
                 generated_key=generated)


def _change(obj: dict, line: int, warnings: list[str]) -> Alert:
    """A change event: context for the open incidents of its service."""
    routing_key = name_field(obj.get("routing_key"), "routing_key")
    payload = object_field(obj.get("payload"), "payload")
    title = title_field(payload.get("summary"), "payload.summary", warnings)
    if title is None:
        raise BadRecord("missing title (a change event needs payload.summary)")
    details = {k: payload[k] for k in _PAYLOAD_DETAILS if payload.get(k) is not None}
    details.update((k, obj[k]) for k in _BODY_DETAILS if obj.get(k) is not None)
    return Alert(0, line, "change", None, routing_key, title, DEFAULT_SEVERITY, None, details, warnings)
