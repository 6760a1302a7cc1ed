"""`pager trigger -`: alerts from stdin, committed in batches, reported per record.

Reading and batching share one thread. Records are parsed as they arrive
(`alerts.stream.read_alerts`) and handed to `ingest.Ingest`, which commits a
batch when it is full or when its first record is `--batch-latency` old. That
age is checked as each record arrives; for the case where nothing arrives (a
quiet pipe, a terminal), stdin is read through `_QuietInput`, which, before
each read that could block, waits on `select()` only as long as the pending
batch may still wait, and commits it when that runs out. So a slow trickle is
committed within the latency, and a fast stream pays one `select()` per 64 KiB
read. Input that is no file descriptor (tests) or a platform without
`select()` on pipes falls back to the check on arrival.

Records that name no service, plain-text lines among them, take `--service`,
else the config's `default_service` (`ingest` routes the rest).

Output, only after the batch of a record committed: with `--json` one NDJSON
line per record on stdout; otherwise nothing per record on stdout but the
console pages, one `Error: record N (line L): reason` line on stderr per bad
record, and a summary line on stderr at the end. Warnings (an unknown
severity, a record sent to the default service) go to stderr with their
record number. On a terminal a progress line on stderr follows long streams.
Exit 1 when any record failed, else 0.
"""

from __future__ import annotations

import gc
import io
import os
import sys
import time
from typing import TYPE_CHECKING

from . import output
from .context import Ctx, who

if TYPE_CHECKING:
    from ..app.ingest import Batch

_READ_SIZE = 64 * 1024
_PROGRESS_AFTER = 1.0  # seconds before a stream counts as long


def run_stdin(c: Ctx, service: str | None, input_format: str, batch_size: int, batch_latency: str,
              defaults=None) -> int:  # noqa: ANN001 - an app.ingest.Defaults
    """Ingest the alerts on stdin (`defaults`: for the records that lack a field); the exit code."""
    from ..app.ingest import Defaults

    from ..app.ingest import feed, for_stream
    from ..times import parse_duration

    latency = parse_duration(batch_latency).total_seconds()
    clock = c.clock()  # live: read afresh for each batch; a replay stamps every batch at --now, as `trigger` does
    report = _Report(c.json)
    ingest = for_stream(c.db(), clock, report, service, by=who(None), batch_size=batch_size, latency=latency)
    gc.freeze()  # a long stream allocates much: keep the collector off what the imports made
    try:
        feed(ingest, _stdin(ingest), input_format, defaults or Defaults())
    finally:
        gc.unfreeze()
        report.stop()
    report.summary()
    return 1 if report.counts["error"] else 0


def _stdin(ingest):  # noqa: ANN001, ANN202
    """stdin as a binary stream that commits a due batch while it waits."""
    stream = sys.stdin
    if stream is None:  # started with stdin closed: an empty stream
        return io.BytesIO()
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return getattr(stream, "buffer", stream)
    if os.name != "posix":
        return getattr(stream, "buffer", stream)
    return io.BufferedReader(_QuietInput(fd, ingest.due_in, ingest.commit), _READ_SIZE)


class _QuietInput(io.RawIOBase):
    """A file descriptor read so that a pending batch is committed on time:
    before a read, wait for input at most `due_in()` seconds; if none came,
    call `on_due()` and wait again."""

    def __init__(self, fd: int, due_in, on_due):  # noqa: ANN001
        super().__init__()
        self._fd = fd
        self._due_in = due_in
        self._on_due = on_due

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def readinto(self, buffer) -> int:  # noqa: ANN001
        import select

        while (wait := self._due_in()) is not None:
            if wait > 0 and select.select([self._fd], [], [], wait)[0]:
                break
            self._on_due()
        return os.readv(self._fd, [buffer])


class _Report:
    """Each committed batch: pages, per-record lines, counts, progress."""

    def __init__(self, as_json: bool):
        from collections import Counter

        from ..app.ingest import ACTIONS

        self.as_json = as_json
        self.counts = Counter(dict.fromkeys(ACTIONS, 0))
        self.total = 0
        self.progress = _Progress(as_json)

    def __call__(self, batch: "Batch") -> None:
        output.pages(batch.pages, self.as_json)
        output.deliveries(batch.deliveries)
        counts, lines = self.counts, []
        for r in batch.results:
            counts[r.action] += 1
            if r.warnings or r.error is not None:
                where = f"record {r.record} (line {r.line})"
                for warning in r.warnings:
                    output.warn(f"{where}: {warning}")
                if r.error is not None:
                    output.error(f"{where}: {r.error}")
            if self.as_json:
                lines.append(output.dumps(r.to_json()))
        self.total += len(batch.results)
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
        if self.progress.enabled:
            self.progress.update(self.text())

    def text(self) -> str:
        parts = [f"{n} {action}" + ("s" if action == "error" and n != 1 else "")
                 for action, n in self.counts.items() if n]
        head = f"{self.total} record{'s' if self.total != 1 else ''}"
        return head + (": " + ", ".join(parts) if parts else "")

    def summary(self) -> None:
        if not self.as_json:
            output.say(self.text())

    def stop(self) -> None:
        self.progress.stop()


class _Progress:
    """A transient Rich progress line on stderr, shown only when stderr is a
    terminal (and stdout is not the same terminal carrying JSON), and only once
    a stream has run for a second."""

    def __init__(self, as_json: bool):
        self.enabled = _isatty(sys.stderr) and not (as_json and _isatty(sys.stdout))
        self.started = time.monotonic()
        self._bar = None
        self._task = None

    def update(self, text: str) -> None:
        if self._bar is None:
            if time.monotonic() - self.started < _PROGRESS_AFTER:
                return
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                SpinnerColumn(), TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                console=output.console(stderr=True), transient=True,
                redirect_stdout=_isatty(sys.stdout), redirect_stderr=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(text, total=None)
        self._bar.update(self._task, description=text)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _isatty(stream) -> bool:  # noqa: ANN001
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False
