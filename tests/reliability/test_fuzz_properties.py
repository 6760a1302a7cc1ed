"""Property-based fuzzing (hypothesis): generated alert streams
(tests/alert_streams.py) through `pager trigger -` in the CLI runner,
generated strings through `times.parse_time` and `parse_duration`. The only
exception allowed out is our UsageError; everything else is a valid result."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alert_streams import streams
from pager_cli.errors import UsageError
from pager_cli.times import parse_duration, parse_time
from reliability_kit import T0, make_template

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)

FUZZ = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


# -- generated streams through the CLI (the reader's own properties: tests/alerts/test_stream.py)


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
