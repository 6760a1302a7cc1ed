"""Rough edges a new user hit: each one checked through the CLI, and the
database where the command changes state."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE, run_pager

NOW = "2026-11-23T10:00:00Z"


def _bulk(cli, n: int, service: str = "catch-all", now: str = NOW) -> None:
    lines = "".join(json.dumps({"title": f"disk {i} full"}) + "\n" for i in range(n))
    r = cli("--now", now, "trigger", "-", "--service", service, input=lines)
    assert r.code == 0, r


# 1. list says when --limit hides rows; an unknown --service is exit 3

def test_list_says_how_many_rows_the_limit_hides(cli, applied, db):
    _bulk(cli, 112)
    r = cli("--now", NOW, "list")
    assert r.code == 0, r
    assert "100 of 112 shown; --limit 0 for all" in r.err
    assert r.out.count("disk ") == 100
    r = cli("--now", NOW, "--json", "list", "--limit", "10")
    assert len(r.json()) == 10 and "10 of 112 shown" in r.err
    r = cli("--now", NOW, "list", "--limit", "0")
    assert r.out.count("disk ") == 112 and "shown" not in r.err
    r = cli("--now", NOW, "list", "--limit", "112")
    assert "shown" not in r.err


def test_list_of_an_unknown_service_is_not_found(cli, applied):
    r = cli("list", "--service", "nosuch")
    assert r.code == 3 and "nosuch" in r.err, r
    r = cli("list", "--service", "payments")
    assert r.code == 0, r


# 2. --since 7d means seven days ago

def test_since_an_unsigned_duration_is_that_long_ago(cli, applied):
    assert cli("--now", "2026-11-10T10:00:00Z", "trigger", "--service", "catch-all", "old one").code == 0
    assert cli("--now", "2026-11-20T10:00:00Z", "trigger", "--service", "catch-all", "new one").code == 0
    for since in ("7d", "-7d"):
        r = cli("--now", NOW, "--json", "list", "--status", "all", "--since", since)
        assert r.code == 0, r
        assert [d["title"] for d in r.json()] == ["new one"]
        r = cli("--now", NOW, "--json", "metrics", "--since", since)
        assert r.code == 0, r
        assert r.json()["incidents"] == 1
    r = cli("--now", NOW, "--json", "list", "--status", "all", "--since", "+1d")  # a sign is honoured
    assert r.json() == []


def test_parse_time_past_only_changes_unsigned_durations():
    from pager_cli.times import UTC, parse_time
    from tests.conftest import utc

    now = utc("2026-11-23T10:00:00")
    assert parse_time("7d", now, UTC, past=True) == utc("2026-11-16T10:00:00")
    assert parse_time("7d", now, UTC) == utc("2026-11-30T10:00:00")
    assert parse_time("+1h", now, UTC, past=True) == utc("2026-11-23T11:00:00")
    assert parse_time("2026-11-01T00:00", now, UTC, past=True) == utc("2026-11-01T00:00:00")
