"""The PagerDuty Events API v1 format.

A body with no `routing_key` and a `service_key`, or an `event_type` of
trigger, acknowledge or resolve (Datadog's webhook has an `event_type` of
its own, `service_check`, and stays generic): still sent
by older scripts, and by Alertmanager's `service_key` mode, which also
carries `"event_action": ""` and `"payload": null` — the v1 fields decide.
`service_key` is the routing key, `event_type` the action (trigger,
acknowledge or resolve), `incident_key` the dedup key, `description` the
title; a trigger's details are `details` (an object, or a string kept as
`{"text": …}`) with `client`, `client_url` and `contexts`. A trigger without
`incident_key` gets a random one (`generated_key`); an acknowledge or
resolve needs one. v1 has no severity: the default.
"""

from __future__ import annotations

import uuid

from ..severity import DEFAULT_SEVERITY
from .record import Alert, one_record, BadRecord, details_field, key_field, kind_of, name_field, show, title_field

_ACTIONS = ("trigger", "acknowledge", "resolve")
_BODY_DETAILS = ("client", "client_url", "contexts")


def matches(obj: dict) -> bool:
    """Whether an object is a PagerDuty Events v1 body."""
    if obj.get("routing_key"):
        return False
    event_type = obj.get("event_type")
    return "service_key" in obj or (isinstance(event_type, str) and event_type.strip().lower() in _ACTIONS)


def records(obj: dict, line: int, default_service: str | None = None) -> list[Alert]:
    """The one record of a body (a bad record when a field is wrong). The
    default service is not used: the service key decides."""
    return one_record(obj, line, _alert)


def _alert(obj: dict, line: int) -> Alert:
    warnings: list[str] = []
    action = obj.get("event_type")
    if action is None or action == "":
        raise BadRecord("missing event_type (a PagerDuty v1 event needs trigger, acknowledge or resolve)")
    if not isinstance(action, str):
        raise BadRecord(f"event_type is {kind_of(action)}, not a string")
    if action.strip().lower() not in _ACTIONS:
        raise BadRecord(f"unknown event_type {show(action)} (expected trigger, acknowledge or resolve)")
    action = action.strip().lower()
    routing_key = name_field(obj.get("service_key"), "service_key")
    dedup_key = key_field(obj.get("incident_key"), "incident_key")
    if action != "trigger":
        if dedup_key is None:
            raise BadRecord(f"event_type {action} needs an incident_key")
        return Alert(0, line, action, None, routing_key, None, DEFAULT_SEVERITY, dedup_key, {}, warnings)
    title = title_field(obj.get("description"), "description", warnings)
    if title is None:
        raise BadRecord("missing title (a trigger needs a description)")
    details = dict(details_field(obj.get("details"), "details"))
    for name in _BODY_DETAILS:
        if obj.get(name) not in (None, "") and name not in details:
            details[name] = obj[name]
    generated = dedup_key is None
    if generated:
        dedup_key = uuid.uuid4().hex
    return Alert(0, line, "trigger", None, routing_key, title, DEFAULT_SEVERITY, dedup_key, details, warnings,
                 generated_key=generated)
