"""Building blocks for the outbox tests: a config with the contacts a test
needs, applied through the library; incidents triggered and acknowledged the
way the commands do it; the delivery rows as the database holds them."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone

import yaml
from pytest_httpserver import HTTPServer

import dbread
from conftest import utc

from pager_cli.config.apply import apply_config
from pager_cli.config.load import load_config_text
from pager_cli.incidents import lifecycle
from pager_cli.notify import outbox

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
SECRET = "hmac-secret-5f1c2e"
TOKEN = "tok-9a8b7c6d"
SECRETS = (SECRET, TOKEN, "s3cr3t", "smtp-pw-77", "://", "127.0.0.1")


def config_text(alice: dict, bob: dict | None = None, smtp: dict | None = None, delays=("5m", "10m")) -> str:
    doc = {
        "timezone": "UTC",
        "users": {"alice": {"name": "Alice", **alice}, "bob": {"name": "Bob", **(bob or {})}},
        "escalation_policies": {"p": {"levels": [{"targets": ["user:alice"], "delay": delays[0]},
                                                 {"targets": ["user:bob"], "delay": delays[1]}]}},
        "services": {"payments": {"escalation_policy": "p"}},
    }
    if smtp:
        doc["smtp"] = smtp
    return yaml.safe_dump(doc, sort_keys=False)


def setup(db, alice: dict, bob: dict | None = None, smtp: dict | None = None, env: dict | None = None,
          delays=("5m", "10m")) -> None:
    config = load_config_text(config_text(alice, bob, smtp, delays), "pager.yaml", env=env or {})
    with db.write() as session:
        apply_config(session, config, T0)


def trigger(db, title: str = "DB connection failed", at: datetime = T0, severity: str = "critical") -> int:
    with db.write() as session:
        outcome = lifecycle.trigger(session, at, "payments", title, severity, dedup_key=title)
        return outcome.incident.id


def transition(db, incident_id: int, action: str, at: datetime, by: str = "alice") -> None:
    with db.write() as session:
        incident = lifecycle.get(session, incident_id)
        getattr(lifecycle, action)(session, at, incident, by)


def rows(db, **where) -> list[dbread.Record]:  # noqa: ANN001
    """The delivery rows in order as the database holds them, read apart from
    the application (dbread); instants as aware UTC datetimes."""
    clause = " AND ".join(f"{dbread.quoted(k)} = ?" for k in where) or "1=1"
    found = dbread.dicts(db, f"SELECT * FROM delivery WHERE {clause} ORDER BY id", tuple(where.values()))
    return [dbread.Record({k: utc(v) if k.endswith("_at") and v is not None else v for k, v in row.items()})
            for row in found]


def states(db, **where) -> list[tuple]:
    return [(r.contact, r.event, r.state) for r in rows(db, **where)]


def run(db, at: datetime, **kw) -> list[outbox.Outcome]:
    return outbox.run(db, at, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bodies(server: HTTPServer, path: str | None = None) -> list[dict]:
    return [json.loads(request.get_data()) for request, _ in server.log if path is None or request.path == path]


def assert_no_secret(db) -> None:
    """No delivery row's error and no JSON view shows a URL, header or secret."""
    with db.read() as session:
        docs = outbox.deliveries(session, limit=0)
    text = json.dumps(docs)
    for secret in SECRETS:
        assert secret not in text, secret


def start_server() -> HTTPServer:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    server.released = threading.Event()
    return server


def stop_server(server: HTTPServer) -> None:
    server.released.set()
    server.clear()
    if server.is_running():
        server.stop()
    from pager_cli.notify.channels import webhook

    webhook.close_idle()


MINUTE = timedelta(minutes=1)
