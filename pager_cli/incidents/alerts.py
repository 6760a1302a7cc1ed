"""The alerts of a `dedup: service` incident, each under its own key, firing or
resolved (PRODUCT.md §5, as PagerDuty's alert grouping): a sender's resolve for
one of them resolves the incident only when none of its others still fires.

An alert's key is the one its sender gave (Alertmanager's `am:<fingerprint>`,
a PagerDuty `dedup_key`), else `auto:` + sha256 of its title: the key it
would have had in a service without `dedup: service`.

`Alerts` holds the states of the incidents a transaction touches, each read
once when first touched and written back by `flush` in two executemany
statements (new keys, changed keys), so a batch of a thousand alerts costs no
statement each. An incident is named by its id, or by a stand-in object with an
`id` attribute that is set once the incident is inserted (batch ingest opens
its incidents together): `flush` takes the id from it then, merging what the
stand-in fired with the keys stored under that id (the stand-in's alert may
have been folded into an incident another transaction opened meanwhile).
The caller holds the incident's row (locked, or its own) while it reads them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from ..store import bulk
from ..store import tables as m

FIRING, RESOLVED = "firing", "resolved"
SHOWN = 5  # still-firing alerts named in a timeline entry; the rest are counted

_ALERT = m.IncidentAlert.__table__
_READ = select(_ALERT.c.alert_key, _ALERT.c.title, _ALERT.c.status).where(
    _ALERT.c.incident_id == bindparam("b_id")).order_by(_ALERT.c.id)
_ADD = insert(_ALERT)
_ADD_COLUMNS = ("incident_id", "alert_key", "title", "status", "changed_at")
_SET = (update(_ALERT).where(_ALERT.c.incident_id == bindparam("b_id"), _ALERT.c.alert_key == bindparam("b_key"))
        .values(title=bindparam("b_title"), status=bindparam("b_status"), changed_at=bindparam("b_at")))
_SET_COLUMNS = ("b_title", "b_status", "b_at", "b_id", "b_key")


class _Key:
    __slots__ = ("title", "status", "stored", "changed")

    def __init__(self, title: str, status: str, stored: bool):
        self.title, self.status, self.stored, self.changed = title, status, stored, False


class Alerts:
    """The alert states of the incidents touched in one transaction (see the module docstring)."""

    def __init__(self, connection, now: datetime):  # noqa: ANN001 - the transaction's Connection
        self.connection = connection
        self.now = now
        self.states: dict[Any, dict[str, _Key]] = {}  # incident id or stand-in → key → state

    def _of(self, incident: Any) -> dict[str, _Key]:
        keys = self.states.get(incident)
        if keys is None:
            keys = self.states[incident] = {}
            if isinstance(incident, int):
                for key, title, status in self.connection.execute(_READ, {"b_id": incident}):
                    keys[key] = _Key(title, status, True)
        return keys

    def _adopt(self, incident_id: int, fired: dict[str, _Key]) -> dict[str, _Key]:
        """The keys of `incident_id` as stored, with those a stand-in `fired` on top."""
        keys = self._of(incident_id)
        for key, state in fired.items():
            stored = keys.get(key)
            if stored is not None:
                state.stored = stored.stored
            keys[key] = state
        return keys

    def fire(self, incident: Any, key: str, title: str) -> None:
        """Alert `key` of `incident` fires (again)."""
        keys = self._of(incident)
        state = keys.get(key)
        if state is None:
            keys[key] = state = _Key(title, FIRING, False)
        state.status, state.title, state.changed = FIRING, title, True

    def resolve(self, incident: Any, key: str) -> str | None:
        """Alert `key` of `incident` is resolved. The timeline text that says so
        and which alerts still fire, when some do (the incident stays open); None
        when none does (the incident itself is resolved)."""
        keys = self._of(incident)
        state = keys.get(key)
        if state is not None and state.status == FIRING:
            state.status, state.changed = RESOLVED, True
        firing = [f"{s.title} ({k})" for k, s in keys.items() if s.status == FIRING]
        if not firing:
            return None
        named = "; ".join(firing[:SHOWN]) + (f"; and {len(firing) - SHOWN} more" if len(firing) > SHOWN else "")
        resolved = f"{state.title} ({key}) resolved" if state is not None else f"{key} resolved (never fired here)"
        return f"{resolved}; still firing ({len(firing)}): {named}"

    def flush(self) -> None:
        """Write the keys added or changed since the last flush."""
        new, changed = [], []
        if not self.states:
            return
        stamp = bulk.stored(self.connection, _ALERT.c.changed_at, self.now)
        for incident, keys in list(self.states.items()):
            incident_id = incident if isinstance(incident, int) else incident.id
            if incident_id is None:  # not inserted yet
                continue
            if incident is not incident_id:  # a stand-in, inserted since: known by its id from now on
                del self.states[incident]
                keys = self._adopt(incident_id, keys)
            for key, state in keys.items():
                if not state.changed:
                    continue
                if state.stored:
                    changed.append((state.title, state.status, stamp, incident_id, key))
                else:
                    new.append((incident_id, key, state.title, state.status, stamp))
                state.stored, state.changed = True, False
        if new:
            bulk.executemany(self.connection, _ADD, _ADD_COLUMNS, new)
        if changed:
            bulk.executemany(self.connection, _SET, _SET_COLUMNS, changed)
