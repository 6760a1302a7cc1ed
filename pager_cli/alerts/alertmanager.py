"""The Prometheus Alertmanager webhook format, and the bodies shaped like it.

A body with an `alerts` list and `"version": "4"` (Alertmanager), `"version":
"1"` (Grafana's webhook: the same shape plus `orgId`, `state`, `message`…;
either may be a number), or no `version` at all when its first alert is an
object with `labels` (GoAlert's test body, hand-written ones) gives
one record per alert: `firing` triggers and `resolved` resolves (an alert
without a status takes the body's); dedup key `am:<fingerprint>`, computed
as Alertmanager does when missing; title `annotations.summary` else
`labels.alertname`; service `labels.service`, with the body's `receiver`
carried along for the caller to route by (then `--service`, then the
config's default service); severity `labels.severity`. A bad alert is a bad record and does not stop the others.
"""

from __future__ import annotations

from typing import Any

from .record import (
    Alert,
    BadRecord,
    bad_record,
    key_field,
    kind_of,
    name_field,
    object_field,
    severity_field,
    show,
    title_field,
)

_STATUS = {"firing": "trigger", "resolved": "resolve"}


def alertmanager_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over the labels
    sorted by name, each name and value followed by the byte 0xFF, as 16
    lowercase hex digits."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8", "surrogatepass"):
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
            h = ((h ^ 0xFF) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


_VERSIONS = ("4", "1")  # Alertmanager's, Grafana's
_EXTRA = ("startsAt", "endsAt", "generatorURL", "silenceURL", "dashboardURL", "panelURL", "values", "valueString")


def matches(obj: dict) -> bool:
    """Whether an object is an Alertmanager-shaped webhook body."""
    alerts = obj.get("alerts")
    if not isinstance(alerts, list):
        return False
    version = obj.get("version")
    if version is None:
        return bool(alerts) and isinstance(alerts[0], dict) and "labels" in alerts[0]
    if type(version) is int:
        version = str(version)
    return version in _VERSIONS


def records(body: dict, line: int, default_service: str | None = None) -> list[Alert]:
    """One record per alert of the body, in order (a bad record for a bad
    alert). The default service is not used: the caller routes."""
    out = []
    receiver = body.get("receiver")
    receiver = receiver.strip() if isinstance(receiver, str) else ""
    for index, alert in enumerate(body["alerts"], 1):
        try:
            out.append(_alert(alert, body, line, receiver))
        except BadRecord as e:
            out.append(bad_record(line, f"Alertmanager alert {index}: {e}"))
    return out


def _alert(alert: Any, body: dict, line: int, receiver: str) -> Alert:
    if not isinstance(alert, dict):
        raise BadRecord(f"is {kind_of(alert)}, not an object")
    warnings: list[str] = []
    status = alert.get("status")
    if status is None:
        status = body.get("status")
    if status is None:
        raise BadRecord("missing status")
    if not isinstance(status, str):
        raise BadRecord(f"status is {kind_of(status)}, not a string")
    action = _STATUS.get(status.strip().lower())
    if action is None:
        raise BadRecord(f"unknown status {show(status)} (expected firing or resolved)")
    labels = object_field(alert.get("labels"), "labels")
    for name, value in labels.items():
        if not isinstance(value, str):
            raise BadRecord(f"labels.{name} is {kind_of(value)}, not a string")
    annotations = object_field(alert.get("annotations"), "annotations")
    fingerprint = alert.get("fingerprint")
    if fingerprint is None or fingerprint == "":
        fingerprint = alertmanager_fingerprint(labels)
    elif not isinstance(fingerprint, str):
        raise BadRecord(f"fingerprint is {kind_of(fingerprint)}, not a string")
    dedup_key = key_field("am:" + fingerprint, "fingerprint")
    title = title_field(annotations.get("summary"), "annotations.summary", warnings)
    if title is None:
        title = title_field(labels.get("alertname"), "labels.alertname", warnings)
    if title is None and action == "trigger":
        raise BadRecord("missing title (no annotations.summary or labels.alertname)")
    service = name_field(labels.get("service"), "labels.service")
    severity = severity_field(labels.get("severity"), warnings)
    details: dict[str, Any] = {"labels": labels, "annotations": annotations}
    for name in _EXTRA:
        if alert.get(name) not in (None, ""):
            details[name] = alert[name]
    if body.get("externalURL") is not None:
        details["externalURL"] = body["externalURL"]
    return Alert(0, line, action, service, None, title, severity, dedup_key, details, warnings, receiver=receiver)
