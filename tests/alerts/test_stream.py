"""Alert streams: stream shapes, broken JSON, sizes, encoding, bounds, properties."""

from __future__ import annotations

import io
import json
import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from alert_streams import check_alerts, streams
from alerts_kit import fixture, ndjson, read, summary
from pager_cli.alerts.record import MAX_DEPTH, MAX_RECORD_BYTES
from pager_cli.alerts.stream import read_alerts
from pager_cli.errors import UsageError


class LazyStream(io.RawIOBase):
    """A stream whose bytes are made as they are read, so a test can feed
    more data than it could hold."""

    def __init__(self, parts):
        self._parts = iter(parts)
        self._buffer = b""

    def readable(self):
        return True

    def readinto(self, target):
        while not self._buffer:
            try:
                self._buffer = next(self._parts)
            except StopIteration:
                return 0
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


def peak_memory(parts, **kwargs) -> tuple[list, int]:
    """Read a lazy stream, keeping only (record, error, title); returns them and
    the peak of memory allocated meanwhile."""
    tracemalloc.start()
    try:
        seen = [(a.record, a.error, a.title) for a in read_alerts(io.BufferedReader(LazyStream(parts)), **kwargs)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return seen, peak


# --------------------------------------------------------------------------
# Stream shapes.


def test_ndjson_records_are_numbered_in_order():
    alerts = read(ndjson(*({"title": f"t{i}"} for i in range(5))), service="s")
    assert summary(alerts) == [(i + 1, i + 1, f"t{i}") for i in range(5)]


def test_pretty_printed_documents():
    data = json.dumps({"service": "a", "title": "one", "details": {"x": [1, {"y": "}]"}]}}, indent=2) + "\n"
    data += json.dumps([{"title": "two"}, [{"title": "three"}]], indent=4) + "\n"
    data += '{"title": "four"}\n'
    alerts = read(data, service="s")
    second_start = 1 + data.split("\n").index("[")
    last = len(data.splitlines())
    assert summary(alerts) == [(1, 1, "one"), (2, second_start, "two"), (3, second_start, "three"), (4, last, "four")]
    assert alerts[0].details == {"x": [1, {"y": "}]"}]}


def test_hand_written_multi_line_documents():
    data = '{"title": "a",\n "service": "s"}\n[{"title": "b"},\n{"title": "c"}\n]\n{"title":\n"d"}\n'
    assert summary(read(data, service="x")) == [(1, 1, "a"), (2, 3, "b"), (3, 3, "c"), (4, 6, "d")]


def test_indented_document_in_json_format():
    data = '    {\n      "title": "a"\n    }\n  [{"title": "b"}]\n'
    assert summary(read(data, "json", "s")) == [(1, 1, "a"), (2, 4, "b")]


def test_arrays_one_record_per_element():
    data = '[{"title": "a"}, {"title": "b"}]\n[]\n[[{"title": "c"}], [[{"title": "d"}]]]\n'
    assert summary(read(data, service="s")) == [(1, 1, "a"), (2, 1, "b"), (3, 3, "c"), (4, 3, "d")]


def test_array_of_alertmanager_and_pagerduty_bodies():
    bodies = [json.loads(fixture("alertmanager-firing.json")), json.loads(fixture("pagerduty-v2-resolve.json"))]
    data = json.dumps(bodies)
    alerts = read(data)
    assert [(a.record, a.action, a.dedup_key) for a in alerts] == [
        (1, "trigger", "am:791cec13fcba0368"),
        (2, "trigger", "am:8df98227bdd81384"),
        (3, "resolve", "dedupkeyhere"),
    ]


def test_text_lines_with_default_service():
    alerts = read("disk full on db1\n\n   \n  nginx down  \n", service="ops")
    assert [(a.record, a.line, a.title, a.service, a.action, a.severity) for a in alerts] == [
        (1, 1, "disk full on db1", "ops", "trigger", "error"),
        (2, 4, "nginx down", "ops", "trigger", "error"),
    ]


def test_text_lines_without_service_are_bad_records():
    alerts = read("disk full\n" + ndjson({"service": "a", "title": "json is fine"}) + "nginx down\n")
    assert [(a.record, a.error) for a in alerts] == [
        (1, "plain text needs --service"),
        (2, None),
        (3, "plain text needs --service"),
    ]


def test_text_format_takes_every_line_as_a_title():
    data = '{"title": "x"}\n[1, 2\n\nplain\n'
    alerts = read(data, "text", "ops")
    assert summary(alerts) == [(1, 1, '{"title": "x"}'), (2, 2, "[1, 2"), (3, 4, "plain")]


def test_json_format_rejects_text_lines():
    data = 'plain words\n{"title": "x"}\n"a string"\n42\n'
    alerts = read(data, "json", "ops")
    assert [(a.record, a.line, a.error) for a in alerts] == [
        (1, 1, "not JSON (a record must be a JSON object or array)"),
        (2, 2, None),
        (3, 3, "record is a string, not an object"),
        (4, 4, "record is a number, not an object"),
    ]


def test_unknown_input_format():
    with pytest.raises(UsageError):
        read_alerts(io.BytesIO(b""), "yaml")


def test_empty_and_blank_streams():
    assert read(b"") == []
    assert read(b"\n\n  \r\n\t\n", service="s") == []


def test_crlf_line_endings():
    data = b'{"title": "a"}\r\n{\r\n  "title": "b"\r\n}\r\nplain\r\n'
    assert summary(read(data, service="s")) == [(1, 1, "a"), (2, 2, "b"), (3, 5, "plain")]


def test_no_newline_at_the_end():
    assert summary(read(b'{"title": "a"}\n{"title": "b"}', service="s")) == [(1, 1, "a"), (2, 2, "b")]


def test_reads_text_and_raw_streams():
    data = ndjson({"title": "a"}).encode()
    text_stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    assert [a.title for a in read_alerts(text_stream)] == ["a"]
    raw_stream = LazyStream([data])
    assert [a.title for a in read_alerts(raw_stream)] == ["a"]


# --------------------------------------------------------------------------
# Broken JSON: the good records around a bad one still come out.


def test_truncated_ndjson_line_does_not_swallow_the_next():
    data = '{"title": "a"}\n{"title": "b", "service": "x"\n{"title": "c"}\n{"title": "d"}\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "a"), (2, 2, "ERROR"), (3, 3, "c"), (4, 4, "d")]
    assert alerts[1].error == "invalid JSON at line 3 column 1: Expecting ',' delimiter"


def test_truncated_line_inside_a_string():
    data = '{"title": "a"}\n{"title": "b\n{"title": "c"}\nplain text\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "a"), (2, 2, "ERROR"), (3, 3, "c"), (4, 4, "plain text")]
    assert alerts[1].error == "invalid JSON at line 2: a string runs past the end of the line"


def test_balanced_but_invalid_line():
    data = (
        '{"title": "a" "service": "x"}\n'
        '{"title": "b"}\n'
        '{"title": "c"} {"title": "d"}\n'
        '{"title": "e",}\n'
        '{"title": "f"}\n'
    )
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 2, "b"), (3, 3, "ERROR"), (4, 4, "ERROR"), (5, 5, "f")]
    assert alerts[0].error == "invalid JSON at line 1 column 15: Expecting ',' delimiter"
    assert "Extra data" in alerts[2].error
    assert "line 4" in alerts[3].error


