"""`pager metrics`: hand-built incident histories, the numbers worked out by
hand next to each, checked through the CLI (`--now`, `--json`) and in the
domain module; window edges, empty windows, the service filter, days in the
display zone, pages per user, and the human report at 80 columns."""

from __future__ import annotations

import statistics
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import run_pager, utc
from pager_cli.incidents import lifecycle as incidents
from pager_cli.metrics import report as metrics
from pager_cli.store import tables as m

T0 = utc("2026-11-23T09:00:00")
DAY = ["--since", "2026-11-23T00:00:00Z", "--until", "2026-11-24T00:00:00Z"]
KEYS = ["since", "until", "incidents", "by_status", "by_service", "by_severity", "mtta", "mttr", "escalated",
        "resolved_without_ack", "pages_by_user", "pages_off_hours_by_user", "per_day"]
EMPTY = {"count": 0, "mean": None, "p50": None, "p90": None, "max": None}


def add(session, created, *, service="payments", severity="error", ack=None, resolved=None, step=0, pages=(),
        status=None, id=None):
    """One incident created at `created`, first acknowledged `ack` seconds and
    resolved `resolved` seconds later, with a page per name in `pages`."""
    acked_at = created + timedelta(seconds=ack) if ack is not None else None
    resolved_at = created + timedelta(seconds=resolved) if resolved is not None else None
    if status is None:
        status = "resolved" if resolved is not None else "acknowledged" if ack is not None else "triggered"
    incident = m.Incident(
        id=id, service=service, title=f"{service} at {created:%H:%M:%S}", severity=severity, status=status,
        dedup_key=f"k{created.timestamp()}-{service}-{id}", created_at=created, last_alert_at=created,
        first_acknowledged_at=acked_at, acknowledged_at=acked_at if status == "acknowledged" else None,
        resolved_at=resolved_at, escalation_step=step,
        ack_ms=ack * 1000 if ack is not None else None, resolve_ms=resolved * 1000 if resolved is not None else None,
    )
    session.add(incident)
    session.flush()
    for n, user in enumerate(pages):
        session.add(m.Page(incident_id=incident.id, user=user, step=n, level=n, at=created))
    return incident


@pytest.fixture
def example(db):
    """The history behind the PRODUCT.md §7 example, on 2026-11-23 (UTC).

    acknowledged after 120, 240, 360 s  → MTTA mean (120+240+360)/3 = 240,
        p50 = the middle value 240, p90 at rank (3−1)·0.9 = 1.8: 240 + 0.8·(360−240) = 336, max 360;
    resolved after 600, 1800, 360 s    → sorted 360, 600, 1800: MTTR mean 2760/3 = 920,
        p50 600, p90 at rank 1.8: 600 + 0.8·(1800−600) = 1560, max 1800.
    """
    with db.write() as s:
        add(s, T0, severity="critical", ack=120, resolved=600, pages=["alice"])
        add(s, T0 + timedelta(hours=1), severity="critical", ack=240, resolved=1800, pages=["alice", "alice"])
        add(s, T0 + timedelta(hours=2), ack=360)                                # still acknowledged
        add(s, T0 + timedelta(hours=3), resolved=360)                           # resolved, never acknowledged
        add(s, T0 + timedelta(hours=4), step=1, pages=["alice"])                # escalated once, still triggered
    return db


def run_json(cli, *args):
    r = cli("--now", "2026-11-24T12:00:00Z", "--tz", "UTC", "metrics", "--json", *args)
    assert r.code == 0, r
    return r.json()


def test_the_product_example_exactly(cli, example):
    assert run_json(cli, *DAY) == {
        "since": "2026-11-23T00:00:00Z", "until": "2026-11-24T00:00:00Z", "incidents": 5,
        "by_status": {"triggered": 1, "acknowledged": 1, "resolved": 3},
        "by_service": {"payments": 5}, "by_severity": {"critical": 2, "error": 3},
        "mtta": {"count": 3, "mean": 240.0, "p50": 240.0, "p90": 336.0, "max": 360.0},
        "mttr": {"count": 3, "mean": 920.0, "p50": 600.0, "p90": 1560.0, "max": 1800.0},
        "escalated": 1, "resolved_without_ack": 1, "pages_by_user": {"alice": 4},
        "pages_off_hours_by_user": {"alice": 0},  # §13: Monday 09:00-13:00 UTC, working hours
        "per_day": [{"date": "2026-11-23", "count": 5}],
    }


