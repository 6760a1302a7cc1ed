"""The database tables. Every `datetime` is an instant, stored as UTC by SQLModel
and read back aware. Local wall-clock rules (a layer's start) are kept as text.

Three modules hold them: `config` (users and their contacts and notify rules,
schedules, policies, services and settings: what `schedules apply` writes) and
`delivery` (the outbox), SQLAlchemy Core tables, and
`incident` (incidents, their timelines, pages and alert keys), SQLModel classes. Both are
reached through this package, `models.layers`, `models.Incident`; the incident
and outbox tables are defined on first use, so a command that reads only the
configuration (`oncall`, `schedules …`) never builds them.

The schema itself is built by the ordered migrations in `migrations.py`;
`tests/test_migrations.py` checks that they and these models agree.
"""

from __future__ import annotations

from .config import (contacts, escalation_levels, escalation_policies, layers, notify_rules, schedule_overrides,
                     schedules, services, settings, users)
_DELIVERY_NAMES = frozenset({"deliveries", "instance"})
_INCIDENT_NAMES = frozenset({"Incident", "IncidentAlert", "TimelineEntry", "Page", "OPEN_STATUSES", "OPEN_SQL",
                             "is_open"})
from .timers import heartbeats, maintenance_rules, maintenance_windows

__all__ = ["contacts", "deliveries", "escalation_levels", "escalation_policies", "heartbeats", "instance", "layers",
           "maintenance_rules", "maintenance_windows", "notify_rules", "schedule_overrides", "schedules", "services", "settings", "users", *sorted(_INCIDENT_NAMES)]


def __getattr__(name: str):  # noqa: ANN202 - PEP 562: the incident and outbox tables, loaded when first named
    if name in _INCIDENT_NAMES:
        from . import incident

        globals().update({n: getattr(incident, n) for n in _INCIDENT_NAMES})  # asked once, then plain attributes
        return globals()[name]
    if name in _DELIVERY_NAMES:
        from . import delivery

        globals().update({n: getattr(delivery, n) for n in _DELIVERY_NAMES})
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
