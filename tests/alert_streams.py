"""Generated alert streams (hypothesis), written in every way a sender might
and a few it should not, and what every alert read from any stream must be:
used by the properties of tests/alerts/test_stream.py (the reader) and
tests/reliability/test_fuzz_properties.py (the same streams through
`pager trigger -`)."""

from __future__ import annotations

import json

from hypothesis import strategies as st

from pager_cli.alerts.record import MAX_KEY_CHARS, MAX_TITLE_CHARS, Alert

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


def check_alerts(alerts: list[Alert]) -> list[Alert]:
    """Numbered 1, 2, … in order, lines ascending; a good alert well formed (its
    title stripped and bounded, a trigger's title present, details that
    serialize back to standard JSON), a bad one with its error."""
    assert [a.record for a in alerts] == list(range(1, len(alerts) + 1))
    lines = [a.line for a in alerts]
    assert lines == sorted(lines) and all(line >= 1 for line in lines)
    for a in alerts:
        assert isinstance(a, Alert)
        if a.error is not None:
            assert isinstance(a.error, str) and a.error
            continue
        assert a.action in ("trigger", "acknowledge", "resolve")
        assert a.severity in ("critical", "error", "warning", "info")
        assert a.title is not None or a.dedup_key is not None
        assert a.title is None or (0 < len(a.title) <= MAX_TITLE_CHARS and a.title == a.title.strip())
        assert a.title or a.action != "trigger"
        assert a.dedup_key is None or (isinstance(a.dedup_key, str) and len(a.dedup_key) <= MAX_KEY_CHARS)
        assert a.service is None or isinstance(a.service, str)
        assert isinstance(a.details, dict)
        json.dumps(a.details, allow_nan=False)
    return alerts