def test_json_is_plain_and_keyed_as_the_contract(cli, example):
    r = cli("--now", "2026-11-24T12:00:00Z", "metrics", "--json")
    assert r.code == 0, r
    assert list(r.json()) == KEYS
    assert r.out.count("\n") == 1 and "\x1b" not in r.out


def test_even_count_percentiles_interpolate(cli, db):
    # Acks after 10, 20, 30, 40 s: mean 25; p50 at rank 1.5 → 20 + 0.5·10 = 25;
    # p90 at rank 2.7 → 30 + 0.7·10 = 37. Milliseconds survive: 0.5 s and 1.25 s.
    with db.write() as s:
        for i, ack in enumerate((40, 10, 30, 20)):
            add(s, T0 + timedelta(minutes=i), ack=ack)
        add(s, T0 + timedelta(minutes=9), ack=0.5, resolved=1.25)
    doc = run_json(cli, *DAY, "--until", "2026-11-23T09:05:00Z")
    assert doc["mtta"] == {"count": 4, "mean": 25.0, "p50": 25.0, "p90": 37.0, "max": 40.0}
    assert doc["mttr"] == EMPTY
    doc = run_json(cli, *DAY)
    # Five acks: 0.5, 10, 20, 30, 40 → mean 100.5/5 = 20.1, p50 20, p90 at rank 3.6 → 30 + 0.6·10 = 36.
    assert doc["mtta"] == {"count": 5, "mean": 20.1, "p50": 20.0, "p90": 36.0, "max": 40.0}
    assert doc["mttr"] == {"count": 1, "mean": 1.25, "p50": 1.25, "p90": 1.25, "max": 1.25}


def test_window_edges(cli, db):
    since, until = utc("2026-11-20T00:00:00"), utc("2026-11-21T00:00:00")
    tiny = timedelta(microseconds=1)
    with db.write() as s:
        add(s, since - tiny, service="before")       # out
        add(s, since, service="at-since")            # in
        add(s, until - tiny, service="last")         # in
        add(s, until, service="at-until")            # out
    doc = run_json(cli, "--since", "2026-11-20T00:00:00Z", "--until", "2026-11-21T00:00:00Z")
    assert doc["incidents"] == 2
    assert doc["by_service"] == {"at-since": 1, "last": 1}
    assert doc["per_day"] == [{"date": "2026-11-20", "count": 2}]


def test_default_window_is_the_30_days_before_now(cli, db):
    now = utc("2026-11-30T12:00:00")
    with db.write() as s:
        add(s, now - timedelta(days=30, seconds=1), service="too-old")
        add(s, now - timedelta(days=30), service="oldest")
        add(s, now - timedelta(seconds=1), service="newest")
        add(s, now, service="now")  # created at until: out
    r = cli("--now", "2026-11-30T12:00:00Z", "--tz", "UTC", "metrics", "--json")
    doc = r.json()
    assert (doc["since"], doc["until"]) == ("2026-10-31T12:00:00Z", "2026-11-30T12:00:00Z")
    assert doc["by_service"] == {"newest": 1, "oldest": 1}
    assert len(doc["per_day"]) == 31  # Oct 31 (from 12:00) … Nov 30 (to 12:00)
    assert sum(d["count"] for d in doc["per_day"]) == 2
    # --since relative to now, --until explicit.
    doc = run_json(cli, "--since", "-40d", "--until", "2026-11-30T12:00:00Z")
    assert doc["by_service"] == {"newest": 1, "oldest": 1, "too-old": 1}


def test_empty_window_gives_nulls_and_zeros(cli, example):
    r = cli("--now", "2026-11-24T12:00:00Z", "--tz", "UTC", "metrics", "--json",
            "--since", "2026-01-01T00:00:00Z", "--until", "2026-01-03T00:00:00Z")
    assert r.code == 0, r
    assert r.json() == {
        "since": "2026-01-01T00:00:00Z", "until": "2026-01-03T00:00:00Z", "incidents": 0,
        "by_status": {}, "by_service": {}, "by_severity": {}, "mtta": EMPTY, "mttr": EMPTY,
        "escalated": 0, "resolved_without_ack": 0, "pages_by_user": {}, "pages_off_hours_by_user": {},
        "per_day": [{"date": "2026-01-01", "count": 0}, {"date": "2026-01-02", "count": 0}],
    }


