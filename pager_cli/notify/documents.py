"""The delivery JSON document (PRODUCT.md §9): what a webhook receives as its
body and a command on stdin, and what email and Apprise turn into text. The
incident inside is §3's JSON, as the incident is when the message is claimed."""

from __future__ import annotations

from typing import Any

from ..safetext import one_line

_EVENT_TAG = {"acknowledged": "ACKNOWLEDGED", "resolved": "RESOLVED"}


def incident_text(incident: dict[str, Any], event: str = "page") -> str:
    """`[CRITICAL] payments: DB connection failed (#12)`; an update is tagged
    with what happened instead of the severity."""
    tag = _EVENT_TAG.get(event) or str(incident.get("severity") or "").upper()
    return one_line(f"[{tag}] {incident.get('service')}: {incident.get('title')} (#{incident.get('id')})")


def document(row: Any, incidents: list[dict[str, Any]], ack_url: str | None = None) -> dict[str, Any]:
    """The document for a claimed delivery `row` (its attempt counted):
    `incident` for a page or an update, `incidents` for a digest, neither for
    a test; `ack_url`: a page's signed ack link."""
    doc: dict[str, Any] = {"event": row.event, "delivery": row.id, "attempt": row.attempts, "user": row.user,
                           "contact": row.contact, "level": row.level}
    if row.event == "digest":
        shown = ", ".join(f"#{i['id']}" for i in incidents[:10]) + (" …" if len(incidents) > 10 else "")
        doc["text"] = one_line(f"[DIGEST] {len(incidents)} incidents for {row.user}: {shown}")
        doc["ack_url"] = None
        doc["incidents"] = incidents
    elif row.event == "test":
        doc["text"] = one_line(f"[TEST] pager test message for {row.user} ({row.contact})")
        doc["ack_url"] = None
        doc["incident"] = None
    else:
        incident = incidents[0] if incidents else {}
        doc["text"] = incident_text(incident, row.event)
        doc["ack_url"] = ack_url
        doc["incident"] = incident
    return doc
