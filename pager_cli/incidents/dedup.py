"""The dedup statement: alerts whose keys the transaction found no open
incident for open one each, or are folded into the open incident another
transaction made meanwhile, in one statement on both engines:

    INSERT INTO incident (service, dedup_key, title, …) VALUES (…), (…)
    ON CONFLICT (dedup_key, service) WHERE status IN ('triggered', 'acknowledged')
    DO UPDATE SET alert_count = incident.alert_count + 1, last_alert_at = excluded.last_alert_at
    RETURNING id, service, dedup_key, alert_count, status, severity

The conflict target is the partial unique index on open (dedup key, service)
(`uq_incident_open_key`, on both engines; SQLite takes a partial index's WHERE
in the target, and RETURNING, since 3.35). Which of the two happened is told
by the count returned, the same way on both: an incident the statement opened
holds the one alert it inserted, one it folded into held at least one before
(PostgreSQL's `xmax = 0` would say it too, but only there).

On PostgreSQL, where triggers run beside each other, this is what makes two
transactions racing on a key leave one incident: a conflicting row not yet
committed is waited for, then folded into (or inserted over, if it rolled
back), and the row folded into stays locked until the transaction ends. A
fold draws an id from the sequence that is then not used (PostgreSQL makes
the whole row before it finds the conflict), so callers fold the alerts of
keys they found open (and locked) with an UPDATE, and use this statement for
the keys they found none for, where a fold means another transaction won a race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from ..store import tables as m
from ..store.dialect import of

_INCIDENT = m.Incident.__table__
_BUILT: dict = {}  # dialect name → the statement


@dataclass(frozen=True, slots=True)
class Opened:
    """What the statement did for one (service, key): `created` the incident
    `id`, or folded the alert into it; its status and severity now."""

    id: int
    created: bool
    status: str
    severity: str


def row(service: str, key: str, title: str, severity: str, policy: str | None, details: dict,
        now: datetime) -> dict:
    """The incident one alert opens: the values of one row of `open_or_fold`."""
    return {"service": service, "dedup_key": key, "title": title, "severity": severity, "status": "triggered",
            "alert_count": 1, "assignees": [], "escalation_policy": policy, "escalation_level": 0,
            "escalation_pass": 0, "escalation_step": 0, "created_at": now, "last_alert_at": now,
            "details": details}


def open_or_fold(connection: Connection, rows: list[dict]) -> dict[tuple[str, str], Opened]:
    """Each of `rows` (`row`; no two of the same service and key) opens its
    incident, or is folded into the open one as an alert; (service, key) → `Opened`."""
    if not rows:
        return {}
    result = connection.execute(_statement(connection), rows)
    return {(service, key): Opened(incident_id, count == 1, status, severity)
            for incident_id, service, key, count, status, severity in result}


def _statement(connection: Connection):  # noqa: ANN202 - the engine's Insert
    name = connection.dialect.name
    statement = _BUILT.get(name)
    if statement is None:
        insert = of(connection).upsert(_INCIDENT)
        c = _INCIDENT.c
        statement = _BUILT[name] = insert.on_conflict_do_update(
            index_elements=[c.dedup_key, c.service], index_where=m.OPEN_SQL,
            set_={"alert_count": c.alert_count + 1, "last_alert_at": insert.excluded.last_alert_at},
        ).returning(c.id, c.service, c.dedup_key, c.alert_count, c.status, c.severity)
    return statement
