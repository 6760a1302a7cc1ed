"""Benchmark: 1,000 webhook deliveries due at once, through `send_many`.

The receiver is a stdlib ThreadingHTTPServer on 127.0.0.1 in a process of its
own (so it does not share this process's GIL), answering 200 after 20 ms.
Every delivery is a signed POST of a real delivery document. The figure is
deliveries per second, beside the theoretical limit parallelism ÷ latency
(16 threads ÷ 20 ms = 800/s), for a receiver that keeps connections alive (the
webhook channel reuses them) and, for reference, one that closes each
connection after its answer (a new TCP connection per delivery).

    python bench/bench_deliveries.py            # 1,000 deliveries
    python bench/bench_deliveries.py --quick    # 200

Target: at least 200 deliveries a second.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

sys.path.insert(0, str(common.ROOT))

DELIVERIES = 1_000
QUICK = 200
LATENCY = 0.020  # seconds the receiver waits before answering
TARGET = 200  # deliveries per second

RECEIVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = sys.argv[1]  # HTTP/1.1 keeps connections alive, HTTP/1.0 closes each one
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(float(sys.argv[2]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_port, flush=True)
server.serve_forever()
"""


@contextmanager
def receiver(protocol: str = "HTTP/1.1") -> Iterator[int]:
    """The port of a fresh receiver process, killed on the way out."""
    process = subprocess.Popen([common.python(), "-c", RECEIVER, protocol, str(LATENCY)],
                               stdout=subprocess.PIPE, text=True)
    try:
        yield int(process.stdout.readline())
    finally:
        process.kill()
        process.wait()


def _document(n: int) -> dict:
    return {"event": "page", "delivery": n, "attempt": 1, "user": "alice", "contact": "hook", "level": 0,
            "text": f"[CRITICAL] payments: DB connection failed (#{n})", "ack_url": None,
            "incident": {"id": n, "service": "payments", "title": "DB connection failed", "severity": "critical",
                         "status": "triggered", "dedup_key": f"db-{n}", "alert_count": 1, "assignees": ["alice"],
                         "escalation_level": 0, "created_at": "2026-11-23T09:00:00Z",
                         "last_alert_at": "2026-11-23T09:00:00Z", "acknowledged_at": None,
                         "acknowledged_by": None, "resolved_at": None, "resolved_by": None,
                         "details": {"host": "db-1"}}}


def deliver(count: int, protocol: str) -> tuple[float, int]:
    """(seconds, deliveries sent) for `count` deliveries to a fresh receiver."""
    from pager_cli.notify.channels import DEFAULT_PARALLEL, Contact, Job, Message, send_many, webhook

    with receiver(protocol) as port:
        contact = Contact("hook", "webhook", f"http://127.0.0.1:{port}/hook", secret="bench-secret",
                          headers={"Authorization": "Bearer bench"})
        jobs = [Job(contact, Message(_document(n), database_id="bench")) for n in range(1, count + 1)]
        began = time.perf_counter()
        results = send_many(jobs, deadline_s=120, parallel=DEFAULT_PARALLEL)
        elapsed = time.perf_counter() - began
        webhook.close_idle()
    sent = sum(r.sent for r in results)
    if sent != count:
        errors = sorted({r.error for r in results if not r.sent})
        raise RuntimeError(f"only {sent} of {count} deliveries sent: {errors[:5]}")
    return elapsed, sent


def run(quick: bool = False) -> list[tuple[str, object, str]]:
    from pager_cli.notify.channels import DEFAULT_PARALLEL

    count = QUICK if quick else DELIVERIES
    limit = DEFAULT_PARALLEL / LATENCY
    kept, _ = deliver(count, "HTTP/1.1")
    fresh, _ = deliver(count, "HTTP/1.0")
    return [
        (f"{count:,} webhook deliveries due at once (receiver answers in 20 ms), per second", count / kept,
         f">= {TARGET}"),
        ("  total time, s", kept, "reference"),
        (f"  theoretical limit: {DEFAULT_PARALLEL} threads ÷ 20 ms, per second", limit, "reference"),
        ("  a new connection per delivery (receiver closes each), per second", count / fresh, "reference"),
    ]


if __name__ == "__main__":
    for figure, value, target in run(quick="--quick" in sys.argv[1:]):
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        print(f"{figure}: {shown} ({target})")
