"""Property-based fuzzing (hypothesis): generated alert streams through
`alerts.stream.read_alerts` and through `pager trigger -` in the CLI runner,
generated strings through `times.parse_time` and `parse_duration`. The only
exception allowed out is our UsageError; everything else is a valid result."""

from __future__ import annotations

import io
import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pager_cli.alerts.record import MAX_KEY_CHARS, MAX_TITLE_CHARS
from pager_cli.alerts.stream import read_alerts
from pager_cli.errors import UsageError
from pager_cli.times import parse_duration, parse_time
from reliability_kit import T0, make_template

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

FUZZ = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
SEVERITIES = {"critical", "error", "warning", "info"}
ACTIONS = {"trigger", "acknowledge", "resolve"}

# -- generated alert streams ----------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
field_values = (json_values | st.sampled_from(["trigger", "ack", "resolve", "resolved", "critical", "P1", "high",
                                               "hostile", "nope", "", " ", "\x00", "\x1b[2J", "[bold]x[/]"]))
generic = st.fixed_dictionaries({}, optional={
    "service": field_values, "title": field_values, "summary": field_values, "severity": field_values,
    "dedup_key": field_values, "details": field_values, "action": field_values,
})
pagerduty = st.fixed_dictionaries({"routing_key": field_values, "event_action": field_values}, optional={
    "dedup_key": field_values,
    "payload": st.fixed_dictionaries({}, optional={"summary": field_values, "severity": field_values,
                                                   "source": field_values, "timestamp": field_values,
                                                   "custom_details": field_values}),
})
alertmanager = st.fixed_dictionaries({"version": st.sampled_from(["4", 4, "3"]), "alerts": st.lists(
    st.fixed_dictionaries({}, optional={
        "status": st.sampled_from(["firing", "resolved", "other"]) | field_values,
        "labels": st.dictionaries(st.sampled_from(["alertname", "service", "severity", "x"]), field_values, max_size=4),
        "annotations": st.dictionaries(st.sampled_from(["summary", "description"]), field_values, max_size=2),
        "fingerprint": field_values, "startsAt": field_values,
    }), max_size=3)}, optional={"status": field_values})
records = generic | pagerduty | alertmanager | json_values


@st.composite
def streams(draw) -> bytes:
    """A stream of documents written in every way a sender might (and a few it
    should not): NDJSON, pretty-printed, arrays, text lines, cut-off documents,
    junk bytes, blank lines, CRLF."""
    parts = []
    for item in draw(st.lists(records, max_size=8)):
        style = draw(st.sampled_from(["line", "pretty", "array", "cut", "text", "junk", "blank"]))
        if style == "line":
            parts.append(json.dumps(item).encode() + b"\n")
        elif style == "pretty":
            parts.append(json.dumps(item, indent=draw(st.integers(0, 3))).encode() + b"\n")
        elif style == "array":
            parts.append(json.dumps([item, item]).encode() + b"\n")
        elif style == "cut":
            text = json.dumps(item, indent=2).encode()
            parts.append(text[: draw(st.integers(0, len(text)))] + b"\n")
        elif style == "text":
            parts.append(draw(st.text(max_size=40)).encode("utf-8", "surrogatepass") + b"\n")
        elif style == "junk":
            parts.append(draw(st.binary(max_size=40)))
        else:
            parts.append(draw(st.sampled_from([b"\n", b"\r\n", b"   \n", b"\t\n"])))
    if draw(st.booleans()):
        parts.insert(0, b"\xef\xbb\xbf")
    return b"".join(parts)


def check_alerts(stream: bytes, input_format: str, default_service: str | None) -> list:
    alerts = list(read_alerts(io.BytesIO(stream), input_format, default_service))
    assert [a.record for a in alerts] == list(range(1, len(alerts) + 1))
    for a in alerts:
        assert a.line >= 1
        if a.error is not None:
            assert isinstance(a.error, str) and a.error
            continue
        assert a.action in ACTIONS and a.severity in SEVERITIES
        assert a.title is None or (isinstance(a.title, str) and 0 < len(a.title) <= MAX_TITLE_CHARS)
        assert a.dedup_key is None or (isinstance(a.dedup_key, str) and len(a.dedup_key) <= MAX_KEY_CHARS)
        assert a.service is None or isinstance(a.service, str)
        assert isinstance(a.details, dict)
        json.dumps(a.details, allow_nan=False)  # details always serialize back to standard JSON
        if a.action == "trigger":
            assert a.title
    return alerts


@FUZZ
@given(stream=streams(), input_format=st.sampled_from(["auto", "json", "text"]),
       default_service=st.sampled_from([None, "hostile"]))
def test_read_alerts_never_raises_on_generated_streams(stream, input_format, default_service):
    check_alerts(stream, input_format, default_service)


@FUZZ
@given(stream=st.binary(max_size=3000))
@example(stream=b"{" * 100 + b"\n" + b"[" * 100)
@example(stream=b'{"title": "a"}\n\x00\x00\n{"title"\n:\n"b"}\n')
def test_read_alerts_never_raises_on_arbitrary_bytes(stream):
    check_alerts(stream, "auto", "hostile")


