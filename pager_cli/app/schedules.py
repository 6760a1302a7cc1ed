"""The schedule commands as functions: validate and apply the config, overrides,
who is on call, the schedules and their shifts. Each owns its transaction and
returns plain results; the CLI renders them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import UsageError

GAP_WINDOW = timedelta(days=28)
MAX_WINDOW = timedelta(days=366)


@dataclass
class OnCall:
    schedule: str | None  # None: a user an escalation level pages directly
    user: str | None
    start: datetime | None
    end: datetime | None
    timezone: str
    level: int | None = None  # `oncall --service`: the escalation level that pages them

    @classmethod
    def of(cls, name: str, shift, timezone: str, level: int | None = None) -> "OnCall":  # noqa: ANN001 - a Shift or None
        return cls(name, shift.user if shift else None, shift.start if shift else None,
                   shift.end if shift else None, timezone, level)

    def to_json(self, with_zone: bool = False) -> dict:
        from ..times import iso

        doc = {"schedule": self.schedule, "user": self.user, "shift_start": iso(self.start), "shift_end": iso(self.end)}
        if self.level is not None:
            doc["level"] = self.level
        if with_zone:
            doc["timezone"] = self.timezone
        return doc


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


def schedules(db, now: datetime) -> list[OnCall]:  # noqa: ANN001
    """Every schedule with who is on call at `now`."""
    from ..config import catalog
    from ..schedules.oncall import on_call

    with db.read() as session:
        found = [(name, catalog.schedule(session, name)) for name in catalog.schedule_names(session)]
    return [OnCall.of(name, on_call(s, now), s.timezone) for name, s in found]


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


def schedule_targets(targets) -> list[str]:  # noqa: ANN001
    """The schedules among an escalation level's targets (`schedule:NAME`)."""
    return [t.partition(":")[2] for t in targets if t.startswith("schedule:")]


def oncall(db, when: datetime, names: list[str], service: str | None = None) -> list[OnCall]:  # noqa: ANN001
    """Who is on call at `when` in `names`; with `service`, then who each level of
    its policy pages, level by level: the schedules' on-call users and the users it
    targets directly (no names and no service: every schedule)."""
    from ..config import catalog
    from ..schedules.oncall import on_call

    with db.read() as session:
        if not names and not service:
            names = catalog.schedule_names(session)
        wanted: list[tuple[int | None, str, str]] = [(None, "schedule", n) for n in dict.fromkeys(names)]
        if service:
            svc = catalog.service(session, service)
            policy = catalog.policy(session, svc.escalation_policy)
            for number, level in enumerate(policy.levels if policy else ()):
                wanted += [(number, *t.partition(":")[::2]) for t in level.targets]
        found = {n: catalog.schedule(session, n) for _, kind, n in wanted if kind == "schedule"}
        zone = catalog.setting(session, "timezone") or "UTC"
    return [OnCall.of(n, on_call(found[n], when), found[n].timezone, level) if kind == "schedule"
            else OnCall(None, n, None, None, zone, level)
            for level, kind, n in wanted]
