"""The one clock: every read of the current time goes through a `Clock`.

The policy, in one place:

- live (no `--now` / PAGER_NOW): every read is the real clock, in UTC, read
  afresh (a one-shot command reads it once, through `Ctx.now()`);
- replay of a one-shot command (`--now T`, a stdin stream included: a replayed
  stream is stamped at T whatever its length): every read is T;
- replay of a loop (`watch`, later `serve`): the first read is
  T exactly and each later one T plus the real time elapsed since the first,
  on the monotonic clock, so the replay moves at real speed and escalations
  fall due as they would have.

A loop takes its clock from the command's with `moving()`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


class Clock:
    def __init__(self, replay_at: datetime | None = None, *, moving: bool = False,
                 monotonic: Callable[[], float] = time.monotonic):
        self.replay_at = replay_at
        self.is_moving = moving
        self._monotonic = monotonic
        self._started: float | None = None

    @classmethod
    def from_option(cls, now_option: str | None, tz=None) -> "Clock":  # noqa: ANN001 - a zone or a callable
        """The clock of `--now` / PAGER_NOW (live when neither is set); a bad value is a UsageError."""
        from ..times import current_time

        if not now_option:
            return cls()
        return cls(current_time(now_option, tz))

    @property
    def replay(self) -> bool:
        return self.replay_at is not None

    def moving(self) -> "Clock":
        """This clock for a loop: same start, moving at real speed in a replay."""
        return Clock(self.replay_at, moving=True, monotonic=self._monotonic)

    def now(self) -> datetime:
        if self.replay_at is None:
            from ..times import current_time

            return current_time(None)
        if not self.is_moving:
            return self.replay_at
        if self._started is None:
            self._started = self._monotonic()
            return self.replay_at
        return self.replay_at + timedelta(seconds=self._monotonic() - self._started)

    __call__ = now