def test_an_empty_database_is_fine_too(cli):
    r = cli("--now", "2026-11-24T12:00:00Z", "metrics", "--json")
    assert r.code == 0, r
    assert r.json()["incidents"] == 0 and r.json()["mtta"] == EMPTY


def test_a_window_that_ends_before_it_starts_is_a_usage_error(cli):
    r = cli("--now", "2026-11-24T12:00:00Z", "metrics", "--since", "2026-11-24", "--until", "2026-11-23")
    assert r.code == 2
    assert r.err.startswith("Error: the window is empty")
    assert cli("metrics", "--since", "yesterday-ish").code == 2


def test_service_filter(cli, example):
    with example.write() as s:
        add(s, T0 + timedelta(minutes=30), service="search", severity="warning", ack=60, pages=["bob", "bob"])
        add(s, T0 + timedelta(minutes=31), service="search", resolved=30, pages=["carol"])
    everything = run_json(cli, *DAY)
    assert everything["incidents"] == 7
    assert everything["by_service"] == {"payments": 5, "search": 2}
    assert everything["pages_by_user"] == {"alice": 4, "bob": 2, "carol": 1}
    # Acks 60, 120, 240, 360 → mean 195; p90 at rank 2.7: 240 + 0.7·120 = 324.
    assert everything["mtta"] == {"count": 4, "mean": 195.0, "p50": 180.0, "p90": 324.0, "max": 360.0}

    search = run_json(cli, *DAY, "--service", "search")
    assert search["incidents"] == 2
    assert search["by_service"] == {"search": 2}
    assert search["by_status"] == {"acknowledged": 1, "resolved": 1}
    assert search["by_severity"] == {"error": 1, "warning": 1}
    assert search["mtta"] == {"count": 1, "mean": 60.0, "p50": 60.0, "p90": 60.0, "max": 60.0}
    assert search["mttr"] == {"count": 1, "mean": 30.0, "p50": 30.0, "p90": 30.0, "max": 30.0}
    assert search["resolved_without_ack"] == 1 and search["escalated"] == 0
    assert search["pages_by_user"] == {"bob": 2, "carol": 1}
    assert search["per_day"] == [{"date": "2026-11-23", "count": 2}]

    payments = run_json(cli, *DAY, "--service", "payments")
    assert payments["mtta"] == {"count": 3, "mean": 240.0, "p50": 240.0, "p90": 336.0, "max": 360.0}
    assert payments["pages_by_user"] == {"alice": 4} and payments["by_service"] == {"payments": 5}


def test_service_filter_reads_the_same_through_either_index(db):
    """The service's history is larger than the window, then smaller: the
    query is written differently, the numbers are not."""
    with db.write() as s:
        for day in range(10):
            add(s, T0 - timedelta(days=day), service="payments", ack=60 * (day + 1))
        add(s, T0, service="search")
        add(s, T0 + timedelta(minutes=1), service="search")
    with db.read() as s:
        narrow = metrics.compute(s, T0 - timedelta(hours=1), T0 + timedelta(hours=1), service="payments")
        wide = metrics.compute(s, T0 - timedelta(days=20), T0 + timedelta(hours=1), service="payments")
    assert (narrow.incidents, narrow.mtta.max, narrow.per_day[-1][1]) == (1, 60.0, 1)
    assert (wide.incidents, wide.mtta.count, wide.mtta.max) == (10, 10, 600.0)
    assert sum(n for _, n in wide.per_day) == 10


def test_an_unknown_service_is_not_found(cli, example):
    r = cli("metrics", "--service", "nope")
    assert r.code == 3
    assert "no service 'nope'" in r.err


def test_a_configured_service_without_incidents_is_fine(cli, db):
    with db.write() as s:
        s.connection().execute(m.services.insert().values(name="quiet"))
    assert run_json(cli, "--service", "quiet")["incidents"] == 0


