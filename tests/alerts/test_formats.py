"""Alert formats: each real payload and each format's fields, read through a
stream; one parsed document through `records_of`; strict JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alerts_kit import fixture, ndjson, read

from pager_cli.alerts.alertmanager import alertmanager_fingerprint
from pager_cli.alerts.documents import FORMATS, records_of
from pager_cli.alerts.json_strict import TooDeep, json_error_reason, limits_problem, loads_strict
from pager_cli.alerts.record import MAX_DEPTH, MAX_TITLE_CHARS


# --------------------------------------------------------------------------
# The real payloads.


def test_alertmanager_fixture_as_it_is():
    alerts = read(fixture("alertmanager-firing.json"))
    assert [(a.record, a.line, a.action, a.error) for a in alerts] == [
        (1, 1, "trigger", None),
        (2, 1, "trigger", None),
    ]
    first, second = alerts
    assert first.dedup_key == "am:791cec13fcba0368"
    assert second.dedup_key == "am:8df98227bdd81384"
    assert first.title == "Instance 127.0.0.1:9090 down"
    assert second.title == "Instance localhost:9090 down"
    assert first.severity == second.severity == "critical"
    assert first.service is None and first.routing_key is None
    assert first.warnings == [] and not first.generated_key
    assert first.details["labels"]["instance"] == "127.0.0.1:9090"
    assert first.details["annotations"]["summary"] == "Instance 127.0.0.1:9090 down"
    assert first.details["startsAt"] == "2020-08-08T14:32:08.326990857Z"
    assert first.details["generatorURL"].startswith("http://pop-os:9090/graph?")
    assert first.details["externalURL"] == "http://pop-os:9093"
    json.dumps(first.details, allow_nan=False)


def test_alertmanager_fixture_leaves_the_default_service_to_the_router():
    alerts = read(fixture("alertmanager-firing.json"), service="catch-all")
    assert [(a.service, a.receiver) for a in alerts] == [(None, 'goalert')] * 2


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("missing", ["removed", "empty"])
def test_alertmanager_fingerprints_computed_when_missing(indent, missing):
    body = json.loads(fixture("alertmanager-firing.json"))
    for alert in body["alerts"]:
        if missing == "removed":
            del alert["fingerprint"]
        else:
            alert["fingerprint"] = ""
    alerts = read(json.dumps(body, indent=indent))
    assert [a.dedup_key for a in alerts] == ["am:791cec13fcba0368", "am:8df98227bdd81384"]


def test_alertmanager_fingerprint_function():
    body = json.loads(fixture("alertmanager-firing.json"))
    for alert in body["alerts"]:
        assert alertmanager_fingerprint(alert["labels"]) == alert["fingerprint"]
    # FNV-1a 64 offset basis for no labels at all
    assert alertmanager_fingerprint({}) == "cbf29ce484222325"
    # order of the labels in the object does not matter
    labels = body["alerts"][0]["labels"]
    assert alertmanager_fingerprint(dict(reversed(list(labels.items())))) == "791cec13fcba0368"


def test_pagerduty_trigger_fixture():
    [alert] = read(fixture("pagerduty-v2-trigger.json"))
    assert alert.error is None
    assert (alert.record, alert.line, alert.action) == (1, 1, "trigger")
    assert alert.service is None
    assert alert.routing_key == "samplekeyhere"
    assert alert.dedup_key == "samplekeyhere" and not alert.generated_key
    assert alert.title == "Example alert on host1.example.com"
    assert alert.severity == "info"
    assert alert.details["source"].startswith("monitoringtool:cloudvendor")
    assert alert.details["component"] == "postgres"
    assert alert.details["group"] == "prod-datapipe"
    assert alert.details["class"] == "deploy"
    assert alert.details["custom_details"] == {"ping time": "1500ms", "load avg": 0.75}
    assert alert.details["timestamp"] == "2015-07-17T08:42:58.315+0000"
    assert alert.details["client"] == "Sample Monitoring Service"


@pytest.mark.parametrize("name, action", [("acknowledge", "acknowledge"), ("resolve", "resolve")])
def test_pagerduty_acknowledge_and_resolve_fixtures(name, action):
    [alert] = read(fixture(f"pagerduty-v2-{name}.json"))
    assert alert.error is None
    assert alert.action == action
    assert alert.routing_key == "routingkeyhere"
    assert alert.dedup_key == "dedupkeyhere"
    assert alert.service is None and alert.title is None
    assert not alert.generated_key


def test_all_fixtures_in_one_stream_are_numbered_in_order():
    names = [
        "alertmanager-firing.json",
        "pagerduty-v2-trigger.json",
        "pagerduty-v2-acknowledge.json",
        "pagerduty-v2-resolve.json",
    ]
    data = b"".join(fixture(n).rstrip(b"\n") + b"\n" for n in names)
    alerts = read(data)
    starts = [1]
    for name in names[:-1]:
        starts.append(starts[-1] + fixture(name).rstrip(b"\n").count(b"\n") + 1)
    assert [(a.record, a.line, a.action) for a in alerts] == [
        (1, starts[0], "trigger"),
        (2, starts[0], "trigger"),
        (3, starts[1], "trigger"),
        (4, starts[2], "acknowledge"),
        (5, starts[3], "resolve"),
    ]
    assert all(a.error is None for a in alerts)


def test_all_fixtures_as_ndjson_in_json_mode():
    names = ["alertmanager-firing.json", "pagerduty-v2-trigger.json", "pagerduty-v2-resolve.json"]
    data = "".join(json.dumps(json.loads(fixture(n))) + "\n" for n in names)
    alerts = read(data, "json")
    assert [(a.record, a.line, a.error) for a in alerts] == [(1, 1, None), (2, 1, None), (3, 2, None), (4, 3, None)]


# --------------------------------------------------------------------------
# Alertmanager and PagerDuty details.


def am_body(*alerts, **extra):
    return {"version": "4", "status": "firing", "alerts": list(alerts), **extra}


def test_alertmanager_resolved_service_and_alertname_title():
    body = am_body(
        {"status": "resolved", "labels": {"alertname": "DiskFull", "service": "payments", "severity": "warning"}},
        {"status": "firing", "labels": {"alertname": "DiskFull", "severity": "page"}},
    )
    first, second = read(json.dumps(body), service="catch-all")
    assert (first.action, first.service, first.title, first.severity) == ("resolve", "payments", "DiskFull", "warning")
    assert (second.action, second.service, second.severity) == ("trigger", None, "critical")
    assert first.receiver == second.receiver == ""  # the body names none
    assert first.dedup_key == "am:" + alertmanager_fingerprint(
        {"alertname": "DiskFull", "service": "payments", "severity": "warning"}
    )


def test_alertmanager_bad_alerts_do_not_stop_the_others():
    body = am_body(
        {"status": "firing", "labels": {"alertname": "A"}},
        "not an alert",
        {"status": "pending", "labels": {"alertname": "B"}},
        {"status": "firing", "labels": {"alertname": 5}},
        {"status": "firing", "labels": {"job": "x"}},
        {"status": "firing", "labels": {"alertname": "C", "severity": "weird"}},
    )
    alerts = read(json.dumps(body))
    assert [a.record for a in alerts] == [1, 2, 3, 4, 5, 6]
    assert alerts[0].title == "A" and alerts[0].error is None
    assert "alert 2" in alerts[1].error and "not an object" in alerts[1].error
    assert "unknown status 'pending'" in alerts[2].error
    assert "labels.alertname is a number" in alerts[3].error
    assert "missing title" in alerts[4].error
    assert alerts[5].error is None and alerts[5].severity == "error"
    assert alerts[5].warnings == ["unknown severity 'weird', using error"]


def test_alertmanager_resolved_without_title_is_fine():
    [alert] = read(json.dumps(am_body({"status": "resolved", "labels": {"job": "x"}})))
    assert alert.error is None and alert.action == "resolve" and alert.title is None


def test_alertmanager_alert_without_status_takes_the_body_status():
    [alert] = read(json.dumps(am_body({"labels": {"alertname": "X"}}, status="resolved")))
    assert alert.action == "resolve"


def test_alertmanager_empty_alerts_gives_no_records():
    assert read(json.dumps(am_body()) + "\n" + ndjson({"title": "t"}), service="s")[0].record == 1


def test_pagerduty_trigger_without_dedup_key_gets_one():
    payload = {"summary": "x", "severity": "critical", "source": "h"}
    body = {"routing_key": "rk", "event_action": "trigger", "payload": payload}
    first, second = read(ndjson(body, body))
    assert first.generated_key and second.generated_key
    assert len(first.dedup_key) == 32 and int(first.dedup_key, 16) >= 0
    assert first.dedup_key != second.dedup_key
    assert first.details == {"source": "h"}


def test_pagerduty_body_without_event_action_is_a_change_event():
    [alert] = read(ndjson({"routing_key": "rk", "payload": {"summary": "x"}}))
    assert alert.action == "change" and alert.routing_key == "rk" and alert.title == "x"
    assert alert.dedup_key is None


@pytest.mark.parametrize(
    "body, reason",
    [
        ({"routing_key": "rk", "event_action": "acknowledge"}, "event_action acknowledge needs a dedup_key"),
        ({"routing_key": "rk", "event_action": "resolve", "dedup_key": ""}, "event_action resolve needs a dedup_key"),
        ({"routing_key": "rk", "event_action": "snooze", "dedup_key": "k"}, "unknown event_action 'snooze'"),
        ({"routing_key": "rk", "event_action": 1}, "event_action is a number, not a string"),
        ({"event_action": "trigger", "payload": {}}, "missing title (a trigger needs payload.summary)"),
        ({"routing_key": "rk", "event_action": "trigger", "payload": []}, "payload is an array, not an object"),
        ({"routing_key": "rk", "event_action": "trigger", "payload": {"summary": 3}}, "payload.summary is a number"),
        ({"routing_key": 7, "payload": {"summary": "x"}}, "routing_key is a number, not a string"),
        ({"event_action": "resolve", "dedup_key": ["k"]}, "dedup_key is an array, not a string"),
    ],
)
def test_pagerduty_bad_bodies(body, reason):
    [alert] = read(ndjson(body))
    assert alert.error is not None and reason in alert.error


# --------------------------------------------------------------------------
# Generic objects.


def test_generic_object_fields():
    [alert] = read(
        ndjson(
            {
                "service": " payments ",
                "title": "  DB connection failed  ",
                "severity": "P1",
                "dedup_key": "db-1",
                "details": {"host": "db1", "n": 3},
            }
        )
    )
    assert alert.error is None
    assert alert.action == "trigger"
    assert alert.service == "payments"
    assert alert.title == "DB connection failed"
    assert alert.severity == "critical"
    assert alert.dedup_key == "db-1"
    assert alert.details == {"host": "db1", "n": 3}
    assert alert.routing_key is None and alert.warnings == [] and not alert.generated_key


def test_generic_summary_and_defaults():
    [alert] = read(ndjson({"summary": "disk full"}), service="ops")
    assert (alert.title, alert.service, alert.severity, alert.dedup_key, alert.details) == (
        "disk full",
        "ops",
        "error",
        None,
        {},
    )


def test_generic_without_service_or_default_leaves_it_for_later():
    [alert] = read(ndjson({"title": "x"}))
    assert alert.error is None and alert.service is None


@pytest.mark.parametrize(
    "action, expected",
    [
        ("trigger", "trigger"),
        ("ack", "acknowledge"),
        ("acknowledge", "acknowledge"),
        ("ACK", "acknowledge"),
        ("resolve", "resolve"),
        ("resolved", "resolve"),
        (None, "trigger"),
    ],
)
def test_generic_actions(action, expected):
    [alert] = read(ndjson({"title": "x", "dedup_key": "k", "action": action}), service="s")
    assert alert.error is None and alert.action == expected


def test_acknowledge_and_resolve_need_a_key_or_a_title():
    alerts = read(
        ndjson(
            {"action": "ack", "dedup_key": "k"},
            {"action": "resolve", "title": "x"},
            {"action": "resolve"},
        ),
        service="s",
    )
    assert alerts[0].error is None and alerts[0].title is None
    assert alerts[1].error is None and alerts[1].dedup_key is None
    assert alerts[2].error == "resolve needs a dedup_key or a title"


@pytest.mark.parametrize(
    "record, reason",
    [
        ({"title": "x", "action": "snooze"}, "unknown action 'snooze' (expected trigger, acknowledge or resolve)"),
        ({"title": "x", "action": 3}, "action is a number, not a string"),
        ({"service": "s"}, "missing title (a trigger needs a title or summary)"),
        ({"service": "s", "title": "   "}, "missing title (a trigger needs a title or summary)"),
        ({"title": 42}, "title is a number, not a string"),
        ({"title": ["x"]}, "title is an array, not a string"),
        ({"summary": {"a": 1}}, "summary is an object, not a string"),
        ({"title": "x", "details": ["a"]}, "details is an array, not an object"),
        ({"title": "x", "service": 5}, "service is a number, not a string"),
        ({"title": "x", "dedup_key": 5}, "dedup_key is a number, not a string"),
        ({"title": "x", "dedup_key": "k" * 1025}, "dedup_key is longer than 1024 characters"),
        ({"title": True}, "title is a boolean, not a string"),
    ],
)
def test_generic_bad_records(record, reason):
    [alert] = read(ndjson(record))
    assert alert.error == reason


@pytest.mark.parametrize("severity", ["foo", 7, ["critical"], {"a": 1}, True, 1.5])
def test_unknown_severity_is_error_with_a_warning_not_a_bad_record(severity):
    [alert] = read(ndjson({"title": "x", "severity": severity}))
    assert alert.error is None
    assert alert.severity == "error"
    assert len(alert.warnings) == 1 and alert.warnings[0].startswith("unknown severity ")
    assert alert.warnings[0].endswith(", using error")


def test_severity_numbers_and_aliases_in_records():
    records = [{"title": "a", "severity": 1}, {"title": "b", "severity": "WARN"}, {"title": "c", "severity": None}]
    alerts = read(ndjson(*records))
    assert [a.severity for a in alerts] == ["critical", "warning", "error"]
    assert all(a.warnings == [] for a in alerts)


def test_non_object_records():
    alerts = read('[1, "x", null, true, {"title": "t"}]\n', service="s")
    assert [a.error for a in alerts] == [
        "record is a number, not an object",
        "record is a string, not an object",
        "record is null, not an object",
        "record is a boolean, not an object",
        None,
    ]
    assert [a.record for a in alerts] == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------
# Titles.


def test_titles_are_kept_literally():
    titles = ["[bold red]boom[/]", "\x1b[31mred\x1b[0m", "<b>x</b> & \\n", "ünïcødé ✓ 🚨"]
    alerts = read(ndjson(*({"title": t} for t in titles)))
    assert [a.title for a in alerts] == titles


def test_long_titles_are_cut_with_a_warning():
    [alert] = read(ndjson({"title": "  " + "x" * 5000 + "  "}))
    assert alert.title == "x" * MAX_TITLE_CHARS
    assert alert.warnings == [f"title cut to {MAX_TITLE_CHARS} characters"]
    [text] = read("y" * 3000 + "\n", service="s")
    assert text.title == "y" * MAX_TITLE_CHARS and text.warnings


# --------------------------------------------------------------------------
# One parsed document → its records (what stdin and an HTTP body share).


def test_records_of_an_alertmanager_body_gives_one_record_per_alert():
    body = json.loads(fixture("alertmanager-firing.json"))
    alerts = list(records_of(body, line=7, default_service="catch-all"))
    assert [(a.record, a.line, a.action, a.error) for a in alerts] == [(0, 7, "trigger", None), (0, 7, "trigger", None)]
    assert [a.dedup_key for a in alerts] == ["am:791cec13fcba0368", "am:8df98227bdd81384"]
    assert [a.title for a in alerts] == ["Instance 127.0.0.1:9090 down", "Instance localhost:9090 down"]
    assert [a.service for a in alerts] == [None, None]  # routed later: labels.service, receiver, default


def test_records_of_an_array_of_pagerduty_events_gives_each():
    events = [json.loads(fixture(f"pagerduty-v2-{name}.json")) for name in ("trigger", "acknowledge", "resolve")]
    alerts = list(records_of(events))
    assert [(a.line, a.action, a.routing_key, a.dedup_key, a.error) for a in alerts] == [
        (1, "trigger", "samplekeyhere", "samplekeyhere", None),
        (1, "acknowledge", "routingkeyhere", "dedupkeyhere", None),
        (1, "resolve", "routingkeyhere", "dedupkeyhere", None),
    ]
    assert alerts[0].title == "Example alert on host1.example.com" and alerts[0].service is None


def test_records_of_all_fixtures_in_nested_arrays_keeps_their_order():
    am = json.loads(fixture("alertmanager-firing.json"))
    trigger, resolve = (json.loads(fixture(f"pagerduty-v2-{n}.json")) for n in ("trigger", "resolve"))
    alerts = list(records_of([[am], [[trigger]], "x", resolve, {"title": "t"}], 3, "s"))
    assert [(a.action, a.dedup_key, a.error) for a in alerts] == [
        ("trigger", "am:791cec13fcba0368", None),
        ("trigger", "am:8df98227bdd81384", None),
        ("trigger", "samplekeyhere", None),
        ("trigger", None, "record is a string, not an object"),
        ("resolve", "dedupkeyhere", None),
        ("trigger", None, None),
    ]
    assert {a.line for a in alerts} == {3} and alerts[-1].service == "s"


def test_records_of_tries_the_formats_in_order():
    # An Alertmanager body wins over the PagerDuty keys it also has; those win over the generic fields.
    both = {"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "A"}}], "event_action": "trigger"}
    [am] = records_of(both)
    assert am.dedup_key.startswith("am:") and am.title == "A"
    [pd] = records_of({"event_action": "resolve", "dedup_key": "k", "title": "ignored", "service": "s"})
    assert (pd.action, pd.service, pd.title, pd.dedup_key) == ("resolve", None, None, "k")
    assert [f.__name__.rsplit(".", 1)[1] for f in FORMATS] == ["alertmanager", "pagerduty_v1", "pagerduty", "generic"]


def test_records_of_a_value_that_is_not_an_object_or_array():
    for value, kind in ((None, "null"), (3, "a number"), ("x", "a string")):
        [alert] = records_of(value, 5)
        assert (alert.line, alert.error) == (5, f"record is {kind}, not an object")
    assert list(records_of([])) == []


def test_records_of_very_deep_arrays_does_not_blow_the_stack():
    value: list = [{"title": "deep"}]
    for _ in range(20000):
        value = [value]
    [alert] = records_of(value, 1, "s")
    assert alert.title == "deep" and alert.error is None


# --------------------------------------------------------------------------
# Strict JSON, shared with stdin.


@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a": -Infinity}', "1e999", "[-1e400]", "9" * 5000, "{", "[1,]"])
def test_loads_strict_rejects_what_does_not_serialize_back(text):
    with pytest.raises(ValueError):
        loads_strict(text)


def test_loads_strict_accepts_standard_json():
    assert loads_strict(' {"a": [1, 1.5e308, -0.0, "\\ud83d\\udea8", null, true]} \n') == {
        "a": [1, 1.5e308, -0.0, "🚨", None, True]
    }
    assert loads_strict("9" * 4300) == int("9" * 4300)


def test_loads_strict_too_deep_is_a_value_error_not_a_recursion_error():
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(TooDeep) as caught:
        loads_strict(text)
    assert json_error_reason(caught.value, text) == f"JSON nested deeper than {MAX_DEPTH} levels"


def test_limits_problem():
    assert limits_problem({"a": [1, {"b": "ok"}]}) is None
    deep: list = []
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert limits_problem(deep) == f"JSON nested deeper than {MAX_DEPTH} levels"
    assert limits_problem(deep[0]) is None
    lone = "invalid JSON: a \\u escape that is not valid Unicode (a lone surrogate)"
    assert limits_problem({"a": ["x\ud800"]}) == lone
    assert limits_problem({"\udc00": 1}) == lone
    # Given the text, a value that text cannot break is not walked at all.
    assert limits_problem(deep, "[]") is None
    assert limits_problem({"a": "x\ud800"}, '{"a": "x\\ud800"}') == lone


@pytest.mark.parametrize(
    "text",
    ['{"title": NaN}', '{"title": 1e999}', '{"title": "x",}', '{"title": "x"', '{"title": "\\udc00"}',
     "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "[" * 5000 + "]" * 5000, '{"n": ' + "1" * 4400 + "}"],
)
def test_stdin_and_json_strict_give_the_same_reason(text):
    """A caller validating JSON with `json_strict` (`--details`, an HTTP body)
    says exactly what a bad record on stdin says."""
    [alert] = read(text + "\n", "json")
    try:
        value = loads_strict(text)
    except ValueError as e:
        expected = json_error_reason(e, text)
    else:
        expected = limits_problem(value, text)
    assert expected and alert.error == expected


def test_importing_the_stream_reader_is_cheap():
    code = ("import sys, pager_cli.alerts.stream, pager_cli.alerts.documents\n"
            "print([m for m in ('sqlalchemy', 'sqlmodel', 'pydantic', 'typer', 'rich', 'yaml') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
