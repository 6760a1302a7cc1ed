"""`pager metrics --format prometheus` / `--textfile`: checked by promtool
(Debian's prometheus package), parsed back with prometheus-client's parser,
and every value compared with the database itself."""

from __future__ import annotations

import os
from datetime import datetime, timezone
import shutil
import stat
import subprocess

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from conftest import run_pager
from dbread import rows

pytestmark = pytest.mark.slow

CONFIG = {
    "timezone": "UTC",
    "users": {
        "alice": {"name": "Alice", "contacts": {"ok": {"command": ["true"]}, "bad": {"command": ["false"]}},
                  "notify": [{"contact": "ok", "after": "0m"}, {"contact": "bad", "after": "0m"}]},
        "bob": {"name": "Bob"},
    },
    "escalation_policies": {"p": {"levels": [{"targets": ["user:alice"], "delay": "5m"},
                                             {"targets": ["user:bob"], "delay": "5m"}]}},
    "services": {"payments": {"escalation_policy": "p"}, "web.edge": {"escalation_policy": "p"}},
}
T0 = "2026-11-23T09:00:00Z"


def _state(cli, tmp_path) -> None:
    """Six incidents over two services: acknowledged, resolved, still open, and
    one created before the window."""
    path = tmp_path / "pager.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    assert cli("schedules", "apply", path).code == 0

    def at(when, *args):  # noqa: ANN001, ANN002
        r = cli("--now", when, *args)
        assert r.code == 0, r

    at("2026-10-01T09:00Z", "trigger", "--service", "payments", "old one")                       # 1, outside the window
    at(T0, "trigger", "--service", "payments", "--severity", "critical", "DB down")              # 2
    at("2026-11-23T09:01Z", "trigger", "--service", "payments", "Disk full")                     # 3
    at("2026-11-23T09:02Z", "trigger", "--service", "web.edge", "--severity", "warning", "5xx")  # 4
    at("2026-11-23T09:03Z", "trigger", "--service", "web.edge", "Slow")                         # 5
    at("2026-11-23T09:04Z", "ack", "2")
    at("2026-11-23T09:10Z", "resolve", "2")
    at("2026-11-23T09:31Z", "resolve", "3")
    at("2026-11-23T09:05Z", "ack", "4")
    at("2026-11-23T09:30Z", "escalate-check")


