"""Routing of stream records (see `ingest`).

Routing: a record's service is the one it names; a PagerDuty record's routing
key selects the service with that `routing_key`, else the service of that
name; an alert of an Alertmanager-shaped body with no known `service` label
goes to the service named like the body's `receiver`. A record that names no
service, names an unknown one, or carries an unknown routing key goes to the
fallback service (`--service`, else the config's `default_service`), with a
warning when it named something, or when it is an Alertmanager alert (it
lands somewhere it did not name); with no fallback it is an error record.
Each warning is given once per stream (on the first record it concerns), so
a flood of alerts from one misrouted sender says so once. Messages never
show a routing key (like the config's own messages): it may be a secret.
"""

from __future__ import annotations

from sqlalchemy.engine import Row

from ..alerts.record import Alert


def route_unnamed(alert: Alert, services: dict[str, Row], by_routing_key: dict[str, Row],  # noqa: ANN001 - result
                  fallback: str | None, result, warned: set[str]) -> Row | None:
    """The service of a record that names no known one; None, with the reason
    in `result.error` (an `ingest.Result`), when there is none. A warning already in `warned` is
    not given again."""
    if alert.service is None and alert.routing_key is not None:
        svc = by_routing_key.get(alert.routing_key) or services.get(alert.routing_key)
        if svc is not None:
            return svc
        what = "unknown routing key"  # never shown: it may be a secret
    elif alert.service is None:
        what = None
    else:
        what = f"unknown service {alert.service!r}"
    if alert.receiver is not None:  # an Alertmanager alert: its receiver, and it always says where it went
        svc = services.get(alert.receiver) if alert.receiver else None
        if svc is not None:
            if what:
                warn_once(result, warned, f"{what}: sent to {svc.name}, the service named like the receiver")
            return svc
        what = (what + ", " if what else "no service label, ") + (
            f"no service named like the receiver {alert.receiver!r}" if alert.receiver else "no receiver")
    if fallback is not None and fallback in services:
        if what:
            warn_once(result, warned, f"{what}: sent to {fallback}")
        return services[fallback]
    if what is None:
        result.error = "no service (name one in the record, with --service, or as default_service in the config)"
    elif fallback is not None:
        result.error = f"{what}, and the default service {fallback!r} does not exist"
    else:
        result.error = f"{what} (and no default_service in the config)"
    return None


def warn_once(result, warned: set[str], text: str) -> None:  # noqa: ANN001 - an ingest.Result
    """A warning on `result`, unless the stream had it already."""
    if text not in warned:
        warned.add(text)
        result.warnings = result.warnings + [text]
