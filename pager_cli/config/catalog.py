"""The stored configuration: users, schedules, escalation policies, services and
settings, as the database holds them after `schedules apply`, read back into the
plain objects the rotation math and the escalation engine use.

Reads and the override writes are Core statements over the config tables
(`models.config`), returning rows: a command such as `oncall` never pays for
ORM mappers or their per-statement machinery. Everything runs on the caller's
connection, in its one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlmodel import Session

from ..store import tables as m
from ..errors import NotFound, StoredValueError, UsageError
from ..escalation.policy import Level, Policy
from ..schedules.oncall import on_call
from ..schedules.types import Layer, Override, Restrict, Schedule, Shift


def _read(session: Session, query: sa.Executable) -> sa.CursorResult:
    return session.connection().execute(query)


def setting(session: Session, key: str) -> str | None:
    t = m.settings.c
    return _read(session, sa.select(t.value).where(t.key == key)).scalar()


def config_timezone(db) -> str | None:  # noqa: ANN001 - a Database
    with db.read() as session:
        return setting(session, "timezone")


def find_service(session: Session, name: str) -> Row | None:
    """The service `name` (a row with the columns of `models.services`), or None."""
    t = m.services
    return _read(session, sa.select(t).where(t.c.name == name)).first()


def service(session: Session, name: str) -> Row:
    """The service `name`, which must exist."""
    row = find_service(session, name)
    if row is None:
        raise NotFound(f"no service {name!r}", hint="`pager services` lists them")
    return row


def services(session: Session) -> list[Row]:
    t = m.services
    return list(_read(session, sa.select(t).order_by(t.c.name)))


def user_exists(session: Session, name: str) -> bool:
    t = m.users.c
    return _read(session, sa.select(t.name).where(t.name == name)).first() is not None


def require_user(session: Session, name: str) -> None:
    if not user_exists(session, name):
        raise NotFound(f"no user {name!r}", hint="users are defined in the config file")


def _cached(session: Session, key: tuple, load):  # noqa: ANN001, ANN202
    """`load()` once per session: the config cannot change under a transaction,
    and escalating a batch of incidents asks for the same policy and schedule
    again and again. Writers of the config (apply, overrides) clear it."""
    cache = session.info.setdefault("pager_catalog", {})
    if key not in cache:
        cache[key] = load()
    return cache[key]


def forget(session: Session) -> None:
    session.info.pop("pager_catalog", None)


def policy(session: Session, name: str | None) -> Policy | None:
    if not name:
        return None
    return _cached(session, ("policy", name), lambda: _policy(session, name))


def _policy(session: Session, name: str) -> Policy | None:
    p, lv = m.escalation_policies.c, m.escalation_levels.c
    row = _read(session, sa.select(p.name, p.repeat).where(p.name == name)).first()
    if row is None:
        return None
    levels = _read(session, sa.select(lv.delay_seconds, lv.targets).where(lv.policy == name).order_by(lv.position))
    return Policy(
        name=row.name,
        repeat=row.repeat,
        levels=tuple(Level(timedelta(seconds=level.delay_seconds), tuple(level.targets)) for level in levels),
    )


def schedule_names(session: Session) -> list[str]:
    t = m.schedules.c
    return list(_read(session, sa.select(t.name).order_by(t.name)).scalars())


def schedule(session: Session, name: str) -> Schedule:
    """The schedule `name` with its layers and every override, config and CLI."""
    return _cached(session, ("schedule", name), lambda: _schedule(session, name))


def _schedule(session: Session, name: str) -> Schedule:
    s, layer, override = m.schedules, m.layers, m.schedule_overrides
    row = _read(session, sa.select(s).where(s.c.name == name)).first()
    if row is None:
        raise NotFound(f"no schedule {name!r}", hint="`pager schedules list` lists them")
    layers = _read(session, sa.select(layer).where(layer.c.schedule == name).order_by(layer.c.position))
    overrides = _read(
        session,
        sa.select(override).where(override.c.schedule == name).order_by(override.c.position, override.c.id),
    )
    return Schedule(
        name=row.name,
        timezone=row.timezone,
        layers=tuple(_layer(lr) for lr in layers),
        overrides=tuple(Override(user=o.user, start=o.start, end=o.end, id=o.id) for o in overrides),
    )


def shift_at(session: Session, name: str, at: datetime) -> Shift | None:
    """Who is on call in schedule `name` at `at` (`oncall.on_call`), worked
    out once per session: a batch of escalations asks it again and again for
    the same schedule, at the same instant."""
    return _cached(session, ("shift", name, at), lambda: on_call(schedule(session, name), at))


def _layer(row: Row) -> Layer:
    try:
        return _layer_from(row)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise StoredValueError(f"layer {row.name!r} of schedule {row.schedule!r}: {e}") from None


def _layer_from(row: Row) -> Layer:
    return Layer(
        name=row.name,
        users=tuple(row.users),
        start=datetime.fromisoformat(row.start_local),
        rotation=row.rotation,
        shift_length=row.shift_length,
        handoffs=row.handoffs,
        restrict=tuple(Restrict.from_json(w) for w in row.restrict),
    )


CLI_OVERRIDE_POSITION = 1_000_000  # after the config's own, so the later-added wins a tie


def overrides(session: Session, name: str) -> list[Row]:
    """The overrides of schedule `name`, config and command line, by start."""
    schedule(session, name)
    t = m.schedule_overrides
    return list(_read(session, sa.select(t).where(t.c.schedule == name).order_by(t.c.start, t.c.id)))


def add_override(session: Session, name: str, user: str, start: datetime, end: datetime,
                 now: datetime) -> int:
    """Temporary cover from the command line (kept across applies); its id."""
    if end <= start:
        raise UsageError("an override must end after it starts", hint="--to must be after --from")
    schedule(session, name)
    require_user(session, user)
    added = _read(session, sa.insert(m.schedule_overrides).values(
        schedule=name, user=user, start=start, end=end, source="cli", position=CLI_OVERRIDE_POSITION, created_at=now,
    ))
    forget(session)
    return added.inserted_primary_key[0]


def remove_override(session: Session, override_id: int) -> None:
    t = m.schedule_overrides
    if not _read(session, sa.delete(t).where(t.c.id == override_id)).rowcount:
        raise NotFound(f"no override {override_id}", hint="`pager schedules overrides NAME` lists them")
    forget(session)
