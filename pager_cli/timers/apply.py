"""What `schedules apply` does to the timers once the config is written:
heartbeats due as the config has them now; incidents held by maintenance
re-checked now (a window removed or changed ends or moves the hold);
auto-resolve re-armed where a service's `auto_resolve` changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..heartbeats import beat
from ..maintenance import windows as maintenance


def after_apply(session, now: datetime, have: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:  # noqa: ANN001
    beat.rearm(session, now)
    maintenance.forget(session)
    if have["maintenance"] != want["maintenance"]:
        _recheck_holds(session, now)
    old, new = have["service"], want["service"]
    changed = {name: value["auto_resolve_s"] for name, value in new.items()
               if (old.get(name) or {}).get("auto_resolve_s") != value["auto_resolve_s"]}
    changed.update({name: None for name in old.keys() - new.keys()})
    if changed:
        from .incidents import rearm

        rearm(session, now, changed)


def _recheck_holds(session, now: datetime) -> None:  # noqa: ANN001
    """Held incidents are due now at the latest: the escalation engine holds
    them again (until the new end) or starts them at level 0 now."""
    from ..store import tables as m

    t = m.Incident.__table__.c
    session.connection().execute(
        sa.update(m.Incident.__table__).where(t.held_until.is_not(None), t.status == "triggered", t.held_until > now)
        .values(next_escalation_at=now)
    )
