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
from typing import Any, Callable
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
    handoffs: list = field(default_factory=list)  # a dry run's exports.handoffs.Handoff: who gains what

    def to_json(self) -> dict:
        return {"created": self.created, "changed": self.changed, "removed": self.removed}

    def __bool__(self) -> bool:
        return bool(self.created or self.changed or self.removed)


# -- the kinds of config, in dependency order -----------------------------------
#
# Each kind is one table keyed by one column, with its own columns, and the child
# tables that go with it (a schedule's layers and config overrides, a policy's
# levels, a user's contacts and notify rules): numbered by position, replaced
# whole when the entity changes, removed with it (ON DELETE CASCADE). An entity
# is compared as one plain value: its columns and its children's rows.


@dataclass(frozen=True)
class Part:
    """The rows of `table` that go with an entity, under `field` of its value."""

    field: str
    table: sa.Table
    owner: str  # the column naming the entity
    columns: tuple[str, ...]
    only: tuple[tuple[str, Any], ...] = ()  # (column, value): the rows the config owns, written with these
    stamped: bool = False  # created_at = now


@dataclass(frozen=True)
class Kind:
    name: str
    table: sa.Table
    key: str
    columns: tuple[str, ...]
    desired: Callable[[Any], dict[str, dict[str, Any]]]  # from a config.Config: name -> value
    parts: tuple[Part, ...] = ()
    rewrite: bool = False  # a changed entity is removed first, freeing its unique values (routing keys)
    shown: Callable[[str], bool] = lambda name: True  # whether a change is reported
    created: Callable[[datetime], dict[str, Any]] = lambda now: {}  # columns set once, when it is created


def _settings(config) -> dict[str, dict[str, Any]]:  # noqa: ANN001 - a config.Config, as below
    want = {"timezone": {"value": config.timezone}, "default_service": {"value": config.default_service}}
    if config.smtp is not None:
        want["smtp"] = {"value": json.dumps(config.smtp.to_json(), sort_keys=True)}
    if config.serve is not None:
        want["serve"] = {"value": json.dumps(config.serve.to_json(), sort_keys=True)}
    return want


def _users(config) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    return {
        name: {
            "full_name": user.name, "email": user.email, "timezone": user.timezone,
            "working_hours": user.working_hours.to_domain().to_json() if user.working_hours else None,
            "contacts": [
                {"name": cname, "kind": c.kind, "target": c.target, "timeout_s": c.timeout.total_seconds(),
                 "updates": bool(c.updates), "rate_count": c.rate.count,
                 "rate_window_s": int(c.rate.window.total_seconds()), "headers": dict(c.headers), "secret": c.secret}
                for cname, c in user.contacts.items()
            ],
            "notify": [{"contact": r.contact, "after_s": int(r.after.total_seconds())} for r in user.notify],
        }
        for name, user in config.users.items()
    }


def _schedules(config) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    want = {}
    for name in config.schedules:
        sched = config.to_schedule(name)
        want[name] = {
            "timezone": sched.timezone,
            "layers": [
                {"name": lr.name, "rotation": lr.rotation, "shift_length": lr.shift_length, "handoffs": lr.handoffs,
                 "start_local": lr.start.isoformat(), "users": list(lr.users),
                 "restrict": [w.to_json() for w in lr.restrict]}
                for lr in sched.layers
            ],
            "overrides": [{"user": o.user, "start": to_utc(o.start), "end": to_utc(o.end)} for o in sched.overrides],
        }
    return want


def _policies(config) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    want = {}
    for name, pol in config.escalation_policies.items():
        pol = pol.to_domain(name)
        want[name] = {
            "repeat": pol.repeat,
            "levels": [{"delay_seconds": int(lv.delay.total_seconds()), "targets": list(lv.targets)}
                       for lv in pol.levels],
        }
    return want


def _services(config) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    return {
        name: {"escalation_policy": svc.escalation_policy, "routing_key": svc.routing_key, "dedup": svc.dedup,
               "require_ack_before_resolve": bool(svc.require_ack_before_resolve),
               "ack_timeout_s": _seconds(svc.ack_timeout), "auto_resolve_s": _seconds(svc.auto_resolve)}
        for name, svc in config.services.items()
    }


def _seconds(delay) -> int | None:  # noqa: ANN001 - a timedelta or None
    return None if delay is None else int(delay.total_seconds())


def _heartbeats(config) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    return {name: {"service": hb.service, "interval_s": int(hb.interval.total_seconds()), "severity": hb.severity}
            for name, hb in config.heartbeats.items()}


def _maintenance(config) -> dict[str, dict[str, Any]]:  # noqa: ANN001
    from ..schedules.types import DAYS

    return {
        rule.name(config.timezone): {
            "services": list(rule.services), "days": [DAYS[d] for d in rule.days],
            "start_local": f"{rule.start:%H:%M}", "end_local": f"{rule.end:%H:%M}",
            "timezone": rule.timezone or config.timezone,
        }
        for rule in config.maintenance
    }


