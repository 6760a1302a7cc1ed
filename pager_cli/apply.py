"""Writing a validated config into the database: one transaction, all or
nothing, reporting what it created, changed and removed. Applying the same file
twice changes nothing; overrides added from the command line are kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, delete, select

from . import models as m
from .catalog import restrict_to_json
from .times import to_utc


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
    for name, user in config.users.items():
        want[("user", name)] = {"full_name": user.name, "email": user.email}
    for name in config.schedules:
        sched = config.to_schedule(name)
        want[("schedule", name)] = {
            "timezone": sched.timezone,
            "layers": [
                {"name": lr.name, "rotation": lr.rotation, "shift_length": lr.shift_length, "handoffs": lr.handoffs,
                 "start_local": lr.start.isoformat(), "users": list(lr.users), "restrict": restrict_to_json(lr.restrict)}
                for lr in sched.layers
            ],
            "overrides": [{"user": o.user, "start": to_utc(o.start), "end": to_utc(o.end)} for o in sched.overrides],
        }
    for name, pol in config.escalation_policies.items():
        want[("policy", name)] = {
            "repeat": pol.repeat,
            "levels": [
                {"delay_seconds": int(lv.delay.total_seconds()), "targets": [f"{k}:{n}" for k, n in lv.targets]}
                for lv in pol.levels
            ],
        }
    for name, svc in config.services.items():
        want[("service", name)] = {
            "escalation_policy": svc.escalation_policy, "routing_key": svc.routing_key, "dedup": svc.dedup,
            "require_ack_before_resolve": bool(svc.require_ack_before_resolve),
        }
    return want


def _stored(session: Session) -> dict[tuple[str, str], dict[str, Any]]:
    have: dict[tuple[str, str], dict[str, Any]] = {}
    for row in session.exec(select(m.Setting)):
        have[("setting", row.key)] = {"value": row.value}
    for row in session.exec(select(m.User)):
        have[("user", row.name)] = {"full_name": row.full_name, "email": row.email}
    for row in session.exec(select(m.Schedule)):
        layers = session.exec(select(m.Layer).where(m.Layer.schedule == row.name).order_by(m.Layer.position))
        overrides = session.exec(
            select(m.ScheduleOverride)
            .where(m.ScheduleOverride.schedule == row.name, m.ScheduleOverride.source == "config")
            .order_by(m.ScheduleOverride.position)
        )
        have[("schedule", row.name)] = {
            "timezone": row.timezone,
            "layers": [
                {"name": lr.name, "rotation": lr.rotation, "shift_length": lr.shift_length, "handoffs": lr.handoffs,
                 "start_local": lr.start_local, "users": list(lr.users), "restrict": list(lr.restrict)}
                for lr in layers
            ],
            "overrides": [{"user": o.user, "start": o.start, "end": o.end} for o in overrides],
        }
    for row in session.exec(select(m.EscalationPolicy)):
        levels = session.exec(
            select(m.EscalationLevel).where(m.EscalationLevel.policy == row.name).order_by(m.EscalationLevel.position)
        )
        have[("policy", row.name)] = {
            "repeat": row.repeat,
            "levels": [{"delay_seconds": lv.delay_seconds, "targets": list(lv.targets)} for lv in levels],
        }
    for row in session.exec(select(m.Service)):
        have[("service", row.name)] = {
            "escalation_policy": row.escalation_policy, "routing_key": row.routing_key, "dedup": row.dedup,
            "require_ack_before_resolve": bool(row.require_ack_before_resolve),
        }
    return have


_ORDER = {"setting": 0, "user": 1, "schedule": 2, "policy": 3, "service": 4}


def _remove(session: Session, kind: str, name: str) -> None:
    if kind == "setting":
        session.exec(delete(m.Setting).where(m.Setting.key == name))
    elif kind == "user":
        session.exec(delete(m.User).where(m.User.name == name))
    elif kind == "schedule":
        session.exec(delete(m.ScheduleOverride).where(m.ScheduleOverride.schedule == name))
        session.exec(delete(m.Layer).where(m.Layer.schedule == name))
        session.exec(delete(m.Schedule).where(m.Schedule.name == name))
    elif kind == "policy":
        session.exec(delete(m.EscalationLevel).where(m.EscalationLevel.policy == name))
        session.exec(delete(m.EscalationPolicy).where(m.EscalationPolicy.name == name))
    elif kind == "service":
        session.exec(delete(m.Service).where(m.Service.name == name))


def _write(session: Session, kind: str, name: str, value: dict[str, Any], now: datetime) -> None:
    """Create or replace one entity (its children are replaced whole)."""
    if kind == "setting":
        session.merge(m.Setting(key=name, value=value["value"]))
    elif kind == "user":
        session.merge(m.User(name=name, **value))
    elif kind == "schedule":
        session.merge(m.Schedule(name=name, timezone=value["timezone"]))
        session.exec(delete(m.Layer).where(m.Layer.schedule == name))
        session.exec(delete(m.ScheduleOverride).where(m.ScheduleOverride.schedule == name, m.ScheduleOverride.source == "config"))
        for i, layer in enumerate(value["layers"]):
            session.add(m.Layer(schedule=name, position=i, **layer))
        for i, o in enumerate(value["overrides"]):
            session.add(m.ScheduleOverride(schedule=name, source="config", position=i, created_at=now, **o))
    elif kind == "policy":
        session.merge(m.EscalationPolicy(name=name, repeat=value["repeat"]))
        session.exec(delete(m.EscalationLevel).where(m.EscalationLevel.policy == name))
        for i, level in enumerate(value["levels"]):
            session.add(m.EscalationLevel(policy=name, position=i, **level))
    elif kind == "service":
        session.merge(m.Service(name=name, **value))


def apply_config(session: Session, config, now: datetime) -> Changes:  # noqa: ANN001
    """Make the database hold exactly `config`; CLI overrides stay. The caller's
    transaction makes it all or nothing (roll back for a dry run)."""
    from .catalog import forget

    forget(session)
    want, have = _desired(config), _stored(session)
    changes = Changes()
    # Removals first (services before the policies they name), then writes in
    # dependency order, so unique routing keys can move between services.
    for kind, name in sorted(have.keys() - want.keys(), key=lambda k: (-_ORDER[k[0]], k[1])):
        _remove(session, kind, name)
        if kind != "setting":
            changes.removed.append(f"{kind} {name}")
    for kind, name in have.keys() & want.keys():
        if kind == "service" and have[(kind, name)] != want[(kind, name)]:
            _remove(session, kind, name)  # rewritten below; frees its routing key first
    session.flush()
    for key in sorted(want, key=lambda k: (_ORDER[k[0]], k[1])):
        kind, name = key
        if key in have and have[key] == want[key]:
            continue
        _write(session, kind, name, want[key], now)
        session.flush()
        if kind != "setting":
            (changes.changed if key in have else changes.created).append(f"{kind} {name}")
    forget(session)
    return changes
