"""serve's heartbeat, calendar and metrics endpoints: the same app functions
as `pager heartbeat`, `schedules ical` and `metrics --format prometheus`,
over HTTP, behind the token (the calendar also takes it as ?token=)."""

from __future__ import annotations

import pytest
from urllib.parse import quote

import icalendar
from prometheus_client.parser import text_string_to_metric_families

from conftest import run_pager
from dbread import rows
from serve_kit import CONFIG, TOKEN, configure, hook_file, start  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

HEARTBEATS = """\
heartbeats:
  nightly: {service: web, interval: 25h, severity: critical}
"""


def _serve(cli, tmp_path):  # noqa: ANN001, ANN202
    configure(cli, tmp_path, CONFIG + HEARTBEATS)
    return start("--", "--interval", "1h")


def test_a_heartbeat_over_http_is_recorded_and_an_unknown_one_is_404(cli, tmp_path, db_path, hook_file):
    server = _serve(cli, tmp_path)
    try:
        assert server.post("/heartbeat/nightly", b"", token=None)[0] == 401
        status, answer = server.post("/heartbeat/nightly", b"")
        assert status == 200 and answer["status"] == "ok" and answer["name"] == "nightly"
        assert server.post("/heartbeat/nosuch", b"")[0] == 404
    finally:
        assert server.stop()[0] == 0
    ((last_ping,),) = rows(db_path, "SELECT last_ping_at FROM heartbeat WHERE name = 'nightly'")
    assert last_ping is not None
    listed = run_pager("--json", "heartbeats", check=True)
    assert b'"ok"' in listed.stdout


def test_the_calendar_feed_is_the_schedules_ical_output_and_takes_the_token_in_the_query(
        cli, tmp_path, db_path, hook_file):
    server = _serve(cli, tmp_path)
    try:
        assert server.request("GET", "/ical/primary", token=None)[0] == 401
        assert server.request("GET", "/ical/primary?token=wrong", token=None)[0] == 401
        status, headers, body = server.request("GET", f"/ical/primary?token={quote(TOKEN)}", token=None)
        assert status == 200 and headers["Content-Type"].startswith("text/calendar")
        assert server.request("GET", "/ical/nosuch")[0] == 404
    finally:
        assert server.stop()[0] == 0
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert {str(e["SUMMARY"]) for e in events} == {"On call: primary (alice)", "On call: primary (bob)"}  # daily turns
    uids = {str(e["UID"]) for e in events}
    first = uids & {str(e["UID"]) for e in icalendar.Calendar.from_ical(
        run_pager("schedules", "ical", "primary", check=True).stdout).walk("VEVENT")}
    assert first, "the feed and `schedules ical` name the same shifts alike"


def test_metrics_over_http_count_what_the_database_holds(cli, tmp_path, db_path, hook_file):
    server = _serve(cli, tmp_path)
    try:
        status, _ = server.post("/events/web", {"title": "disk full", "dedup_key": "disk"})
        assert status == 200
        assert server.request("GET", "/metrics", token=None)[0] == 401
        status, headers, body = server.request("GET", "/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
    finally:
        assert server.stop()[0] == 0
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    open_web = [s.value for s in families["pager_incidents_open"].samples if s.labels.get("service") == "web"]
    ((stored,),) = rows(db_path, "SELECT count(*) FROM incident WHERE service = 'web' AND status = 'triggered'")
    assert sum(open_web) == stored == 1
