"""The escalation policy types: what the config converts into, `schedules
apply` stores, the catalog reads back and the engine walks. One definition each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Level:
    delay: timedelta
    targets: tuple[str, ...]  # "schedule:x" / "user:y"


@dataclass(frozen=True)
class Policy:
    name: str
    repeat: int
    levels: tuple[Level, ...]
