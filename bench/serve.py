"""Benchmark: `pager serve` taking PagerDuty Events v2 over loopback.

8 client processes, each on one keep-alive connection (http.client), POST
trigger events to /v2/enqueue of a real `pager serve` process (fresh
database, one service with a routing key and no escalation policy, 1,000
dedup keys: mostly alerts added to open incidents), each waiting for its
202 (= committed) before the next. Measured in the same run: a bare
standard-library ThreadingHTTPServer (Nagle off, like serve's) that reads
each body and answers 202 without a database — the limit of the stack.

Figures: events/s and p99 latency for both, serve's share of the bare rate,
serve's RSS after a warm-up and at the end (flat = no growth per event), and
a check that every acknowledged event is in the database.

    python bench/serve.py              # 100,000 events
    python bench/serve.py --quick      # 20,000 events
    python bench/run.py --only serve

Targets: >= 2,000 events/s, p99 <= 50 ms, >= 1/3 of the bare server's rate,
RSS growth < 20 MB over the run.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import select
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

CLIENTS = 8
EVENTS, QUICK_EVENTS = 100_000, 20_000
WARMUP = 2_000
KEYS = 1_000
ROUTING_KEY = "0123456789abcdef0123456789abcdef"
CONFIG = f"""\
timezone: UTC
services:
  web: {{routing_key: {ROUTING_KEY}}}
"""

BARE = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BODY = b'{"status": "success", "message": "Event processed", "dedup_key": "k"}'
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
print("listening on http://127.0.0.1:%d" % s.server_address[1], file=sys.stderr, flush=True)
s.serve_forever()
"""


def _listening(proc: subprocess.Popen, timeout: float = 60) -> int:
    """The port from the child's `listening on http://HOST:PORT` line."""
    deadline, buffered = time.monotonic() + timeout, b""
    fd = proc.stderr.fileno()
    while time.monotonic() < deadline:
        if select.select([fd], [], [], 0.2)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffered += chunk
            for line in buffered.decode(errors="replace").splitlines():
                if line.startswith("listening on "):
                    return int(line.rsplit(":", 1)[1])
    proc.kill()
    raise RuntimeError(f"server did not start: {buffered!r}")


def _client(args: tuple[int, int, int, int]) -> tuple[list[float], list[str]]:
    """One keep-alive connection sending `count` events; (latencies, acknowledged keys)."""
    port, worker, start, count = args
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, keys = [], []
    headers = {"Content-Type": "application/json"}
    for i in range(start, start + count):
        key = f"bench-{(i * 7919) % KEYS}"
        body = json.dumps({"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": key,
                           "payload": {"summary": f"Host {key} is down", "source": f"host-{worker}",
                                       "severity": "warning", "custom_details": {"n": i}}})
        began = time.perf_counter()
        con.request("POST", "/v2/enqueue", body=body, headers=headers)
        response = con.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        if response.status == 202:
            keys.append(key)
    con.close()
    return latencies, keys


def _load(port: int, events: int, first: int = 0) -> tuple[float, list[float], int]:
    """`events` events from CLIENTS processes; (seconds, latencies, acknowledged)."""
    share = events // CLIENTS
    jobs = [(port, w, first + w * share, share) for w in range(CLIENTS)]
    with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
        began = time.perf_counter()
        results = pool.map(_client, jobs)
        seconds = time.perf_counter() - began
    latencies = [x for lat, _ in results for x in lat]
    return seconds, latencies, sum(len(k) for _, k in results)


def _p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[int(len(ordered) * 0.99) - 1] * 1000


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(proc: subprocess.Popen) -> int:
    proc.terminate()
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def bare(events: int) -> tuple[float, float]:
    proc = subprocess.Popen([sys.executable, "-c", BARE], stderr=subprocess.PIPE, env=common.child_env())
    try:
        port = _listening(proc)
        _load(port, WARMUP)
        cpu = _cpu_s(proc.pid)
        seconds, latencies, _ = _load(port, events)
        cpu = _cpu_s(proc.pid) - cpu
    finally:
        _stop(proc)
    return events / seconds, _p99(latencies), cpu / events * 1000


def serve(events: int, log=common.stderr_log) -> dict:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        db, config = Path(tmp) / "pager.db", Path(tmp) / "serve.yaml"
        config.write_text(CONFIG)
        env = common.child_env(PAGER_DB=str(db))
        subprocess.run([sys.executable, "-m", "pager_cli", "schedules", "apply", str(config)], env=env, check=True,
                       capture_output=True, cwd=common.ROOT)
        proc = subprocess.Popen([sys.executable, "-m", "pager_cli", "serve", "--listen", "127.0.0.1:0",
                                 "--interval", "15s"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env,
                                cwd=common.ROOT)
        try:
            port = _listening(proc)
            _load(port, WARMUP, first=events)
            rss_start, cpu = _rss_mb(proc.pid), _cpu_s(proc.pid)
            log(f"serve: {events:,} events from {CLIENTS} clients…")
            seconds, latencies, acknowledged = _load(port, events)
            rss_end, cpu = _rss_mb(proc.pid), _cpu_s(proc.pid) - cpu
        finally:
            code = _stop(proc)
        con = sqlite3.connect(db)
        stored = con.execute("SELECT sum(alert_count) FROM incident").fetchone()[0]
        con.close()
    return {"rate": events / seconds, "p99": _p99(latencies), "cpu_ms": cpu / events * 1000, "rss_start": rss_start, "rss_end": rss_end,
            "acknowledged": acknowledged, "stored": stored, "expected": events + WARMUP, "exit": code}


def run(quick: bool = False) -> list[tuple[str, object, str]]:
    common.prepare_environment()
    events = QUICK_EVENTS if quick else EVENTS
    bare_rate, bare_p99, bare_cpu = bare(events)
    s = serve(events)
    return [
        (f"serve: PagerDuty events/s ({CLIENTS} keep-alive clients, {events:,} events)", round(s["rate"]), ">= 2000"),
        ("serve: p99 latency (ms), 202 after commit", round(s["p99"], 1), "<= 50"),
        ("bare stdlib server, no database: requests/s", round(bare_rate), "reference"),
        ("bare stdlib server: p99 latency (ms)", round(bare_p99, 1), "reference"),
        ("serve: server CPU per event (ms)", round(s["cpu_ms"], 3), "reference"),
        ("bare stdlib server: CPU per request (ms)", round(bare_cpu, 3), "reference"),
        ("serve / bare rate", round(s["rate"] / bare_rate, 2), ">= 0.33"),
        ("serve: RSS after warm-up (MB)", round(s["rss_start"], 1), "reference"),
        (f"serve: RSS after {events:,} events (MB)", round(s["rss_end"], 1), "reference"),
        ("serve: RSS growth over the run (MB)", round(s["rss_end"] - s["rss_start"], 1), "< 20"),
        ("serve: events acknowledged and not in the database", s["expected"] - s["stored"], "<= 0"),
        ("serve: exit code on SIGTERM", s["exit"], "<= 0"),
    ]


def main() -> int:
    rows = run(quick="--quick" in sys.argv[1:])
    for name, value, target in rows:
        print(f"{name:<70} {value!s:>10}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
