"""`pager metrics` as a function: the report over a window, in one read."""

from __future__ import annotations

from datetime import datetime


def report(db, since: datetime | None, until: datetime, tz, service: str | None = None):  # noqa: ANN001, ANN201
    """The metrics.Report of the incidents created in [since, until) (default:
    the 30 days before `until`); days in zone `tz`."""
    from ..metrics import report as domain

    start, end = domain.window(since, until)
    with db.read() as session:
        return domain.compute(session, start, end, tz, service)
