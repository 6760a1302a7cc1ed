"""The schedule commands as functions: validate and apply the config, overrides,
the schedules' shifts (who is on call: `app.oncall`). Each owns its transaction and
returns plain results; the CLI renders them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import UsageError

GAP_WINDOW = timedelta(days=28)
MAX_WINDOW = timedelta(days=366)


@dataclass
class Validated:
    users: int
    schedules: int
    policies: int
    services: int
    gaps: list[tuple[str, str, datetime, datetime]]  # schedule, its zone, from, to: nobody on call
    warnings: list[str]  # located warnings, such as a user no contact reaches


def validate(path: str, now: datetime) -> Validated:
    """Check a config file (ConfigError with every problem); the gaps in the next GAP_WINDOW."""
    from ..schedules.oncall import gaps

    config = load(path)
    found = []
    for name in config.schedules:
        schedule = config.to_schedule(name)
        found += [(name, schedule.timezone, start, end) for start, end in gaps(schedule, now, now + GAP_WINDOW)]
    return Validated(len(config.users), len(config.schedules), len(config.escalation_policies),
                     len(config.services), found, list(config.warnings()))


def load(path: str):  # noqa: ANN201 - a config.schema.Config
    """The config file, checked (ConfigError with every problem)."""
    from ..config.load import load_config

    return load_config(path)


HANDOFF_WINDOW = timedelta(days=28)


def apply(db, config, now: datetime, dry_run: bool = False):  # noqa: ANN001, ANN201 - config.apply.Changes
    """Write `config` (see `load`) in one transaction; a dry run does it all and
    rolls back, and also says who gains and loses which stretches of the next
    HANDOFF_WINDOW in every schedule (`changes.handoffs`)."""
    from ..config.apply import apply_config

    with db.write() as session:
        before = _all_schedules(session) if dry_run else {}
        changes = apply_config(session, config, now)
        if dry_run:
            changes.handoffs = _handoffs(before, _all_schedules(session), now)
            session.rollback()
    return changes


def _all_schedules(session) -> dict:  # noqa: ANN001 - a Session; name → schedules.types.Schedule
    from ..config import catalog

    return {name: catalog.schedule(session, name) for name in catalog.schedule_names(session)}


def _handoffs(before: dict, after: dict, now: datetime) -> list:
    from ..exports.handoffs import changes

    return [h for name in sorted(before.keys() | after.keys())
            for h in changes(name, before.get(name), after.get(name), now, now + HANDOFF_WINDOW)]


@dataclass
class Shifts:
    schedule: str
    timezone: str
    start: datetime
    end: datetime
    shifts: list  # rotation.Shift: user, start, end, source

    def to_json(self) -> dict:
        from ..times import iso

        return {"schedule": self.schedule, "timezone": self.timezone,
                "shifts": [{"user": s.user, "start": iso(s.start), "end": iso(s.end), "source": s.source}
                           for s in self.shifts]}


def shifts(db, name: str, start: datetime, end: datetime | None) -> Shifts:  # noqa: ANN001
    """The final shifts of `name` in [start, end) (default: 14 days), overrides applied."""
    from ..config import catalog
    from ..schedules.oncall import final_shifts

    end = end or start + timedelta(days=14)
    if end <= start:
        raise UsageError("--to must be after --from")
    if end - start > MAX_WINDOW:
        raise UsageError("the window is longer than a year", hint="narrow --from/--to")
    with db.read() as session:
        schedule = catalog.schedule(session, name)
    return Shifts(name, schedule.timezone, start, end, final_shifts(schedule, start, end))


@dataclass
class Override:
    id: int
    schedule: str
    user: str
    start: datetime
    end: datetime
    source: str

    def to_json(self) -> dict:
        from ..times import iso

        return {"id": self.id, "schedule": self.schedule, "user": self.user, "start": iso(self.start),
                "end": iso(self.end), "source": self.source}


def add_override(db, name: str, user: str, start: datetime, end: datetime, now: datetime) -> Override:  # noqa: ANN001
    from ..config import catalog

    with db.write() as session:
        added = catalog.add_override(session, name, user, start, end, now)
    return Override(added, name, user, start, end, "cli")


def overrides(db, name: str) -> list[Override]:  # noqa: ANN001
    from ..config import catalog

    with db.read() as session:
        rows = catalog.overrides(session, name)
    return [Override(r.id, name, r.user, r.start, r.end, r.source) for r in rows]


def remove_override(db, override_id: int) -> None:  # noqa: ANN001
    from ..config import catalog

    with db.write() as session:
        catalog.remove_override(session, override_id)
