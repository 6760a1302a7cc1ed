"""Delivering pages. A page is a row in the `page` table (who, which incident,
which step and level, when, channel, delivery state); a channel turns it into a
message somewhere. Only the console channel exists today; webhook, command and
email channels plug in here by adding to CHANNELS.

Pages are written inside the transaction that decides them and delivered once
it has committed, so a rolled-back step never pages anybody.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Protocol

from ..safetext import one_line


@dataclass(frozen=True)
class PageMessage:
    user: str
    incident_id: int
    severity: str
    service: str
    title: str
    level: int
    channel: str = "console"

    def text(self) -> str:
        return f"PAGE {self.user} #{self.incident_id} [{self.severity}] {self.service}: {self.title}"


class Channel(Protocol):
    def deliver(self, page: PageMessage) -> None: ...


class ConsoleChannel:
    """One line on stdout per page, control characters shown as escapes."""

    def __init__(self, stream=None):  # noqa: ANN001
        self.stream = stream

    def deliver(self, page: PageMessage) -> None:
        stream = self.stream or sys.stdout
        stream.write(one_line(page.text()) + "\n")
        stream.flush()


CHANNELS: dict[str, Channel] = {"console": ConsoleChannel()}


def channels_for(user: str) -> list[str]:
    """The channels a user is paged on. Everyone has the console for now."""
    return ["console"]


def deliver(pages: list[PageMessage], quiet: bool = False) -> None:
    """Deliver committed pages. `quiet` (JSON output) keeps stdout for JSON and
    sends console pages to stderr instead."""
    for page in pages:
        channel = CHANNELS[page.channel]
        if quiet and isinstance(channel, ConsoleChannel):
            ConsoleChannel(sys.stderr).deliver(page)
        else:
            channel.deliver(page)
