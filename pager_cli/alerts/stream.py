"""The framing of an alert stream (what `pager trigger -` reads on stdin).

The stream is read incrementally, line by line, as UTF-8 (a byte order mark
at the start is dropped). Each non-blank line is, in `auto` format:

- the start of a JSON document when its first non-space character is `{` or
  `[`. A line that parses on its own is a whole document (NDJSON). Otherwise
  the following lines are added until the brackets balance, so pretty-printed
  documents work;
- otherwise a plain-text title, which needs `default_service`.

In `json` format every record must be JSON (a plain-text line is a bad
record); in `text` format every non-blank line is a title, even one that
looks like JSON.

Each complete document is parsed by `json_strict` and turned into records by
`documents.records_of`. Records are numbered from 1 in stream order;
`Alert.line` is the line where the document (or text line) starts.

A bad record is an `Alert` with `error` set to the reason; reading goes on
with the next one. How a broken document ends:

- one that closes its brackets but is not valid JSON is that one bad record;
- one that is cut off — larger than MAX_RECORD_BYTES, a string still open at
  the end of a line (JSON strings cannot hold a newline), a closing bracket
  that does not match, or a next line that cannot continue it (the JSON
  grammar allows only a few characters there: after `"a": 1` comes `,` or
  `}`, so a new `{…}` line means the document was truncated) — is one bad
  record, and the lines that still belong to it are skipped. Reading resumes
  at the first blank line, or at the first line that starts in column 0 with
  anything other than whitespace, `}`, `]`, `,` or `"` (the next document's
  `{`, or a text title). The lines of a pretty-printed document are indented
  or start with a closing bracket, so they are skipped.

A record (a line, or all lines of a document) has at most MAX_RECORD_BYTES:
a longer line is read past in chunks, never held whole, so memory stays
under about twice that limit whatever the input.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from ..errors import UsageError
from .documents import records_of
from .generic import text_record
from .json_strict import json_error_reason, limits_problem, loads_strict
from .multiline import CLOSED, CUT, Document
from .record import MAX_RECORD_BYTES, Alert, BadRecord, bad_record, kind_of

INPUT_FORMATS = ("auto", "json", "text")

_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"


def read_alerts(
    stream: BinaryIO, input_format: str = "auto", default_service: str | None = None
) -> Iterator[Alert]:
    """The alerts of a binary stream, one `Alert` per record, read lazily.

    `input_format` is `auto`, `json` or `text`; `default_service` is the
    service of records that name none (and what plain-text lines need).
    """
    if input_format not in INPUT_FORMATS:
        raise UsageError(f"unknown input format {input_format!r}", hint="use auto, json or text")
    if isinstance(stream, io.TextIOBase):
        stream = stream.buffer  # type: ignore[attr-defined]
    elif isinstance(stream, io.RawIOBase):
        stream = io.BufferedReader(stream)  # type: ignore[assignment]
    return _read(stream, input_format, default_service or None)


# --------------------------------------------------------------------------
# Physical lines, documents, resynchronisation after a cut-off document.


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes with their newline) for each line; None in place of
    the bytes for a line longer than MAX_RECORD_BYTES, which is read past in
    chunks."""
    readline = stream.readline
    limit = MAX_RECORD_BYTES + 1
    number = 0
    while True:
        data = readline(limit)
        if not data:
            return
        number += 1
        if number == 1 and data.startswith(_BOM):
            data = data[3:]
            if not data:
                return
        if len(data) == limit and data[-1] != 0x0A:
            del data
            while True:
                chunk = readline(_CHUNK)
                if not chunk or chunk[-1] == 0x0A:
                    break
            yield number, None
            continue
        yield number, data


_NO_RESUME = b" \t\r\n\f\v}],\""


def _resumes(raw: bytes) -> bool:
    """Whether a line ends the skipping after a cut-off document."""
    return raw[0] not in _NO_RESUME