def test_per_day_uses_the_display_zone(cli, db):
    # 23:30 UTC on Nov 22 is 00:30 on Nov 23 in Berlin (UTC+1); 22:59 UTC is 23:59 on the 22nd.
    with db.write() as s:
        add(s, utc("2026-11-22T22:59:00"))
        add(s, utc("2026-11-22T23:30:00"))
        add(s, utc("2026-11-23T22:59:59"))
        add(s, utc("2026-11-23T23:00:00"))
    base = ["--now", "2026-11-25T00:00:00Z", "metrics", "--json", "--since", "2026-11-22T00:00:00Z",
            "--until", "2026-11-24T12:00:00Z"]
    berlin = cli("--tz", "Europe/Berlin", *base).json()
    assert berlin["per_day"] == [
        {"date": "2026-11-22", "count": 1},   # from 01:00 local (the window starts at 00:00 UTC)
        {"date": "2026-11-23", "count": 2},
        {"date": "2026-11-24", "count": 1},   # 00:00 local
    ]
    in_utc = cli("--tz", "UTC", *base).json()
    assert in_utc["per_day"] == [
        {"date": "2026-11-22", "count": 2}, {"date": "2026-11-23", "count": 2}, {"date": "2026-11-24", "count": 0},
    ]
    assert berlin["since"] == in_utc["since"] == "2026-11-22T00:00:00Z"


def test_a_day_across_dst_is_25_hours(db):
    berlin = ZoneInfo("Europe/Berlin")
    # Sunday 2026-10-25 runs from 22:00 UTC on the 24th to 23:00 UTC on the 25th.
    with db.write() as s:
        add(s, utc("2026-10-24T21:59:59"))   # Saturday 23:59:59 CEST
        add(s, utc("2026-10-24T22:00:00"))   # Sunday 00:00 CEST
        add(s, utc("2026-10-25T22:59:59"))   # Sunday 23:59:59 CET
        add(s, utc("2026-10-25T23:00:00"))   # Monday 00:00 CET
    with db.read() as s:
        report = metrics.compute(s, utc("2026-10-24T12:00:00"), utc("2026-10-26T12:00:00"), berlin)
    assert [(d.isoformat(), n) for d, n in report.per_day] == [("2026-10-24", 1), ("2026-10-25", 2), ("2026-10-26", 1)]
    spans = metrics.days(utc("2026-10-24T12:00:00"), utc("2026-10-26T12:00:00"), berlin)
    assert spans[1][2] - spans[1][1] == timedelta(hours=25)


def test_a_day_whose_midnight_does_not_exist_starts_at_the_transition():
    # Santiago springs forward at 00:00 (UTC−4) on 2026-09-06, straight to 01:00 (UTC−3): 04:00 UTC.
    spans = metrics.days(utc("2026-09-05T12:00:00"), utc("2026-09-08T00:00:00"), ZoneInfo("America/Santiago"))
    assert [(d.isoformat(), a, b) for d, a, b in spans] == [
        ("2026-09-05", utc("2026-09-05T12:00:00"), utc("2026-09-06T04:00:00")),  # cut at since
        ("2026-09-06", utc("2026-09-06T04:00:00"), utc("2026-09-07T03:00:00")),  # 23 hours
        ("2026-09-07", utc("2026-09-07T03:00:00"), utc("2026-09-08T00:00:00")),  # cut at until
    ]


def test_pages_count_for_the_window_incidents_only(cli, db):
    with db.write() as s:
        old = add(s, T0 - timedelta(days=2), pages=["alice"])
        add(s, T0, pages=["bob", "alice"])
        # A page sent today for yesterday's incident is not today's load.
        s.add(m.Page(incident_id=old.id, user="alice", step=5, level=0, at=T0))
    assert run_json(cli, *DAY)["pages_by_user"] == {"alice": 1, "bob": 1}


def test_ids_out_of_creation_order_still_count_right(cli, db):
    """Ids normally follow creation; a replayed history need not. The window is
    then not an id range, and pages are counted through the join."""
    with db.write() as s:
        add(s, T0, id=10, pages=["alice"])
        add(s, T0 - timedelta(days=3), id=11, pages=["bob"])    # out of the window, id inside the range
        add(s, T0 + timedelta(hours=1), id=12, pages=["carol", "carol"])
    doc = run_json(cli, *DAY)
    assert doc["incidents"] == 2
    assert doc["pages_by_user"] == {"alice": 1, "carol": 2}


def test_many_services_are_grouped(cli, db):
    names = [f"svc-{i:02d}" for i in range(25)]
    with db.write() as s:
        for i, name in enumerate(names):
            for j in range(i % 3 + 1):
                add(s, T0 + timedelta(minutes=i, seconds=j), service=name)
    doc = run_json(cli, *DAY)
    assert doc["by_service"] == {name: i % 3 + 1 for i, name in enumerate(names)}
    assert list(doc["by_service"]) == names