KINDS = (
    Kind("setting", m.settings, "key", ("value",), _settings, shown=lambda name: name in ("smtp", "serve")),
    Kind("user", m.users, "name", ("full_name", "email", "timezone", "working_hours"), _users, parts=(
        Part("contacts", m.contacts, "user", ("name", "kind", "target", "timeout_s", "updates", "rate_count",
                                              "rate_window_s", "headers", "secret")),
        Part("notify", m.notify_rules, "user", ("contact", "after_s")),
    )),
    Kind("schedule", m.schedules, "name", ("timezone",), _schedules, parts=(
        Part("layers", m.layers, "schedule", ("name", "rotation", "shift_length", "handoffs", "start_local",
                                              "users", "restrict")),
        Part("overrides", m.schedule_overrides, "schedule", ("user", "start", "end"),
             only=(("source", "config"),), stamped=True),  # command-line overrides stay
    )),
    Kind("policy", m.escalation_policies, "name", ("repeat",), _policies, parts=(
        Part("levels", m.escalation_levels, "policy", ("delay_seconds", "targets")),
    )),
    Kind("service", m.services, "name", ("escalation_policy", "routing_key", "dedup", "require_ack_before_resolve",
                                         "ack_timeout_s", "auto_resolve_s"), _services, rewrite=True),
    # a heartbeat's state (applied_at, last ping, due instant) stays across applies
    Kind("heartbeat", m.heartbeats, "name", ("service", "interval_s", "severity"), _heartbeats,
         created=lambda now: {"applied_at": now}),
    Kind("maintenance", m.maintenance_rules, "name", ("services", "days", "start_local", "end_local", "timezone"),
         _maintenance),
)


def _stored(conn: Connection, kind: Kind) -> dict[str, dict[str, Any]]:
    have = {}
    for row in conn.execute(sa.select(kind.table)):
        name = row._mapping[kind.key]
        value = {c: row._mapping[c] for c in kind.columns}
        for part in kind.parts:
            rows = conn.execute(sa.select(part.table).where(*_owned(part, name)).order_by(part.table.c.position))
            value[part.field] = [{c: r._mapping[c] for c in part.columns} for r in rows]
        have[name] = value
    return have


def _owned(part: Part, name: str) -> list[sa.ColumnElement]:
    return [part.table.c[part.owner] == name, *(part.table.c[c] == v for c, v in part.only)]


def _remove(conn: Connection, kind: Kind, name: str) -> None:
    conn.execute(sa.delete(kind.table).where(kind.table.c[kind.key] == name))


def _write(conn: Connection, kind: Kind, name: str, value: dict[str, Any], now: datetime) -> None:
    """Create the entity or update it in place (children of other sources stay),
    then replace its children whole."""
    own = {c: value[c] for c in kind.columns}
    table = kind.table
    if not conn.execute(sa.update(table).where(table.c[kind.key] == name).values(**own)).rowcount:
        conn.execute(sa.insert(table).values({kind.key: name, **own, **kind.created(now)}))
    for part in kind.parts:
        conn.execute(sa.delete(part.table).where(*_owned(part, name)))
        fixed = {**dict(part.only), **({"created_at": now} if part.stamped else {})}
        rows = [{part.owner: name, "position": i, **fixed, **row} for i, row in enumerate(value[part.field])]
        if rows:
            conn.execute(sa.insert(part.table), rows)


def apply_config(session: Session, config, now: datetime) -> Changes:  # noqa: ANN001
    """Make the database hold exactly `config`; CLI overrides stay. The caller's
    transaction makes it all or nothing (roll back for a dry run)."""
    from .catalog import forget
    from ..escalation.due import rearm

    forget(session)
    conn = session.connection()
    want = {kind.name: kind.desired(config) for kind in KINDS}
    have = {kind.name: _stored(conn, kind) for kind in KINDS}
    changes = Changes()
    _remove_stale_overrides(conn, want, changes)
    # Removals first, last kind first (services before the policies they name),
    # then writes in order, so unique routing keys can move between services.
    for kind in reversed(KINDS):
        for name in sorted(have[kind.name].keys() - want[kind.name].keys()):
            _remove(conn, kind, name)
            if kind.shown(name):
                changes.removed.append(f"{kind.name} {name}")
    for kind in KINDS:
        if kind.rewrite:
            for name in sorted(have[kind.name].keys() & want[kind.name].keys()):
                if have[kind.name][name] != want[kind.name][name]:
                    _remove(conn, kind, name)  # rewritten below
    for kind in KINDS:
        for name, value in sorted(want[kind.name].items()):
            stored = have[kind.name].get(name)
            if stored == value:
                continue
            _write(conn, kind, name, value, now)
            if kind.shown(name):
                (changes.created if stored is None else changes.changed).append(f"{kind.name} {name}")
    rearm(session, now)  # open incidents follow their service's policy as it is now
    from ..timers.apply import after_apply

    after_apply(session, now, have, want)  # heartbeats' due instants, maintenance and auto-resolve changes
    forget(session)
    return changes


def _remove_stale_overrides(conn: Connection, want: dict[str, dict[str, dict[str, Any]]], changes: Changes) -> None:
    """Command-line overrides whose user or schedule the config no longer has go,
    each reported: a removed user must not be paged through one."""
    t = m.schedule_overrides
    stale = sa.or_(t.c.user.not_in(list(want["user"])), t.c.schedule.not_in(list(want["schedule"])))
    rows = conn.execute(sa.select(t.c.id, t.c.schedule, t.c.user).where(t.c.source != "config", stale)
                        .order_by(t.c.id)).all()
    if not rows:
        return
    conn.execute(sa.delete(t).where(t.c.id.in_([r.id for r in rows])))
    for r in rows:
        gone = "user" if r.user not in want["user"] else "schedule"
        changes.removed.append(f"override {r.id} ({r.user} in schedule {r.schedule}: its {gone} was removed)")
