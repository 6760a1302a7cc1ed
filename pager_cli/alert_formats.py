"""Alert streams: the records `pager trigger -` reads, parsed and normalized.

Pure parsing: no database and no config. A service name or a PagerDuty
routing key is carried as given and resolved against the services later.

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

A document becomes one record per object: an array gives each element in
turn (nested arrays too), an Alertmanager webhook body gives each of its
alerts. Records are numbered from 1 in stream order; `Alert.line` is the line
where the document (or text line) starts. Objects are read as:

- an Alertmanager webhook body (`"version": "4"` and an `alerts` list): per
  alert, `firing` triggers and `resolved` resolves; dedup key
  `am:<fingerprint>`, computed when missing; title `annotations.summary`
  else `labels.alertname`; service `labels.service` else the default;
- a PagerDuty Events v2 body (`event_action`, or `routing_key` and
  `payload`): service None and `routing_key` set, so the routing key decides;
  a trigger without `dedup_key` gets a random one (`generated_key`);
- any other object: `service`, `title` (or `summary`), `severity`,
  `dedup_key`, `details`, `action` (trigger by default; ack, acknowledge,
  resolve, resolved). Without a service it takes the default, else stays
  None for the caller to route.

An unknown severity is `error` with a warning, never a bad record.

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

Limits: a record (a line, or all lines of a document) of at most
MAX_RECORD_BYTES (a longer line is read past in chunks, never held whole:
memory stays under about twice that limit whatever the input);
JSON nesting of at most MAX_DEPTH; no NaN, Infinity or numbers beyond the
float range, no integers of more than 4300 digits and no lone UTF-16
surrogates, so `details` always serializes back to standard JSON; titles are
stripped of surrounding whitespace and cut at MAX_TITLE_CHARS characters
(with a warning), otherwise kept literally (markup and escape sequences are
made harmless where they are displayed); dedup keys of at most
MAX_KEY_CHARS characters.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .errors import UsageError
from .severity import DEFAULT_SEVERITY, normalize_severity

MAX_RECORD_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_TITLE_CHARS = 1024
MAX_KEY_CHARS = 1024
INPUT_FORMATS = ("auto", "json", "text")

_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"


@dataclass(slots=True)
class Alert:
    """One record of an alert stream, normalized.

    `service` is a service name or None (then `routing_key`, then the
    `--service` default decide); `dedup_key` None means it is computed later
    from the title. A bad record has `error` set to the reason; its other
    fields may be empty.
    """

    record: int
    line: int
    action: str  # "trigger" | "acknowledge" | "resolve"
    service: str | None
    routing_key: str | None
    title: str | None
    severity: str
    dedup_key: str | None
    details: dict
    warnings: list[str]
    error: str | None = None
    generated_key: bool = False


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


def alertmanager_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set: FNV-1a 64 over the labels
    sorted by name, each name and value followed by the byte 0xFF, as 16
    lowercase hex digits."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8", "surrogatepass"):
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
            h = ((h ^ 0xFF) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


# --------------------------------------------------------------------------
# The stream: physical lines, documents, resynchronisation.


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


_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_VALUE_START = b'{["-0123456789tfn'
_CLOSER = {0x7B: 0x7D, 0x5B: 0x5D}
_OPENER = {0x7D: 0x7B, 0x5D: 0x5B}
_OPEN, _CLOSED, _CUT = 0, 1, 2
_NO_RESUME = b" \t\r\n\f\v}],\""


def _resumes(raw: bytes) -> bool:
    """Whether a line ends the skipping after a cut-off document."""
    return raw[0] not in _NO_RESUME


class _Document:
    """A JSON document being gathered over several lines."""

    __slots__ = ("start", "lines", "size", "stack", "last", "open_string")

    def __init__(self, start: int):
        self.start = start
        self.lines: list[bytes] = []
        self.size = 0
        self.stack = bytearray()
        self.last = 0
        self.open_string = False

    def feed(self, raw: bytes) -> int:
        """Add a line: _CLOSED when the brackets balance, _CUT when the
        document is broken for sure, else _OPEN."""
        self.lines.append(raw)
        self.size += len(raw)
        rest = _STRING.sub(b"", raw) if 0x22 in raw else raw
        if 0x22 in rest:  # a string still open at the end of the line
            self.open_string = True
            return _CUT
        stack = self.stack
        for b in rest.translate(None, _NOT_BRACKET):
            if b == 0x7B or b == 0x5B:
                stack.append(b)
            elif stack and stack[-1] == _OPENER[b]:
                stack.pop()
                if not stack:
                    return _CLOSED
            else:
                return _CUT
        tail = raw.rstrip()
        if tail:
            self.last = tail[-1]
        return _OPEN

    def continues(self, first: int) -> bool:
        """Whether a line starting with byte `first` can continue the document."""
        top, last = self.stack[-1], self.last
        if last == 0x7B:  # {
            return first == 0x22 or first == 0x7D
        if last == 0x5B:  # [
            return first in _VALUE_START or first == 0x5D
        if last == 0x2C:  # ,
            return first == 0x22 if top == 0x7B else first in _VALUE_START
        if last == 0x3A:  # :
            return first in _VALUE_START
        if last == 0x22 and top == 0x7B and first == 0x3A:  # a key, then its colon
            return True
        return first == 0x2C or first == _CLOSER[top]

    def data(self) -> bytes:
        return b"".join(self.lines)


class _Bad(Exception):
    """A record that cannot be used; the message is the reason."""


def _read(stream: BinaryIO, fmt: str, default_service: str | None) -> Iterator[Alert]:
    number = 0
    doc: _Document | None = None  # a document open over several lines
    skipping = False  # after a cut-off document, until a line resumes reading
    out: list[Alert]

    for lineno, raw in _lines(stream):
        starts_document = raw is not None and (raw[0] == 0x7B or raw[0] == 0x5B)
        if starts_document and doc is None and len(raw) > 3 and fmt != "text":
            # The fast path: a document starting in column 0 (which also ends
            # any skipping), whole on its line. A lone `{` cannot be one.
            skipping = False
            try:
                text = raw.decode("utf-8")
                value = _loads(text)
            except (ValueError, RecursionError):
                out = []
                doc, skipping = _start_document(lineno, raw, default_service, out)
            else:
                out = _from_document(value, text, lineno, default_service)
            for alert in out:
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
                out.append(_bad(doc.start, _too_large()))
                doc, skipping = None, True
            elif not (stripped := raw.lstrip()):
                doc.lines.append(raw)  # whitespace inside the document
                doc.size += len(raw)
            elif not doc.continues(stripped[0]):
                out.append(_bad(doc.start, _cut_reason(doc, raw)))
                doc, skipping = None, True
                if _resumes(raw):
                    doc, skipping = _fresh_line(lineno, raw, fmt, default_service, out)
            elif doc.size + len(raw) > MAX_RECORD_BYTES:
                out.append(_bad(doc.start, _too_large()))
                doc, skipping = None, True
            else:
                status = doc.feed(raw)
                if status == _CLOSED:
                    out.extend(_finish(doc, default_service))
                    doc = None
                elif status == _CUT:
                    out.append(_bad(doc.start, _cut_reason(doc)))
                    doc, skipping = None, True
        elif raw is None:
            if not skipping:  # a line read past whole: nothing of it is left to skip
                out.append(_bad(lineno, _too_large()))
        elif not starts_document and not raw.strip():
            skipping = False  # a blank line
        elif not skipping or _resumes(raw):
            doc, skipping = _fresh_line(lineno, raw, fmt, default_service, out)

        for alert in out:
            number += 1
            alert.record = number
            yield alert

    if doc is not None:
        alert = _bad(doc.start, _cut_reason(doc))
        alert.record = number + 1
        yield alert


def _fresh_line(
    lineno: int, raw: bytes, fmt: str, default_service: str | None, out: list[Alert]
) -> tuple[_Document | None, bool]:
    """Read a non-blank line outside any document: its records go to `out`.
    Returns the document it leaves open, if any, and whether to skip lines."""
    first = raw[0]
    if first != 0x7B and first != 0x5B:
        first = raw.lstrip()[0]
    if first != 0x7B and first != 0x5B:  # not { or [
        if fmt == "json":
            out.append(_bad(lineno, _not_json(raw)))
        else:
            alert = _text_record(lineno, raw, default_service)
            if alert is not None:
                out.append(alert)
        return None, False
    if len(raw.strip()) == 1:  # a lone `{` or `[`
        return _start_document(lineno, raw, default_service, out)
    try:  # a whole document on one line
        text = raw.decode("utf-8")
        value = _loads(text)
    except (ValueError, RecursionError):
        return _start_document(lineno, raw, default_service, out)
    out.extend(_from_document(value, text, lineno, default_service))
    return None, False


def _start_document(
    lineno: int, raw: bytes, default_service: str | None, out: list[Alert]
) -> tuple[_Document | None, bool]:
    """Start a document on a line that is not one whole by itself."""
    doc = _Document(lineno)
    status = doc.feed(raw)
    if status == _CLOSED:
        out.extend(_finish(doc, default_service))
        return None, False
    if status == _CUT:
        out.append(_bad(lineno, _cut_reason(doc)))
        return None, True
    return doc, False


def _text_record(lineno: int, raw: bytes | None, default_service: str | None) -> Alert | None:
    """A plain-text line as a trigger with that title; None for a blank line."""
    if raw is None:
        return _bad(lineno, _too_large())
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return _bad(lineno, f"invalid UTF-8 at byte {e.start + 1} of the line")
    warnings: list[str] = []
    title = _clip(text.strip(), warnings)
    if not title:
        return None
    if default_service is None:
        return _bad(lineno, "plain text needs --service")
    return Alert(0, lineno, "trigger", default_service, None, title, DEFAULT_SEVERITY, None, {}, warnings)


# --------------------------------------------------------------------------
# JSON text → values, with the limits.


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_INF = float("inf")
_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_constant=_reject_constant)
_SCAN_ONCE = _DECODER.scan_once
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _loads(text: str) -> Any:
    """json.loads with the limits above; the scanner is called directly for
    speed, and the full decoder only to raise the error of bad text."""
    try:
        value, end = _SCAN_ONCE(text, 0)
    except StopIteration:
        return _DECODER.decode(text)
    if end != len(text) and text[end:].strip(" \t\r\n"):
        return _DECODER.decode(text)
    return value


def parse_details(text: str, option: str = "--details") -> dict:
    """A `details` object given on the command line, under the same rules as a
    stdin record (strict JSON, valid Unicode, no NaN or Infinity, nesting of at
    most MAX_DEPTH); UsageError (exit 2) otherwise."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_RECORD_BYTES:
        raise UsageError(f"{option} is larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB")
    try:
        value = _loads(text)
    except (ValueError, RecursionError) as e:
        raise UsageError(f"{option}: {_json_reason(e, text, 1)}") from None
    problem = _limits_problem(value)
    if problem:
        raise UsageError(f"{option}: {problem}")
    if not isinstance(value, dict):
        raise UsageError(f"{option} must be a JSON object, not {_kind(value)}", hint="""--details '{"host": "db1"}'""")
    return value


