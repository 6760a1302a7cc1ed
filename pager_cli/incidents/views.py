"""The JSON shapes of incidents (PRODUCT.md §3), for every command and message
that shows one."""

from __future__ import annotations

from typing import Any

from ..times import iso


def to_json(incident: Any, entries: list[Any] | None = None) -> dict:
    """The incident as PRODUCT.md §3 shapes it."""
    doc = {
        "id": incident.id, "service": incident.service, "title": incident.title, "severity": incident.severity,
        "status": incident.status, "dedup_key": incident.dedup_key, "alert_count": incident.alert_count,
        "assignees": list(incident.assignees or []), "escalation_level": incident.escalation_level,
        "created_at": iso(incident.created_at), "last_alert_at": iso(incident.last_alert_at),
        "acknowledged_at": iso(incident.acknowledged_at), "acknowledged_by": incident.acknowledged_by,
        "resolved_at": iso(incident.resolved_at), "resolved_by": incident.resolved_by,
        "details": incident.details or {},
    }
    if entries is not None:
        doc["timeline"] = [{"at": iso(e.at), "kind": e.kind, "by": e.by, "text": e.text} for e in entries]
    return doc