def test_values_outside_the_known_sets_still_count(cli, db):
    with db.write() as s:
        add(s, T0, severity="sev-weird")
        add(s, T0, severity="critical", status="snoozed")
    doc = run_json(cli, *DAY)
    assert doc["by_severity"] == {"critical": 1, "sev-weird": 1}
    assert doc["by_status"] == {"triggered": 1, "snoozed": 1}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_agree_with_a_brute_force_count(db, seed):
    """400 random incidents over 12 days (odd service names, severities and
    statuses outside the known sets, ids out of creation order) and a window
    and zone per seed: every figure equals the one worked out row by row."""
    import random

    rng = random.Random(seed)
    services = ["payments", "search", "ünïcode svc", "a", "zz"]
    severities = ["critical", "error", "warning", "info", "sev-weird"]
    rows = []
    with db.write() as s:
        for i in range(400):
            created = T0 - timedelta(days=rng.uniform(0, 12))
            ack = rng.choice([None, rng.randint(0, 5000)])
            resolved = rng.choice([None, rng.randint(0, 90000)])
            status = rng.choice([None, None, None, "snoozed"])
            pages = rng.sample(["alice", "bob", "carol"], rng.randint(0, 2))
            incident = add(s, created, service=rng.choice(services), severity=rng.choice(severities), ack=ack,
                           resolved=resolved, step=rng.choice([0, 0, 1, 3]), pages=pages, status=status,
                           id=1000 - i if seed == 3 else None)
            rows.append((incident, pages))
    since = T0 - timedelta(days=rng.uniform(3, 6), hours=rng.random())
    until = T0 - timedelta(days=rng.uniform(0, 2))
    tz = ZoneInfo(["UTC", "Europe/Berlin", "America/Chicago"][seed - 1])
    for service in (None, "ünïcode svc"):
        inside = [(i, p) for i, p in rows if since <= i.created_at < until and service in (None, i.service)]
        with db.read() as s:
            got = metrics.compute(s, since, until, tz, service=service)
        count = lambda attr: {v: sum(1 for i, _ in inside if getattr(i, attr) == v)  # noqa: E731
                              for v in {getattr(i, attr) for i, _ in inside}}
        assert got.incidents == len(inside)
        assert (got.by_status, got.by_severity, got.by_service) == (
            count("status"), count("severity"), count("service"))
        assert got.escalated == sum(1 for i, _ in inside if i.escalation_step > 0)
        assert got.resolved_without_ack == sum(1 for i, _ in inside if i.status == "resolved" and i.ack_ms is None)
        assert got.mtta == metrics.Durations.of_millis([i.ack_ms for i, _ in inside if i.ack_ms is not None])
        assert got.mttr == metrics.Durations.of_millis([i.resolve_ms for i, _ in inside if i.resolve_ms is not None])
        pages = {}
        for _, users in inside:
            for user in users:
                pages[user] = pages.get(user, 0) + 1
        assert got.pages_by_user == dict(sorted(pages.items()))
        per_day = {day: sum(1 for i, _ in inside if lo <= i.created_at < hi) for day, lo, hi in
                   metrics.days(since, until, tz)}
        assert dict(got.per_day) == per_day and sum(per_day.values()) == len(inside)


def test_histories_made_by_the_incident_functions(cli, db):
    """The real transitions: acknowledge, escalate back to triggered, resolve."""
    with db.write() as s:
        s.connection().execute(m.services.insert().values(name="payments"))
    with db.write() as s:
        a = incidents.trigger(s, T0, "payments", "disk full").incident
        b = incidents.trigger(s, T0 + timedelta(minutes=1), "payments", "cpu hot", "critical").incident
    with db.write() as s:
        incidents.acknowledge(s, T0 + timedelta(seconds=90), incidents.get(s, a.id), "alice")
    with db.write() as s:
        incidents.resolve(s, T0 + timedelta(minutes=11), incidents.get(s, a.id), "alice")
        incidents.resolve(s, T0 + timedelta(minutes=2), incidents.get(s, b.id), "bob")
    doc = run_json(cli, *DAY)
    # a: acked after 90 s, resolved after 660 s; b: resolved after 60 s without an ack.
    assert doc["mtta"] == {"count": 1, "mean": 90.0, "p50": 90.0, "p90": 90.0, "max": 90.0}
    # MTTR over 60, 660: mean 360, p50 at rank 0.5 → 360, p90 at rank 0.9 → 60 + 0.9·600 = 600.
    assert doc["mttr"] == {"count": 2, "mean": 360.0, "p50": 360.0, "p90": 600.0, "max": 660.0}
    assert doc["resolved_without_ack"] == 1
    assert doc["by_status"] == {"resolved": 2}
    assert doc["by_severity"] == {"critical": 1, "error": 1}


