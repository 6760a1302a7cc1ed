"""The plain-text body of a message (email, Apprise): what a person needs to
decide, and how to acknowledge. Built from the delivery JSON document alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ...safetext import one_line, printable

_HEADLINE = {
    "page": "You are paged.",
    "acknowledged": "Acknowledged.",
    "resolved": "Resolved.",
    "digest": "Several incidents, in one message.",
    "test": "This is a test message from pager: this contact works.",
}


def _when(value: object) -> str:
    """An ISO instant as `2026-11-23 09:00 UTC`; anything else as given."""
    if not isinstance(value, str) or not value:
        return "-" if value in (None, "") else one_line(value)
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return one_line(value)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _value(value: object) -> str:
    return printable(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _details(details: object) -> list[str]:
    if details in (None, {}, [], ""):
        return []
    lines = ["", "Details:"]
    if isinstance(details, Mapping):
        for key, value in details.items():
            text = _value(value).replace("\n", "\n    ")
            lines.append(f"  {one_line(key)}: {text}")
    else:
        lines.append("  " + _value(details).replace("\n", "\n  "))
    return lines


def _incident(incident: Mapping[str, Any], level: object) -> list[str]:
    rows = [
        ("Service", incident.get("service")),
        ("Severity", incident.get("severity")),
        ("Status", incident.get("status")),
        ("Alerts", incident.get("alert_count")),
        ("Opened", _when(incident.get("created_at"))),
        ("Level", level),
    ]
    if incident.get("acknowledged_by"):
        rows.append(("Acknowledged by", incident.get("acknowledged_by")))
    if incident.get("resolved_by"):
        rows.append(("Resolved by", incident.get("resolved_by")))
    width = max(len(label) for label, _ in rows) + 1
    return [f"{label + ':':<{width}} {one_line(value if value is not None else '-')}" for label, value in rows]


def _acknowledge(ids: list[object], ack_url: object, event: str) -> list[str]:
    if event in ("acknowledged", "resolved", "test") or not ids:
        return []
    lines = ["", f"Acknowledge: pager ack {' '.join(str(i) for i in ids)}"]
    if ack_url:
        lines.append(f"         or: {one_line(ack_url)}")
    return lines


def plain_text(document: Mapping[str, Any]) -> str:
    """The body for a delivery document (PRODUCT.md §9)."""
    event = str(document.get("event") or "page")
    lines = [printable(document.get("text") or ""), "", _HEADLINE.get(event, f"Event: {one_line(event)}")]
    if event == "digest":
        incidents = [i for i in document.get("incidents") or [] if isinstance(i, Mapping)]
        lines.append("")
        for incident in incidents:
            lines.append(f"#{incident.get('id')} [{one_line(incident.get('severity'))}] "
                         f"{one_line(incident.get('service'))}: {one_line(incident.get('title'))} "
                         f"({one_line(incident.get('status'))}, opened {_when(incident.get('created_at'))})")
        lines += _acknowledge([i.get("id") for i in incidents if i.get("status") not in ("acknowledged", "resolved")],
                              document.get("ack_url"), event)
    else:
        incident = document.get("incident")
        if isinstance(incident, Mapping):
            lines.append("")
            if incident.get("title"):
                lines.append(printable(incident.get("title")))
            lines += _incident(incident, document.get("level"))
            lines += _details(incident.get("details"))
            lines += _acknowledge([incident.get("id")] if incident.get("id") is not None else [],
                                  document.get("ack_url"), event)
    return "\n".join(lines).rstrip() + "\n"
