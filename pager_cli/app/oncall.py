"""Who is on call: in every schedule now (`schedules list`), or in some of
them at a time, level by level for a service (`oncall`). Apart from the rest of
the schedule commands (`app.schedules`): `pager oncall` compiles only this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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


def schedules(db, now: datetime) -> list[OnCall]:  # noqa: ANN001
    """Every schedule with who is on call at `now`."""
    from ..config import catalog
    from ..schedules.oncall import on_call

    with db.read() as session:
        found = [(name, catalog.schedule(session, name)) for name in catalog.schedule_names(session)]
    return [OnCall.of(name, on_call(s, now), s.timezone) for name, s in found]


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
