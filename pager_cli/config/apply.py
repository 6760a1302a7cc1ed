"""Writing a validated config into the database: one transaction, all or
nothing, reporting what it created, changed and removed. Applying the same file
twice changes nothing; overrides added from the command line are kept.

A user's contacts and notify rules go with the user (a change to them is a
change of the user). Their secrets, and the `smtp` section's password, are
stored as the config resolved them (`${ENV}` substituted), not as references:
`escalate-check` must be able to send from cron, whose environment is not the
one `apply` ran in. The database file is created 0600; nothing here or in the
outbox ever prints those values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from ..store import tables as m
from ..times import to_utc


@dataclass
class Changes:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"created": self.created, "changed": self.changed, "removed": self.removed}

    def __bool__(self) -> bool:
        return bool(self.created or self.changed or self.removed)


def _desired(config) -> dict[tuple[str, str], dict[str, Any]]:  # noqa: ANN001 - a config.Config
    """Everything the config defines, keyed (kind, name), as comparable plain values."""
    want: dict[tuple[str, str], dict[str, Any]] = {
        ("setting", "timezone"): {"value": config.timezone},
        ("setting", "default_service"): {"value": config.default_service},
    }
    if config.smtp is not None:
        want[("setting", "smtp")] = {"value": json.dumps(config.smtp.to_json(), sort_keys=True)}
    for name, user in config.users.items():
        want[("user", name)] = {
            "full_name": user.name, "email": user.email,
            "contacts": [
                {"name": cname, "kind": c.kind, "target": c.target, "timeout_s": c.timeout.total_seconds(),
                 "updates": bool(c.updates), "rate_count": c.rate.count,
                 "rate_window_s": int(c.rate.window.total_seconds()), "headers": dict(c.headers), "secret": c.secret}
                for cname, c in user.contacts.items()
            ],
            "notify": [{"contact": r.contact, "after_s": int(r.after.total_seconds())} for r in user.notify],
        }
    for name in config.schedules:
        sched = config.to_schedule(name)
        want[("schedule", name)] = {
            "timezone": sched.timezone,
            "layers": [
                {"name": lr.name, "rotation": lr.rotation, "shift_length": lr.shift_length, "handoffs": lr.handoffs,
                 "start_local": lr.start.isoformat(), "users": list(lr.users), "restrict": [w.to_json() for w in lr.restrict]}
                for lr in sched.layers
            ],
            "overrides": [{"user": o.user, "start": to_utc(o.start), "end": to_utc(o.end)} for o in sched.overrides],
        }
    for name, pol in config.escalation_policies.items():
        pol = pol.to_domain(name)
        want[("policy", name)] = {
            "repeat": pol.repeat,
            "levels": [{"delay_seconds": int(lv.delay.total_seconds()), "targets": list(lv.targets)}
                       for lv in pol.levels],
        }
    for name, svc in config.services.items():
        want[("service", name)] = {
            "escalation_policy": svc.escalation_policy, "routing_key": svc.routing_key, "dedup": svc.dedup,
            "require_ack_before_resolve": bool(svc.require_ack_before_resolve),
        }
    return want


def _stored(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    conn = session.connection()

    def rows(table: sa.Table, *where: sa.ColumnElement, order: sa.Column | None = None) -> sa.CursorResult:
        return conn.execute(sa.select(table).where(*where).order_by(order))

    have: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows(m.settings):
        have[("setting", row.key)] = {"value": row.value}
    contact, rule = m.contacts.c, m.notify_rules.c
    for row in rows(m.users):
        contacts = rows(m.contacts, contact.user == row.name, order=contact.position)
        rules = rows(m.notify_rules, rule.user == row.name, order=rule.position)
        have[("user", row.name)] = {
            "full_name": row.full_name, "email": row.email,
            "contacts": [
                {"name": c.name, "kind": c.kind, "target": c.target, "timeout_s": c.timeout_s, "updates": c.updates,
                 "rate_count": c.rate_count, "rate_window_s": c.rate_window_s, "headers": dict(c.headers),
                 "secret": c.secret}
                for c in contacts
            ],
            "notify": [{"contact": r.contact, "after_s": r.after_s} for r in rules],
        }
    layer, override, level = m.layers.c, m.schedule_overrides.c, m.escalation_levels.c
    for row in rows(m.schedules):
        layers = rows(m.layers, layer.schedule == row.name, order=layer.position)
        overrides = rows(m.schedule_overrides, override.schedule == row.name, override.source == "config",
                         order=override.position)
        have[("schedule", row.name)] = {
            "timezone": row.timezone,
            "layers": [
                {"name": lr.name, "rotation": lr.rotation, "shift_length": lr.shift_length, "handoffs": lr.handoffs,
                 "start_local": lr.start_local, "users": list(lr.users), "restrict": list(lr.restrict)}
                for lr in layers
            ],
            "overrides": [{"user": o.user, "start": o.start, "end": o.end} for o in overrides],
        }
    for row in rows(m.escalation_policies):
        levels = rows(m.escalation_levels, level.policy == row.name, order=level.position)
        have[("policy", row.name)] = {
            "repeat": row.repeat,
            "levels": [{"delay_seconds": lv.delay_seconds, "targets": list(lv.targets)} for lv in levels],
        }
    for row in rows(m.services):
        have[("service", row.name)] = {
            "escalation_policy": row.escalation_policy, "routing_key": row.routing_key, "dedup": row.dedup,
            "require_ack_before_resolve": bool(row.require_ack_before_resolve),
        }
    return have


_ORDER = {"setting": 0, "user": 1, "schedule": 2, "policy": 3, "service": 4}
# Each kind's table and key column; a schedule's layers and overrides and a
# policy's levels go with it (foreign keys, ON DELETE CASCADE).
_TABLES = {"setting": (m.settings, "key"), "user": (m.users, "name"), "schedule": (m.schedules, "name"),
           "policy": (m.escalation_policies, "name"), "service": (m.services, "name")}


def _remove(conn: Connection, kind: str, name: str) -> None:
    table, key = _TABLES[kind]
    conn.execute(sa.delete(table).where(table.c[key] == name))


def _put(conn: Connection, kind: str, name: str, **values: Any) -> None:
    """Create the row `name` of `kind`, or update it in place: its children
    (a schedule's command-line overrides) stay."""
    table, key = _TABLES[kind]
    if not conn.execute(sa.update(table).where(table.c[key] == name).values(**values)).rowcount:
        conn.execute(sa.insert(table).values({key: name, **values}))


def _replace_children(conn: Connection, table: sa.Table, owner: str, name: str, rows: list[dict[str, Any]],
                      *only: sa.ColumnElement, **fixed: Any) -> None:
    """Replace the rows of `table` that belong to `name` (those of them that
    match `only`) by `rows`, numbered by position."""
    conn.execute(sa.delete(table).where(table.c[owner] == name, *only))
    if rows:
        conn.execute(sa.insert(table), [{owner: name, "position": i, **fixed, **row} for i, row in enumerate(rows)])


def _write(conn: Connection, kind: str, name: str, value: dict[str, Any], now: datetime) -> None:
    """Create or replace one entity (its children are replaced whole)."""
    if kind == "schedule":
        _put(conn, kind, name, timezone=value["timezone"])
        _replace_children(conn, m.layers, "schedule", name, value["layers"])
        _replace_children(conn, m.schedule_overrides, "schedule", name, value["overrides"],
                          m.schedule_overrides.c.source == "config", source="config", created_at=now)
    elif kind == "user":
        _put(conn, kind, name, full_name=value["full_name"], email=value["email"])
        _replace_children(conn, m.contacts, "user", name, value["contacts"])
        _replace_children(conn, m.notify_rules, "user", name, value["notify"])
    elif kind == "policy":
        _put(conn, kind, name, repeat=value["repeat"])
        _replace_children(conn, m.escalation_levels, "policy", name, value["levels"])
    else:
        _put(conn, kind, name, **value)


def apply_config(session: Session, config, now: datetime) -> Changes:  # noqa: ANN001
    """Make the database hold exactly `config`; CLI overrides stay. The caller's
    transaction makes it all or nothing (roll back for a dry run)."""
    from .catalog import forget
    from ..escalation.due import rearm

    forget(session)
    want, have = _desired(config), _stored(session)
    changes = Changes()
    # Removals first (services before the policies they name), then writes in
    # dependency order, so unique routing keys can move between services.
    conn = session.connection()
    for kind, name in sorted(have.keys() - want.keys(), key=lambda k: (-_ORDER[k[0]], k[1])):
        _remove(conn, kind, name)
        if kind != "setting" or name == "smtp":
            changes.removed.append(f"{kind} {name}")
    for kind, name in have.keys() & want.keys():
        if kind == "service" and have[(kind, name)] != want[(kind, name)]:
            _remove(conn, kind, name)  # rewritten below; frees its routing key first
    for key in sorted(want, key=lambda k: (_ORDER[k[0]], k[1])):
        kind, name = key
        if key in have and have[key] == want[key]:
            continue
        _write(conn, kind, name, want[key], now)
        if kind != "setting" or name == "smtp":
            (changes.changed if key in have else changes.created).append(f"{kind} {name}")
    rearm(session, now)  # open incidents follow their service's policy as it is now
    forget(session)
    return changes