def test_broken_pretty_printed_document_is_skipped_to_the_next_one():
    broken = '{\n  "title": "a"\n  "service": "x",\n  "details": {\n    "k": [1, 2]\n  }\n}\n'
    data = broken + json.dumps({"title": "b"}, indent=2) + "\nplain\n"
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 8, "b"), (3, 11, "plain")]
    assert alerts[0].error == "invalid JSON at line 3 column 3: Expecting ',' delimiter"


def test_unterminated_string_in_pretty_document():
    data = '{\n  "title": "a,\n  "service": "x"\n}\n{"title": "b"}\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 5, "b")]
    assert alerts[0].error == "invalid JSON at line 2: a string runs past the end of the line"


def test_mismatched_bracket():
    data = '{\n  "a": [1, 2}\n  ,"title": "x"\n}\n{"title": "b"}\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 5, "b")]
    assert "invalid JSON at line 2" in alerts[0].error


def test_blank_line_ends_skipping():
    data = '{\n  "title": "a\n  indented title\n\n  indented again\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 5, "indented again")]


def test_unterminated_document_at_the_end():
    data = '{"title": "a"}\n{\n  "title": "b",\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "a"), (2, 2, "ERROR")]
    assert alerts[1].error.startswith("invalid JSON: document not finished when the input ended (line 3)")