def _json_reason(exc: Exception, text: str, start: int) -> str:
    """Plain words for why `text` (a document from line `start`) is not JSON."""
    if isinstance(exc, RecursionError):
        return f"JSON nested deeper than {MAX_DEPTH} levels"
    if isinstance(exc, json.JSONDecodeError):
        msg = exc.msg.removesuffix(" at")
        if exc.pos >= len(text.rstrip()):
            end = start + text.count("\n", 0, len(text.rstrip()))
            return f"invalid JSON: document not finished when the input ended (line {end}): {msg}"
        return f"invalid JSON at line {start + exc.lineno - 1} column {exc.colno}: {msg}"
    if "digits" in str(exc):
        return "invalid JSON: an integer with more than 4300 digits"
    return f"invalid JSON: {exc}"


def _decode(data: bytes, start: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = start + data.count(b"\n", 0, e.start)
        raise _Bad(f"invalid UTF-8 at line {line}") from None


def _finish(doc: _Document, default_service: str | None) -> list[Alert]:
    """The records of a document whose brackets balanced."""
    try:
        text = _decode(doc.data(), doc.start)
    except _Bad as e:
        return [_bad(doc.start, str(e))]
    try:
        value = _loads(text)
    except (ValueError, RecursionError) as e:
        return [_bad(doc.start, _json_reason(e, text, doc.start))]
    return _from_document(value, text, doc.start, default_service)


def _cut_reason(doc: _Document, next_line: bytes | None = None) -> str:
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
        _loads(text)
    except _Bad as e:
        return str(e)
    except (ValueError, RecursionError) as e:
        return _json_reason(e, text, doc.start)
    return f"invalid JSON: the document from line {doc.start} is not finished"


def _not_json(raw: bytes) -> str:
    try:
        value = _loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return "not JSON (a record must be a JSON object or array)"
    return f"record is {_kind(value)}, not an object"


def _too_large() -> str:
    return f"record larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB"


def _from_document(value: Any, text: str, line: int, default_service: str | None) -> list[Alert]:
    """The records of a parsed document, after the checks on depth and strings
    (done only when the text could break them, so NDJSON stays fast)."""
    deep = len(text) > MAX_DEPTH and text.count("{") + text.count("[") > MAX_DEPTH
    if deep or ("\\u" in text and _SURROGATE_ESCAPE.search(text)):
        problem = _limits_problem(value)
        if problem:
            return [_bad(line, problem)]
    if value.__class__ is dict and "alerts" not in value:  # the common case, quickly
        return [_record(value, line, default_service)]
    return list(_records(value, line, default_service))


def _limits_problem(value: Any) -> str | None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                return f"JSON nested deeper than {MAX_DEPTH} levels"
            for key, child in item.items():
                if _LONE_SURROGATE.search(key):
                    return "invalid JSON: a \\u escape that is not valid Unicode (a lone surrogate)"
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                return f"JSON nested deeper than {MAX_DEPTH} levels"
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and _LONE_SURROGATE.search(item):
            return "invalid JSON: a \\u escape that is not valid Unicode (a lone surrogate)"
    return None


# --------------------------------------------------------------------------
# Parsed values → Alerts.


def _records(value: Any, line: int, default_service: str | None) -> Iterator[Alert]:
    if isinstance(value, dict):
        if _is_alertmanager(value):
            yield from _alertmanager(value, line, default_service)
        else:
            yield _record(value, line, default_service)
    elif isinstance(value, list):
        for item in value:
            yield from _records(item, line, default_service)
    else:
        yield _bad(line, f"record is {_kind(value)}, not an object")


def _record(obj: dict, line: int, default_service: str | None) -> Alert:
    """A PagerDuty body or a generic object."""
    try:
        if "event_action" in obj or ("routing_key" in obj and "payload" in obj):
            return _pagerduty(obj, line)
        return _generic(obj, line, default_service)
    except _Bad as e:
        return _bad(line, str(e))


_ACTIONS = {
    "trigger": "trigger",
    "triggered": "trigger",
    "ack": "acknowledge",
    "acknowledge": "acknowledge",
    "acknowledged": "acknowledge",
    "resolve": "resolve",
    "resolved": "resolve",
}


def _generic(obj: dict, line: int, default_service: str | None) -> Alert:
    """`{"service", "title" (or "summary"), "severity", "dedup_key", "details", "action"}`."""
    warnings: list[str] = []
    action = obj.get("action")
    if action is None:
        action = "trigger"
    else:
        if not isinstance(action, str):
            raise _Bad(f"action is {_kind(action)}, not a string")
        known = _ACTIONS.get(action.strip().lower())
        if known is None:
            raise _Bad(f"unknown action {_show(action)} (expected trigger, acknowledge or resolve)")
        action = known
    service = _name(obj.get("service"), "service") or default_service
    field_name = "title"
    raw_title = obj.get("title")
    if (raw_title is None or raw_title == "") and obj.get("summary") is not None:
        field_name, raw_title = "summary", obj["summary"]
    title = _title(raw_title, field_name, warnings)
    dedup_key = _key(obj.get("dedup_key"), "dedup_key")
    details = _object(obj.get("details"), "details")
    severity = _severity(obj.get("severity"), warnings)
    if title is None:
        if action == "trigger":
            raise _Bad("missing title (a trigger needs a title or summary)")
        if dedup_key is None:
            raise _Bad(f"{action} needs a dedup_key or a title")
    return Alert(0, line, action, service, None, title, severity, dedup_key, details, warnings)


_PD_ACTIONS = ("trigger", "acknowledge", "resolve")
_PD_PAYLOAD_DETAILS = ("source", "component", "group", "class", "custom_details", "timestamp")
_PD_BODY_DETAILS = ("client", "client_url", "links", "images")


def _pagerduty(obj: dict, line: int) -> Alert:
    """A PagerDuty Events API v2 body."""
    warnings: list[str] = []
    action = obj.get("event_action")
    if action is None:
        action = "trigger"
    elif not isinstance(action, str):
        raise _Bad(f"event_action is {_kind(action)}, not a string")
    elif action.strip().lower() not in _PD_ACTIONS:
        raise _Bad(f"unknown event_action {_show(action)} (expected trigger, acknowledge or resolve)")
    else:
        action = action.strip().lower()
    routing_key = _name(obj.get("routing_key"), "routing_key")
    dedup_key = _key(obj.get("dedup_key"), "dedup_key")
    payload = _object(obj.get("payload"), "payload")
    if action != "trigger":
        if dedup_key is None:
            raise _Bad(f"event_action {action} needs a dedup_key")
        return Alert(0, line, action, None, routing_key, None, DEFAULT_SEVERITY, dedup_key, {}, warnings)
    title = _title(payload.get("summary"), "payload.summary", warnings)
    if title is None:
        raise _Bad("missing title (a trigger needs payload.summary)")
    severity = _severity(payload.get("severity"), warnings)
    details = {k: payload[k] for k in _PD_PAYLOAD_DETAILS if payload.get(k) is not None}
    details.update((k, obj[k]) for k in _PD_BODY_DETAILS if obj.get(k) is not None)
    generated = dedup_key is None
    if generated:
        dedup_key = uuid.uuid4().hex
    return Alert(0, line, "trigger", None, routing_key, title, severity, dedup_key, details, warnings,
                 generated_key=generated)


def _is_alertmanager(obj: dict) -> bool:
    version = obj.get("version")
    return (version == "4" or (type(version) is int and version == 4)) and isinstance(obj.get("alerts"), list)


_AM_STATUS = {"firing": "trigger", "resolved": "resolve"}


def _alertmanager(body: dict, line: int, default_service: str | None) -> Iterator[Alert]:
    """A Prometheus Alertmanager webhook body: one record per alert."""
    for index, alert in enumerate(body["alerts"], 1):
        try:
            yield _alertmanager_alert(alert, body, line, default_service)
        except _Bad as e:
            yield _bad(line, f"Alertmanager alert {index}: {e}")


def _alertmanager_alert(alert: Any, body: dict, line: int, default_service: str | None) -> Alert:
    if not isinstance(alert, dict):
        raise _Bad(f"is {_kind(alert)}, not an object")
    warnings: list[str] = []
    status = alert.get("status")
    if status is None:
        status = body.get("status")
    if status is None:
        raise _Bad("missing status")
    if not isinstance(status, str):
        raise _Bad(f"status is {_kind(status)}, not a string")
    action = _AM_STATUS.get(status.strip().lower())
    if action is None:
        raise _Bad(f"unknown status {_show(status)} (expected firing or resolved)")
    labels = _object(alert.get("labels"), "labels")
    for name, value in labels.items():
        if not isinstance(value, str):
            raise _Bad(f"labels.{name} is {_kind(value)}, not a string")
    annotations = _object(alert.get("annotations"), "annotations")
    fingerprint = alert.get("fingerprint")
    if fingerprint is None or fingerprint == "":
        fingerprint = alertmanager_fingerprint(labels)
    elif not isinstance(fingerprint, str):
        raise _Bad(f"fingerprint is {_kind(fingerprint)}, not a string")
    dedup_key = _key("am:" + fingerprint, "fingerprint")
    title = _title(annotations.get("summary"), "annotations.summary", warnings)
    if title is None:
        title = _title(labels.get("alertname"), "labels.alertname", warnings)
    if title is None and action == "trigger":
        raise _Bad("missing title (no annotations.summary or labels.alertname)")
    service = _name(labels.get("service"), "labels.service") or default_service
    severity = _severity(labels.get("severity"), warnings)
    details: dict[str, Any] = {"labels": labels, "annotations": annotations}
    for name in ("startsAt", "endsAt", "generatorURL"):
        if alert.get(name) is not None:
            details[name] = alert[name]
    if body.get("externalURL") is not None:
        details["externalURL"] = body["externalURL"]
    return Alert(0, line, action, service, None, title, severity, dedup_key, details, warnings)


# --------------------------------------------------------------------------
# Fields.


def _bad(line: int, reason: str) -> Alert:
    return Alert(0, line, "trigger", None, None, None, DEFAULT_SEVERITY, None, {}, [], error=reason)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: Any) -> str:
    """A short, quoted form of a value for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _clip(title: str, warnings: list[str]) -> str:
    if len(title) > MAX_TITLE_CHARS:
        warnings.append(f"title cut to {MAX_TITLE_CHARS} characters")
        title = title[:MAX_TITLE_CHARS].rstrip()
    return title


def _title(value: Any, field_name: str, warnings: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{field_name} is {_kind(value)}, not a string")
    return _clip(value.strip(), warnings) or None


def _name(value: Any, field_name: str) -> str | None:
    """A service name or routing key: a string, stripped; empty is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{field_name} is {_kind(value)}, not a string")
    value = value.strip()
    if len(value) > MAX_KEY_CHARS:
        raise _Bad(f"{field_name} is longer than {MAX_KEY_CHARS} characters")
    return value or None


def _key(value: Any, field_name: str) -> str | None:
    """A dedup key: a string kept as it is; empty is none."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _Bad(f"{field_name} is {_kind(value)}, not a string")
    if len(value) > MAX_KEY_CHARS:
        raise _Bad(f"{field_name} is longer than {MAX_KEY_CHARS} characters")
    return value


def _object(value: Any, field_name: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(f"{field_name} is {_kind(value)}, not an object")
    return value


def _severity(value: Any, warnings: list[str]) -> str:
    """A severity; an unknown one is `error` with a warning, never a bad record."""
    if value is None or value == "":
        return DEFAULT_SEVERITY
    severity = normalize_severity(value)
    if severity is None:
        warnings.append(f"unknown severity {_show(value)}, using {DEFAULT_SEVERITY}")
        return DEFAULT_SEVERITY
    return severity
