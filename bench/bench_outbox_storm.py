"""Benchmark: an alert storm through the outbox. 500 incidents open at once
for a user with one webhook contact (rate 5/15m) and one `after: 5m` rule;
figures: the time to open them (each page writes its deliveries in the same
transaction), the first outbox run (5 sends, the rest held), and the digest
run 15 minutes later (one message naming 495 incidents).

    python bench/bench_outbox_storm.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

INCIDENTS = 100 if "--quick" in sys.argv else 500
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    count = 0

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        Handler.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # noqa: ANN002
        pass


def main() -> None:
    from pager_cli.config.apply import apply_config
    from pager_cli.config.load import load_config_text
    from pager_cli.incidents import lifecycle
    from pager_cli.notify import outbox
    from pager_cli.store.db import open_database

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    config = load_config_text(f"""
users:
  alice:
    contacts: {{hook: {{webhook: "{url}"}}, phone: {{webhook: "{url}"}}}}
    notify: [{{contact: hook}}, {{contact: phone, after: 5m}}]
escalation_policies: {{p: {{levels: [{{targets: ["user:alice"], delay: 1h}}]}}}}
services: {{payments: {{escalation_policy: p}}}}
""", env={})
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(str(Path(folder) / "pager.db"))
        with db.write() as session:
            apply_config(session, config, T0)
        began = time.perf_counter()
        with db.write() as session:
            for n in range(INCIDENTS):
                lifecycle.trigger(session, T0, "payments", f"disk {n} full", "critical")
        opened = time.perf_counter() - began
        began = time.perf_counter()
        first = outbox.run(db, T0)
        first_s = time.perf_counter() - began
        began = time.perf_counter()
        digest = outbox.run(db, T0 + timedelta(minutes=15, seconds=1))
        digest_s = time.perf_counter() - began
        db.close()
    print(f"{INCIDENTS} incidents opened with their deliveries: {opened * 1000:.0f} ms "
          f"({opened / INCIDENTS * 1000:.2f} ms each)")
    print(f"first run: {len(first)} sent, the rest held: {first_s * 1000:.0f} ms")
    print(f"run 15 min later: {len(digest)} messages ({', '.join(o.event for o in digest)}): {digest_s * 1000:.0f} ms")
    print(f"requests at the receiver: {Handler.count} for {INCIDENTS * 2} deliveries")
    server.shutdown()


if __name__ == "__main__":
    main()