def test_mixed_stream_with_broken_json():
    lines = [
        '{"service": "a", "title": "one"}',  # 1
        "plain two",  # 2
        '{"service": "a", "title": "three"',  # 3: truncated
        '[{"title": "four"}, {"title": "five"}]',  # 4
        '{"title": 6}',  # 5: wrong type
        "{",  # 6: pretty document
        '  "title": "seven"',  # 7
        "}",  # 8
        '{"action": "snooze", "title": "x"}',  # 9
        '{"service": "a"}',  # 10: no title
        "plain eleven",  # 11
    ]
    alerts = read("\n".join(lines) + "\n", service="s")
    assert summary(alerts) == [
        (1, 1, "one"),
        (2, 2, "plain two"),
        (3, 3, "ERROR"),
        (4, 4, "four"),
        (5, 4, "five"),
        (6, 5, "ERROR"),
        (7, 6, "seven"),
        (8, 9, "ERROR"),
        (9, 10, "ERROR"),
        (10, 11, "plain eleven"),
    ]


# --------------------------------------------------------------------------
# Sizes.


def test_one_megabyte_record_lands():
    big = {"title": "big", "details": {"blob": "x" * (1024 * 1024)}}
    alerts = read(ndjson({"title": "before"}, big, {"title": "after"}), service="s")
    assert summary(alerts) == [(1, 1, "before"), (2, 2, "big"), (3, 3, "after")]
    assert len(alerts[1].details["blob"]) == 1024 * 1024


def test_one_megabyte_pretty_printed_record_lands():
    big = {"title": "big", "details": {f"k{i}": "v" * 100 for i in range(10_000)}}
    alerts = read(json.dumps(big, indent=2) + "\n" + ndjson({"title": "after"}), service="s")
    assert [a.title for a in alerts] == ["big", "after"]
    assert len(alerts[0].details) == 10_000


