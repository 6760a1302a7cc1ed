"""Routing of stream records that name no known service (see `ingest`):
a PagerDuty routing key, an Alertmanager body's `receiver`, then the fallback
service (`--service`, else `default_service`), with a warning — given once
per stream — whenever a record lands somewhere it did not name. Messages
never show a routing key: it may be a secret."""

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