def _families(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


@pytest.fixture
def exposition(cli, tmp_path) -> str:
    _state(cli, tmp_path)
    done = run_pager("--now", "2026-11-23T10:00Z", "metrics", "--format", "prometheus", check=True)
    return done.stdout.decode()


def test_promtool_accepts_it(exposition, tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian package prometheus) is needed: .ci/run installs it"
    check = subprocess.run([promtool, "check", "metrics"], input=exposition.encode(), capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_values_are_the_database(exposition, db_path):
    fam = _families(exposition)
    open_now = {(s.labels["service"], s.labels["severity"], s.labels["status"]): s.value
                for s in fam["pager_incidents_open"]}
    assert open_now == {(svc, sev, st): n for svc, sev, st, n in rows(db_path, (
        "SELECT service, severity, status, count(*) FROM incident WHERE status != 'resolved'"
        " GROUP BY 1, 2, 3"))}
    assert open_now == {("payments", "error", "triggered"): 1, ("web.edge", "warning", "acknowledged"): 1,
                        ("web.edge", "error", "triggered"): 1}

    created = {(s.labels["service"], s.labels["status"]): s.value for s in fam["pager_incidents"]}
    assert created == {(svc, st): n for svc, st, n in rows(db_path, (
        "SELECT service, status, count(*) FROM incident WHERE created_at >= '2026-10-24' GROUP BY 1, 2"))}
    assert created == {("payments", "resolved"): 2, ("web.edge", "acknowledged"): 1, ("web.edge", "triggered"): 1}

    def summary(name: str) -> dict:
        return {(s.name, s.labels["service"], s.labels.get("quantile")): s.value for s in fam[name]}

    mtta = summary("pager_mtta_seconds")
    assert mtta == {
        ("pager_mtta_seconds", "payments", "0.5"): 240.0, ("pager_mtta_seconds", "payments", "0.9"): 240.0,
        ("pager_mtta_seconds", "payments", "1"): 240.0,
        ("pager_mtta_seconds_sum", "payments", None): 240.0, ("pager_mtta_seconds_count", "payments", None): 1.0,
        ("pager_mtta_seconds", "web.edge", "0.5"): 180.0, ("pager_mtta_seconds", "web.edge", "0.9"): 180.0,
        ("pager_mtta_seconds", "web.edge", "1"): 180.0,
        ("pager_mtta_seconds_sum", "web.edge", None): 180.0, ("pager_mtta_seconds_count", "web.edge", None): 1.0,
    }
    stored = dict(rows(db_path, "SELECT id, resolve_ms FROM incident WHERE resolve_ms IS NOT NULL AND id > 1"))
    assert stored == {2: 600_000, 3: 1_800_000}
    mttr = summary("pager_mttr_seconds")
    assert mttr[("pager_mttr_seconds_sum", "payments", None)] == 2400.0
    assert mttr[("pager_mttr_seconds_count", "payments", None)] == 2.0
    assert mttr[("pager_mttr_seconds", "payments", "0.5")] == 1200.0  # numpy's linear, as `metrics` has it
    assert mttr[("pager_mttr_seconds", "payments", "0.9")] == 1680.0
    assert mttr[("pager_mttr_seconds", "payments", "1")] == 1800.0
    assert mttr[("pager_mttr_seconds_count", "web.edge", None)] == 0.0

    deliveries = {(s.labels["user"], s.labels["contact"], s.labels["state"]): s.value for s in fam["pager_deliveries"]}
    assert deliveries == {tuple(r[:3]): r[3] for r in rows(
        db_path, 'SELECT "user", contact, state, count(*) FROM delivery GROUP BY 1, 2, 3')}
    assert deliveries and {c for _, c, _ in deliveries} == {"ok", "bad"}

    assert fam["pager_heartbeat_last_ping_timestamp_seconds"] == []  # no heartbeats yet: the family, empty
    (last,) = fam["pager_escalate_check_last_run_timestamp_seconds"]
    assert last.value == datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc).timestamp()  # the last escalate-check's clock
    assert rows(db_path, "SELECT value FROM pager_instance WHERE key = 'escalate_check_last_run'") == [
        ("2026-11-23T09:30:00+00:00",)]


def test_never_ticked_is_zero_and_an_empty_database_passes_promtool(tmp_path):
    done = run_pager("metrics", "--format", "prometheus", check=True)
    fam = _families(done.stdout.decode())
    assert [s.value for s in fam["pager_escalate_check_last_run_timestamp_seconds"]] == [0.0]
    assert fam["pager_incidents_open"] == [] and fam["pager_mtta_seconds"] == []
    check = subprocess.run(["promtool", "check", "metrics"], input=done.stdout, capture_output=True)
    assert check.returncode == 0, check.stderr


def test_textfile_is_written_whole_with_mode_0644(cli, tmp_path):
    _state(cli, tmp_path)
    target = tmp_path / "collector" / "pager.prom"
    target.parent.mkdir()
    old = os.umask(0o077)
    try:
        run_pager("--now", "2026-11-23T10:00Z", "metrics", "--textfile", target, check=True)
    finally:
        os.umask(old)
    stdout = run_pager("--now", "2026-11-23T10:00Z", "metrics", "--format", "prometheus", check=True).stdout
    assert target.read_bytes() == stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert os.listdir(target.parent) == ["pager.prom"]  # no temporary file left behind
    # written again over the old one: replaced, not appended
    run_pager("--now", "2026-11-23T11:00Z", "metrics", "--textfile", target, check=True)
    assert target.read_bytes().count(b"# TYPE pager_incidents_open gauge") == 1


def test_bad_options_and_an_unwritable_place(tmp_path):
    bad = run_pager("metrics", "--format", "openmetrics")
    assert (bad.returncode, bad.stderr.startswith(b"Error: unknown --format")) == (2, True)
    assert run_pager("metrics", "--format", "prometheus", "--json").returncode == 2
    nowhere = run_pager("metrics", "--textfile", tmp_path / "missing" / "pager.prom")
    assert nowhere.returncode == 1 and nowhere.stderr.startswith(b"Error: cannot write") and b"Traceback" not in nowhere.stderr