def test_record_of_exactly_the_limit_lands():
    prefix, suffix = '{"title": "t", "pad": "', '"}'
    line = prefix + "x" * (MAX_RECORD_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(line) == MAX_RECORD_BYTES
    alerts = read(line + "\n" + line + "\n", service="s")
    assert [(a.record, a.error) for a in alerts] == [(1, None), (2, None)]
    alerts = read(line + "x\n" + '{"title": "after"}\n')
    assert [(a.record, a.title) for a in alerts] == [(1, None), (2, "after")]
    assert alerts[0].error == "record larger than 4 MiB"


def test_ten_megabyte_line_is_an_error_and_not_held():
    def parts():
        yield b'{"title": "a"}\n{"title": "'
        chunk = b"x" * 65536
        for _ in range(10 * 1024 * 1024 // len(chunk)):
            yield chunk
        yield b'"}\n{"title": "b"}\n'

    seen, peak = peak_memory(parts())
    assert seen == [(1, None, "a"), (2, "record larger than 4 MiB", None), (3, None, "b")]
    assert peak < 10 * 1024 * 1024


def test_huge_line_memory_stays_bounded():
    def parts(megabytes):
        chunk = b"y" * 65536
        for _ in range(megabytes * 16):
            yield chunk
        yield b"\nplain after\n"

    seen, peak = peak_memory(parts(64), input_format="text", default_service="s")
    assert seen == [(1, "record larger than 4 MiB", None), (2, None, "plain after")]
    assert peak < 3 * MAX_RECORD_BYTES  # the line was 64 MiB


def test_oversize_pretty_printed_document_resyncs_at_the_next():
    lines = ["{", '  "title": "big",', '  "details": {']
    lines += [f'    "k{i}": "{"v" * 1000}",' for i in range(5000)]
    lines += ['    "end": 1', "  }", "}", '{"title": "after"}']
    alerts = read("\n".join(lines) + "\n", service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, len(lines), "after")]
    assert alerts[0].error == "record larger than 4 MiB"


@pytest.mark.slow
def test_many_records_keep_memory_flat():
    record = b'{"service": "payments", "title": "DB connection failed", "severity": "critical"}\n'

    def parts(n):
        for _ in range(n // 1000):
            yield record * 1000

    count = 0
    tracemalloc.start()
    try:
        for count, alert in enumerate(read_alerts(io.BufferedReader(LazyStream(parts(30_000)))), 1):
            assert alert.error is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 30_000  # 2.4 MB of input
    assert peak < 1024 * 1024


# --------------------------------------------------------------------------
# Encoding.


def test_byte_order_mark_is_dropped():
    alerts = read(b"\xef\xbb\xbf" + ndjson({"title": "a"}).encode())
    assert [(a.record, a.title, a.error) for a in alerts] == [(1, "a", None)]
    [text] = read(b"\xef\xbb\xbfplain\n", service="s")
    assert text.title == "plain"
    [pretty] = read(b"\xef\xbb\xbf" + fixture("pagerduty-v2-resolve.json"))
    assert pretty.error is None


def test_invalid_utf8_makes_that_record_bad():
    data = b'{"title": "a"}\n{"title": "b\xff"}\n{\n  "title": "c\xc3"\n}\nplain \xfe\n{"title": "d"}\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "a"), (2, 2, "ERROR"), (3, 3, "ERROR"), (4, 6, "ERROR"), (5, 7, "d")]
    assert alerts[1].error == "invalid UTF-8 at line 2"
    assert alerts[2].error == "invalid UTF-8 at line 4"
    assert alerts[3].error == "invalid UTF-8 at byte 7 of the line"
    [text] = read(b"bad \xff text\n", "text", "s")
    assert text.error == "invalid UTF-8 at byte 5 of the line"


def test_nul_bytes():
    alerts = read(b'{"title": "a\x00b"}\n{"title": "c\\u0000d"}\nplain\x00text\n', service="s")
    assert alerts[0].error is not None and "Invalid control character" in alerts[0].error
    assert alerts[1].title == "c\x00d"
    assert alerts[2].title == "plain\x00text"


def test_lone_surrogates_are_bad_records_and_pairs_are_fine():
    data = '{"title": "\\ud800"}\n{"title": "x", "details": {"\\udc00": 1}}\n{"title": "\\ud83d\\udea8"}\n'
    alerts = read(data)
    assert alerts[0].error and "lone surrogate" in alerts[0].error
    assert alerts[1].error and "lone surrogate" in alerts[1].error
    assert alerts[2].title == "\U0001f6a8"


# --------------------------------------------------------------------------
# Bounds on JSON values.


def nested(depth: int) -> str:
    """A record whose objects nest `depth` levels deep."""
    return '{"title": "deep", "details": ' + '{"a": ' * (depth - 2) + "{}" + "}" * (depth - 2) + "}"


def test_nesting_up_to_the_limit_is_fine():
    [alert] = read(nested(MAX_DEPTH) + "\n")
    assert alert.error is None


def test_nesting_too_deep():
    alerts = read(nested(MAX_DEPTH + 1) + "\n" + ndjson({"title": "after"}), service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 2, "after")]
    assert alerts[0].error == f"JSON nested deeper than {MAX_DEPTH} levels"


def test_very_deep_nesting_does_not_blow_the_stack():
    data = "[" * 200_000 + "]" * 200_000 + "\n" + "{" + '"a":{' * 5000 + "}" * 5001 + "\n" + '[{"title": "after"}]\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 2, "ERROR"), (3, 3, "after")]
    assert all("nested deeper" in a.error for a in alerts[:2])


def test_deep_nesting_over_many_lines():
    data = "[\n" * 5000 + "]\n" * 5000 + '{"title": "after"}\n'
    alerts = read(data, service="s")
    assert summary(alerts) == [(1, 1, "ERROR"), (2, 10001, "after")]


@pytest.mark.parametrize(
    "text, reason",
    [
        ('{"title": "x", "details": {"n": NaN}}', "NaN is not a JSON number"),
        ('{"title": "x", "details": {"n": -Infinity}}', "-Infinity is not a JSON number"),
        ('{"title": "x", "details": {"n": 1e400}}', "out of range"),
        ('{"title": "x", "details": {"n": ' + "9" * 5000 + "}}", "more than 4300 digits"),
    ],
)
def test_numbers_that_do_not_serialize_back(text, reason):
    [alert] = read(text + "\n")
    assert alert.error is not None and reason in alert.error


def test_big_numbers_that_do_serialize_back():
    [alert] = read('{"title": "x", "details": {"big": ' + "9" * 4000 + ', "f": 1.5e300, "neg": -0.0}}\n')
    assert alert.error is None
    assert alert.details["big"] == int("9" * 4000)
    assert json.loads(json.dumps(alert.details, allow_nan=False)) == alert.details


# --------------------------------------------------------------------------
# Properties.


@settings(max_examples=400, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=2000),
    input_format=st.sampled_from(["auto", "json", "text"]),
    service=st.sampled_from([None, "s"]),
)
def test_arbitrary_bytes_never_raise(data, input_format, service):
    check_alerts(list(read_alerts(io.BytesIO(data), input_format, service)))


