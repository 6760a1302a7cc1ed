"""PagerDuty Events API v2 at the door: the checks PagerDuty itself makes
before it accepts an event, and the answers its clients parse (pdpyras,
go-pagerduty, Alertmanager, Grafana, Zabbix, Uptime Kuma).

- 202 `{"status": "success", "message": "Event processed", "dedup_key": K}`;
- 400 `{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`:
  a 4xx makes the sender drop the event, so it is given only for an event
  that could never be accepted (bad JSON, a missing field, an unknown
  routing key), never for trouble on our side (503).

The routing key may come in an `X-Routing-Key` header instead of the body.
"""

from __future__ import annotations

import json
from typing import Any

from ..severity import SEVERITIES
from .wire import Response, json_response

ACTIONS = ("trigger", "acknowledge", "resolve")
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # as `wire.json_response` encodes


def invalid(errors: list[str]) -> Response:
    return json_response(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})


def accepted(dedup_key: str | None) -> Response:
    # the JSON of {"status": "success", "message": "Event processed", "dedup_key": K}, only K encoded each time
    return Response(202, b'{"status": "success", "message": "Event processed", "dedup_key": '
                    + _ENCODE(dedup_key).encode("utf-8") + b"}")


def change_accepted() -> Response:
    return json_response(202, {"status": "success", "message": "Change event processed"})


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _routing_key(document: dict, header: str | None) -> list[str]:
    if document.get("routing_key") is None and header:
        document["routing_key"] = header.strip()
    if _blank(document.get("routing_key")):
        return ["'routing_key' is missing (in the body or an X-Routing-Key header)"]
    return []


def problems(document: Any, header_key: str | None) -> list[str]:
    """What makes `document` an invalid v2 event (empty when none). Takes the
    routing key from the header into the document when the body has none."""
    if not isinstance(document, dict):
        return ["the event is not a JSON object"]
    errors = _routing_key(document, header_key)
    action = document.get("event_action")
    if not isinstance(action, str) or action not in ACTIONS:
        errors.append("'event_action' is missing or invalid (use trigger, acknowledge or resolve)")
        return errors
    if action != "trigger":
        if _blank(document.get("dedup_key")):
            errors.append(f"'dedup_key' is required for event_action {action}")
        return errors
    payload = document.get("payload")
    if not isinstance(payload, dict):
        return errors + ["'payload' is missing or not an object"]
    for name in ("summary", "source"):
        if _blank(payload.get(name)):
            errors.append(f"'payload.{name}' is missing or blank")
    severity = payload.get("severity")
    if not isinstance(severity, str) or severity not in SEVERITIES:
        errors.append("'payload.severity' is missing or invalid (use critical, error, warning or info)")
    return errors


def change_problems(document: Any, header_key: str | None) -> list[str]:
    """What makes `document` an invalid change event (empty when none)."""
    if not isinstance(document, dict):
        return ["the event is not a JSON object"]
    errors = _routing_key(document, header_key)
    payload = document.get("payload")
    if not isinstance(payload, dict):
        return errors + ["'payload' is missing or not an object"]
    if _blank(payload.get("summary")):
        errors.append("'payload.summary' is missing or blank")
    if "event_action" in document:
        errors.append("a change event has no 'event_action' (send events to /v2/enqueue)")
    return errors
