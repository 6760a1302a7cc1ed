"""The exports of PRODUCT.md §13 as functions, shared by the CLI and `serve`
(`GET /ical/{schedule}`, `GET /metrics`): each reads in one transaction and
returns the document, ready to write out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from ..errors import PagerError, UsageError

ICAL_WINDOW = timedelta(days=90)
MAX_ICAL_WINDOW = timedelta(days=731)


def ical_feed(db, clock: Callable[[], datetime], schedule: str, user: str | None = None,  # noqa: ANN001
              start: datetime | None = None, end: datetime | None = None,
              alarm: timedelta | str | None = None) -> bytes:
    """Schedule `schedule`'s final shifts overlapping [start, end) (default: now
    to 90 days on) as an RFC 5545 calendar; only `user`'s if given. `alarm`
    (a duration) adds a reminder that long before each shift."""
    from ..config import catalog
    from ..exports import ical
    from ..times import parse_duration

    now = clock()
    start = start or now
    end = end or start + ICAL_WINDOW
    if end <= start:
        raise UsageError("--to must be after --from")
    if end - start > MAX_ICAL_WINDOW:
        raise UsageError("the window is longer than two years", hint="narrow --from/--to")
    if isinstance(alarm, str):
        alarm = parse_duration(alarm)
    if alarm is not None and alarm < timedelta(0):
        raise UsageError("--alarm must be a duration before the shift, such as 15m")
    with db.read() as session:
        found = catalog.schedule(session, schedule)
        if user is not None:
            catalog.require_user(session, user)
    return ical.calendar(found, ical.whole_shifts(found, start, end, user), now, alarm)


def prometheus_text(db, clock: Callable[[], datetime], since: datetime | None = None,  # noqa: ANN001
                    until: datetime | None = None, service: str | None = None) -> bytes:
    """The Prometheus text exposition of PRODUCT.md §13 (`pager metrics
    --format prometheus`, serve's `/metrics`): open incidents and deliveries
    now, and the incidents created in [since, until) (default: the 30 days
    before now)."""
    from ..exports import prometheus

    now = clock()
    return prometheus.exposition(db, now, since, until or now, service)


def write_textfile(path: str, text: bytes) -> None:
    """`text` written to `path` atomically, mode 0644: a temporary file in the
    same directory, flushed to disk, then renamed over `path`, so node_exporter's
    textfile collector never reads half a file."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, temp = tempfile.mkstemp(prefix=".pager-metrics-", suffix=".tmp", dir=directory)
    except OSError as e:
        raise PagerError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as e:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise PagerError(f"cannot write {path}: {e.strerror}") from None