FRAGMENTS = st.sampled_from(
    [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b"\\",
        b",",
        b":",
        b"\n",
        b"\r\n",
        b" ",
        b"  ",
        b'"title"',
        b'"x"',
        b"1",
        b"null",
        b'{"title": "t"}',
        b'{"title": "t", "service": "s"',
        b'"version": "4", "alerts": [',
        b'"event_action": "trigger"',
        b'"payload": {"summary": "p"}',
        b'"status": "firing", "labels": {"alertname": "A"}',
        b"\xff",
        b"\x00",
        b"\xef\xbb\xbf",
        b"plain",
    ]
)


@settings(max_examples=400, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(FRAGMENTS, max_size=60), service=st.sampled_from([None, "s"]))
def test_json_like_garbage_never_raises(parts, service):
    check_alerts(list(read_alerts(io.BytesIO(b"".join(parts)), "auto", service)))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, database=None, deadline=None)
@given(value=JSON_VALUES, indent=st.sampled_from([None, 0, 2]), service=st.sampled_from([None, "s"]))
def test_any_json_document_never_raises(value, indent, service):
    data = json.dumps(value, indent=indent) + "\n" + json.dumps({"title": "last"}) + "\n"
    alerts = list(read_alerts(io.BytesIO(data.encode()), "auto", service))
    check_alerts(alerts)
    if isinstance(value, (dict, list)):
        assert alerts[-1].title == "last" and alerts[-1].error is None


@settings(max_examples=150, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(), input_format=st.sampled_from(["auto", "json", "text"]),
       service=st.sampled_from([None, "hostile"]))
@example(stream=b"{" * 100 + b"\n" + b"[" * 100, input_format="auto", service="hostile")
@example(stream=b'{"title": "a"}\n\x00\x00\n{"title"\n:\n"b"}\n', input_format="auto", service="hostile")
def test_generated_streams_never_raise(stream, input_format, service):
    """Documents as senders write them (tests/alert_streams.py): NDJSON, pretty,
    arrays, cut off, text, junk bytes, blank lines, a BOM."""
    check_alerts(list(read_alerts(io.BytesIO(stream), input_format, service)))


@settings(max_examples=100, database=None, deadline=None)
@given(titles=st.lists(st.text(min_size=1, max_size=50).filter(lambda t: t.strip()), min_size=1, max_size=20))
def test_ndjson_titles_round_trip(titles):
    data = "".join(json.dumps({"title": t}) + "\n" for t in titles)
    alerts = list(read_alerts(io.BytesIO(data.encode()), "json"))
    assert [a.title for a in alerts] == [t.strip() for t in titles]
    assert [a.record for a in alerts] == list(range(1, len(titles) + 1))
