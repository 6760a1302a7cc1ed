"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager, started
by the test) sending to a running `pager serve`, both ways its users set it
up: `pagerduty_configs` with `url:` pointed at /v2/enqueue, and
`webhook_configs` with a Bearer `http_config` to /alertmanager/{service}. An
alert posted to Alertmanager's API becomes an incident; its end resolves it."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dbread import rows
from serve_kit import KEY, TOKEN, configure, hook_file, start  # noqa: F401 - fixtures

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not shutil.which(ALERTMANAGER), reason="prometheus-alertmanager is not installed")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def am_config(serve_url: str) -> str:
    return f"""
route:
  receiver: pd
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: hook
      matchers: ['via="webhook"']
receivers:
  - name: pd
    pagerduty_configs:
      - routing_key: {KEY}
        url: {serve_url}/v2/enqueue
        send_resolved: true
  - name: hook
    webhook_configs:
      - url: {serve_url}/alertmanager/shop
        send_resolved: true
        http_config:
          authorization: {{type: Bearer, credentials: {TOKEN}}}
"""


@pytest.fixture
def alertmanager(cli, tmp_path, hook_file):  # noqa: ANN001, ANN201
    configure(cli, tmp_path)
    server = start("--", "--interval", "1s")
    port = free_port()
    (tmp_path / "am.yml").write_text(am_config(server.url))
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={tmp_path / 'am.yml'}",
                             f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
                             "--cluster.listen-address="], stdout=subprocess.DEVNULL,
                            stderr=open(tmp_path / "am.log", "wb"))
    api = f"http://127.0.0.1:{port}/api/v2"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{api}/status", timeout=2).read()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                server.stop()
                raise AssertionError((tmp_path / "am.log").read_text()) from None
            time.sleep(0.2)
    yield api, server
    proc.terminate()
    proc.wait(10)
    code, err = server.stop()
    assert code == 0, err


def post_alert(api: str, labels: dict, ended: bool = False) -> None:
    now = datetime.now(timezone.utc)
    alert = {"labels": labels, "annotations": {"summary": f"{labels['alertname']} on db1"},
             "startsAt": (now - timedelta(minutes=5)).isoformat()}
    if ended:
        alert["endsAt"] = (now - timedelta(seconds=1)).isoformat()
    request = urllib.request.Request(f"{api}/alerts", data=json.dumps([alert]).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=10).status == 200


def wait_for(db_path, sql: str, want, timeout: float = 40):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    found = None
    while time.monotonic() < deadline:
        found = rows(db_path, sql) if not isinstance(db_path, Path) or db_path.exists() else None  # a URL on PostgreSQL
        if found == want:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{sql}: {found!r}, expected {want!r}")


def test_pagerduty_receiver_opens_and_resolves(alertmanager, db_path):
    api, _ = alertmanager
    labels = {"alertname": "DiskFull", "instance": "db1"}
    post_alert(api, labels)
    wait_for(db_path, "SELECT service, status, title FROM incident",
             [("web", "triggered", "[FIRING:1] DiskFull (db1)")])
    post_alert(api, labels, ended=True)
    wait_for(db_path, "SELECT service, status FROM incident", [("web", "resolved")])


def test_webhook_receiver_with_bearer_token_opens_and_resolves(alertmanager, db_path):
    api, _ = alertmanager
    labels = {"alertname": "QueueStuck", "via": "webhook", "instance": "mq1"}
    post_alert(api, labels)
    wait_for(db_path, "SELECT service, status, title FROM incident", [("shop", "triggered", "QueueStuck on db1")])
    post_alert(api, labels, ended=True)
    wait_for(db_path, "SELECT service, status FROM incident", [("shop", "resolved")])
