"""The generic format: a plain JSON object, or a plain-text title.

Any object that is no other format is read as `{"service", "title" (or
"summary"), "severity", "dedup_key", "details", "action"}`: the action is
trigger by default, else ack, acknowledge, resolve or resolved (and their
other tenses). GoAlert's generic form reads the same: `summary`, `details`
as a string (kept as `{"text": …}`), `action: close` (a resolve), `dedup` as
the dedup key when there is no `dedup_key`, and its `meta` object kept in the
details. Without a service it takes the default, else stays None for
the caller to route.

A plain-text line is a trigger with that line as its title; it needs the
default service.
"""

from __future__ import annotations


from ..severity import DEFAULT_SEVERITY
from .record import (
    Alert, one_record,
    BadRecord,
    bad_record,
    clip_title,
    details_field,
    key_field,
    kind_of,
    name_field,
    UNSET_SEVERITY,
    severity_field,
    show,
    title_field,
)

_ACTIONS = {
    "trigger": "trigger",
    "triggered": "trigger",
    "ack": "acknowledge",
    "acknowledge": "acknowledge",
    "acknowledged": "acknowledge",
    "resolve": "resolve",
    "resolved": "resolve",
    "close": "resolve",  # GoAlert
    "closed": "resolve",
}


def matches(obj: dict) -> bool:
    """Every object can be read as a generic one: this format comes last."""
    return True


def records(obj: dict, line: int, default_service: str | None) -> list[Alert]:
    """The one record of an object (a bad record when a field is wrong)."""
    return one_record(obj, line, _alert, default_service)


def _alert(obj: dict, line: int, default_service: str | None) -> Alert:
    warnings: list[str] = []
    action = obj.get("action")
    if action is None:
        action = "trigger"
    else:
        if not isinstance(action, str):
            raise BadRecord(f"action is {kind_of(action)}, not a string")
        known = _ACTIONS.get(action.strip().lower())
        if known is None:
            raise BadRecord(f"unknown action {show(action)} (expected trigger, acknowledge or resolve)")
        action = known
    service = name_field(obj.get("service"), "service") or default_service
    field_name = "title"
    raw_title = obj.get("title")
    if (raw_title is None or raw_title == "") and obj.get("summary") is not None:
        field_name, raw_title = "summary", obj["summary"]
    title = title_field(raw_title, field_name, warnings)
    dedup_key = key_field(obj.get("dedup_key"), "dedup_key")
    if dedup_key is None and obj.get("dedup") is not None:
        dedup_key = key_field(obj["dedup"], "dedup")
    details = details_field(obj.get("details"), "details")
    meta = obj.get("meta")
    if isinstance(meta, dict) and meta and "meta" not in details:
        details = {**details, "meta": meta}
    severity = severity_field(obj.get("severity"), warnings)
    if title is None:
        if action == "trigger":
            raise BadRecord("missing title (a trigger needs a title or summary)")
        if dedup_key is None:
            raise BadRecord(f"{action} needs a dedup_key or a title")
    return Alert(0, line, action, service, None, title, severity, dedup_key, details, warnings)


def text_record(line: int, text: str, default_service: str | None) -> Alert | None:
    """A plain-text line as a trigger with that title; None for a blank line."""
    warnings: list[str] = []
    title = clip_title(text.strip(), warnings)
    if not title:
        return None
    if default_service is None:
        return bad_record(line, "plain text needs --service")
    return Alert(0, line, "trigger", default_service, None, title, UNSET_SEVERITY, None, {}, warnings)