def _read(stream: BinaryIO, fmt: str, default_service: str | None) -> Iterator[Alert]:
    number = 0
    doc: Document | None = None  # a document open over several lines
    skipping = False  # after a cut-off document, until a line resumes reading
    out: list[Alert]

    for lineno, raw in _lines(stream):
        starts_document = raw is not None and (raw[0] == 0x7B or raw[0] == 0x5B)
        if starts_document and doc is None and len(raw) > 3 and fmt != "text":
            # The fast path: a document starting in column 0 (which also ends
            # any skipping), whole on its line. A lone `{` cannot be one.
            skipping = False
            records: Iterable[Alert]
            try:
                text = raw.decode("utf-8")
                value = loads_strict(text)
            except ValueError:
                records = out = []
                doc, skipping = _start_document(lineno, raw, default_service, out)
            else:
                records = _from_document(value, text, lineno, default_service)
            for alert in records:
                number += 1
                alert.record = number
                yield alert
            continue

        out = []
        if fmt == "text":
            alert = _text_record(lineno, raw, default_service)
            if alert is not None:
                out.append(alert)
        elif doc is not None:
            if raw is None:
                out.append(bad_record(doc.start, _too_large()))
                doc, skipping = None, True
            elif not (stripped := raw.lstrip()):
                doc.lines.append(raw)  # whitespace inside the document
                doc.size += len(raw)
            elif not doc.continues(stripped[0]):
                out.append(bad_record(doc.start, _cut_reason(doc, raw)))
                doc, skipping = None, True
                if _resumes(raw):
                    doc, skipping = _fresh_line(lineno, raw, fmt, default_service, out)
            elif doc.size + len(raw) > MAX_RECORD_BYTES:
                out.append(bad_record(doc.start, _too_large()))
                doc, skipping = None, True
            else:
                status = doc.feed(raw)
                if status == CLOSED:
                    out.extend(_finish(doc, default_service))
                    doc = None
                elif status == CUT:
                    out.append(bad_record(doc.start, _cut_reason(doc)))
                    doc, skipping = None, True
        elif raw is None:
            if not skipping:  # a line read past whole: nothing of it is left to skip
                out.append(bad_record(lineno, _too_large()))
        elif not starts_document and not raw.strip():
            skipping = False  # a blank line
        elif not skipping or _resumes(raw):
            doc, skipping = _fresh_line(lineno, raw, fmt, default_service, out)

        for alert in out:
            number += 1
            alert.record = number
            yield alert

    if doc is not None:
        alert = bad_record(doc.start, _cut_reason(doc))
        alert.record = number + 1
        yield alert


def _fresh_line(
    lineno: int, raw: bytes, fmt: str, default_service: str | None, out: list[Alert]
) -> tuple[Document | None, bool]:
    """Read a non-blank line outside any document: its records go to `out`.
    Returns the document it leaves open, if any, and whether to skip lines."""
    first = raw[0]
    if first != 0x7B and first != 0x5B:
        first = raw.lstrip()[0]
    if first != 0x7B and first != 0x5B:  # not { or [
        if fmt == "json":
            out.append(bad_record(lineno, _not_json(raw)))
        else:
            alert = _text_record(lineno, raw, default_service)
            if alert is not None:
                out.append(alert)
        return None, False
    if len(raw.strip()) == 1:  # a lone `{` or `[`
        return _start_document(lineno, raw, default_service, out)
    try:  # a whole document on one line
        text = raw.decode("utf-8")
        value = loads_strict(text)
    except ValueError:
        return _start_document(lineno, raw, default_service, out)
    out.extend(_from_document(value, text, lineno, default_service))
    return None, False


def _start_document(
    lineno: int, raw: bytes, default_service: str | None, out: list[Alert]
) -> tuple[Document | None, bool]:
    """Start a document on a line that is not one whole by itself."""
    doc = Document(lineno)
    status = doc.feed(raw)
    if status == CLOSED:
        out.extend(_finish(doc, default_service))
        return None, False
    if status == CUT:
        out.append(bad_record(lineno, _cut_reason(doc)))
        return None, True
    return doc, False


def _text_record(lineno: int, raw: bytes | None, default_service: str | None) -> Alert | None:
    """A plain-text line as a trigger with that title; None for a blank line."""
    if raw is None:
        return bad_record(lineno, _too_large())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return bad_record(lineno, f"invalid UTF-8 at byte {e.start + 1} of the line")
    return text_record(lineno, text, default_service)


# --------------------------------------------------------------------------
# A gathered document → its records.


def _decode(data: bytes, start: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = start + data.count(b"\n", 0, e.start)
        raise BadRecord(f"invalid UTF-8 at line {line}") from None


def _finish(doc: Document, default_service: str | None) -> Iterable[Alert]:
    """The records of a document whose brackets balanced."""
    try:
        text = _decode(doc.data(), doc.start)
    except BadRecord as e:
        return [bad_record(doc.start, str(e))]
    try:
        value = loads_strict(text)
    except ValueError as e:
        return [bad_record(doc.start, json_error_reason(e, text, doc.start))]
    return _from_document(value, text, doc.start, default_service)


def _cut_reason(doc: Document, next_line: bytes | None = None) -> str:
    """Why a document that was cut off is bad; `next_line` is the line that
    could not continue it (read for the message only)."""
    if doc.open_string:
        line = doc.start + len(doc.lines) - 1
        return f"invalid JSON at line {line}: a string runs past the end of the line"
    data = doc.data()
    if next_line is not None:
        data += next_line
    try:
        text = _decode(data, doc.start)
        loads_strict(text)
    except BadRecord as e:
        return str(e)
    except ValueError as e:
        return json_error_reason(e, text, doc.start)
    return f"invalid JSON: the document from line {doc.start} is not finished"


def _not_json(raw: bytes) -> str:
    try:
        value = loads_strict(raw.decode("utf-8"))
    except ValueError:
        return "not JSON (a record must be a JSON object or array)"
    return f"record is {kind_of(value)}, not an object"


def _too_large() -> str:
    return f"record larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB"


def _from_document(value: Any, text: str, line: int, default_service: str | None) -> Iterable[Alert]:
    """The records of a parsed document, after the checks on depth and strings
    (done only when the text could break them, so NDJSON stays fast)."""
    problem = limits_problem(value, text)
    if problem:
        return [bad_record(line, problem)]
    return records_of(value, line, default_service)