def test_first_ack_counts_even_after_escalating_back(db):
    with db.write() as s:
        add(s, T0, ack=300, status="triggered", step=2)  # acked, then escalated again
    with db.read() as s:
        report = metrics.compute(s, T0, T0 + timedelta(hours=1))
    assert report.mtta.count == 1 and report.mtta.max == 300.0
    assert report.by_status == {"triggered": 1} and report.escalated == 1


def test_percentile_is_numpys_linear_method():
    assert metrics.percentile([7], 0.9) == 7
    assert metrics.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert metrics.percentile([1, 2, 3, 4], 0.9) == pytest.approx(3.7)
    assert metrics.percentile([120, 240, 360], 0.9) == 336
    assert metrics.percentile([0, 10], 1.0) == 10
    assert metrics.percentile([0, 10], 0.0) == 0


@given(st.lists(st.integers(min_value=-10**9, max_value=10**9), min_size=2, max_size=200))
def test_percentile_agrees_with_statistics_inclusive(values):
    # statistics' 'inclusive' method is the same interpolation, at (n − 1)·q.
    ordered = sorted(values)
    p50 = statistics.quantiles(ordered, n=2, method="inclusive")[0]
    p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    assert metrics.percentile(ordered, 0.5) == pytest.approx(p50, rel=1e-12, abs=1e-6)
    assert metrics.percentile(ordered, 0.9) == pytest.approx(p90, rel=1e-12, abs=1e-6)


def test_durations_of_nothing_are_null():
    assert metrics.Durations.of_millis([]).to_json() == EMPTY


def test_human_report_at_80_columns(tmp_path, db):
    with db.write() as s:
        add(s, T0, severity="critical", ack=120, resolved=600, pages=["alice"])
        add(s, T0 + timedelta(hours=1), severity="critical", ack=240, resolved=1800, pages=["alice", "bob"])
        add(s, T0 + timedelta(hours=2), ack=360)
        add(s, T0 + timedelta(hours=3), resolved=360)
        evil = "[bold]pwned[/bold]\x1b[2J" + "x" * 90
        add(s, T0 + timedelta(hours=4), service=evil, step=1)
    proc = run_pager("--now", "2026-11-24T12:00:00Z", "--tz", "UTC", "metrics", "--since", "2026-11-10",
                     env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, "\n".join(line for line in lines if len(line) > 80)
    # MTTA 240 s mean, 240 p50, 336 p90, 360 max; MTTR 920, 600, 1560, 1800.
    mtta = next(line for line in lines if line.startswith("MTTA"))
    assert mtta.split()[-5:] == ["3", "4m", "4m", "5m36s", "6m"]
    mttr = next(line for line in lines if line.startswith("MTTR"))
    assert mttr.split()[-5:] == ["3", "15m20s", "10m", "26m", "30m"]
    assert next(line for line in lines if line.startswith("Escalated")).split()[-1] == "1"
    assert next(line for line in lines if line.startswith("Resolved without ack")).split()[-1] == "1"
    assert "On-call load" in text and "alice" in text and "bob" in text
    # Untrusted service names are shown, never interpreted.
    assert "[bold]pwned[/bold]" in text and "\x1b" not in text and "\\x1b[2J" in text
    # One bar per day, the busiest day the longest.
    days = [line for line in lines if line[:4] in ("Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun ", "Mon ")]
    assert len(days) == 15  # Nov 10 … Nov 24
    busiest = next(line for line in days if "2026-11-23" in line)
    assert busiest.rstrip().endswith(" 5") and "█" * 40 in busiest
    assert all("█" not in line for line in days if "2026-11-23" not in line)


def test_human_report_of_an_empty_window(cli):
    r = cli("--now", "2026-11-24T12:00:00Z", "metrics", "--since", "-2d")
    assert r.code == 0, r
    assert "Incidents per day" in r.out and "—" in r.out