def test_an_unknown_input_format_is_our_usage_error():
    with pytest.raises(UsageError):
        list(read_alerts(io.BytesIO(b"x\n"), "yaml"))


# -- the same streams through the CLI -------------------------------------------------

@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return make_template(tmp_path_factory.mktemp("fuzz-template"))


@FUZZ
@given(stream=streams(), batch=st.sampled_from(["1", "3", "500"]))
def test_trigger_stdin_never_raises_on_generated_streams(cli, db_path, template, stream, batch):
    if not db_path.exists():
        shutil.copyfile(template, db_path)
    r = cli("--now", T0, "trigger", "-", "--json", "--service", "hostile", "--batch-size", batch, input=stream)
    assert r.code in (0, 1), r
    docs = [json.loads(line) for line in r.out.splitlines()]
    assert [d["record"] for d in docs] == list(range(1, len(docs) + 1))
    failed = [d for d in docs if d["action"] == "error"]
    assert r.code == (1 if failed else 0), r
    for d in docs:
        assert d["action"] in ("created", "deduplicated", "acknowledged", "resolved", "ignored", "error")
        assert (d["error"] is None) == (d["action"] != "error"), d
        if d["action"] in ("created", "deduplicated", "acknowledged", "resolved"):
            assert isinstance(d["incident"], int)
    assert "Traceback" not in r.err


# -- times and durations -------------------------------------------------------------

@st.composite
def time_texts(draw) -> str:
    """Strings near the TIME grammar: ISO dates with odd fields, offsets,
    fractions, relative forms with big numbers, and plain noise."""
    kind = draw(st.sampled_from(["iso", "relative", "noise", "word"]))
    if kind == "iso":
        year = draw(st.integers(0, 10000) | st.sampled_from([1, 9999, 99999]))
        month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
        text = f"{year:04d}-{month:02d}-{day:02d}"
        if draw(st.booleans()):
            text += draw(st.sampled_from(["T", " ", "t"])) + f"{draw(st.integers(0, 25)):02d}:{draw(st.integers(0, 61)):02d}"
            if draw(st.booleans()):
                text += f":{draw(st.integers(0, 61)):02d}" + draw(st.sampled_from(["", ".5", ",123456", ".1234567890123"]))
            text += draw(st.sampled_from(["", "Z", "z", "+00:00", "-05:00", "+14:00", "-12:00", "+2359", "+24:00",
                                          "-99:99", "+05"]))
        return text
    if kind == "relative":
        sign = draw(st.sampled_from(["", "+", "-", " - "]))
        parts = draw(st.lists(st.tuples(st.integers(0, 10 ** 25), st.sampled_from("smhdwSMHDWx")), min_size=1,
                              max_size=3))
        return sign + "".join(f"{n}{u}" for n, u in parts)
    if kind == "word":
        return draw(st.sampled_from(["now", "NOW", " now ", "today", "yesterday", "", " ", "\x00", "-", "+", "1e9",
                                     "inf", "nan", "٣d", "１h"]))
    return draw(st.text(max_size=40))


any_now = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc))
zones = st.sampled_from([None, "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Pacific/Kiritimati"])


def _zone(name):
    from pager_cli.times import zone

    return zone(name) if name else None


@settings(deadline=None, max_examples=200)
@given(text=time_texts() | st.text(max_size=30), now=any_now, tz=zones)
def test_parse_time_gives_a_utc_instant_or_our_usage_error(text, now, tz):
    try:
        value = parse_time(text, now, _zone(tz))
    except UsageError:
        return
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0)


@settings(deadline=None, max_examples=150)
@given(value=st.text(max_size=30) | st.from_regex(r"\A\s*(\d{1,25}\s*[smhdwSMHDW]\s*){1,4}\Z")
       | st.integers(min_value=-(10 ** 9), max_value=10 ** 9) | st.floats(max_value=1e9, allow_nan=False)
       | st.booleans())
def test_parse_duration_gives_a_duration_or_our_usage_error(value):
    try:
        result = parse_duration(value)
    except UsageError:
        return
    assert isinstance(result, timedelta) and result >= timedelta(0)


@pytest.mark.parametrize("value", ["²", " ³ ", "①"])
def test_digit_symbols_are_usage_errors(value):
    with pytest.raises(UsageError):
        parse_duration(value)


@pytest.mark.parametrize("value", [float("inf"), float("nan"), 10 ** 25, 1e300, -1])
def test_durations_out_of_range_are_usage_errors(value):
    with pytest.raises(UsageError):
        parse_duration(value)


@pytest.mark.parametrize("text, now, tz", [
    ("+2d", datetime(9999, 12, 31, 23, tzinfo=timezone.utc), None),
    ("-3650d", datetime(1, 1, 1, tzinfo=timezone.utc), None),
    ("0001-01-01", datetime(2026, 11, 23, tzinfo=timezone.utc), "Europe/Berlin"),
    ("9999-12-31T23:59", datetime(2026, 11, 23, tzinfo=timezone.utc), "America/New_York"),
])
def test_times_beyond_the_ends_of_the_calendar_are_usage_errors(text, now, tz):
    with pytest.raises(UsageError):
        parse_time(text, now, _zone(tz))
