"""`pager serve` as a real process for tests: a config applied, the server
started on a free port (port 0; the address read from its `listening on`
line on stderr), plain http.client requests, and a clean stop."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import time
from urllib.parse import urlsplit

from conftest import start_pager
from scenario import KEY, scenario_yaml  # noqa: F401  (the tests import KEY from here)

TOKEN = "t0ken-for-tests-0123456789"
CONFIG = scenario_yaml(hook=True, serve=True)


def configure(cli, tmp_path, text: str = CONFIG) -> None:  # noqa: ANN001
    path = tmp_path / "serve.yaml"
    path.write_text(text)
    r = cli("schedules", "apply", path, env={"PAGER_SERVE_TOKEN": TOKEN})
    assert r.code == 0, r


class Served:
    """A running `pager serve`."""

    def __init__(self, proc: subprocess.Popen, url: str, lines: list[str]):
        self.proc, self.url, self.lines = proc, url, lines
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def connection(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | str | dict | None = None, token: str | None = TOKEN,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        """(status, headers, body) of one request on a new connection."""
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        con = self.connection()
        try:
            con.request(method, path, body=body, headers=sent)
            response = con.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            con.close()

    def post(self, path: str, body, **kw) -> tuple[int, object]:  # noqa: ANN001, ANN003
        """(status, parsed JSON answer, or the text when it is not JSON)."""
        status, _, data = self.request("POST", path, body, **kw)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data.decode()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
        """Send `sig`, wait; (exit code, the rest of stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        rest = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        return self.proc.returncode, "\n".join(self.lines) + "\n" + rest


def start(*args: str, env: dict | None = None, listen: str | None = "127.0.0.1:0", timeout: float = 30) -> Served:
    """`pager [ARGS] serve --listen LISTEN` (None: the config's) started; returns once it listens."""
    global_args, serve_args = [], []
    target = global_args
    for a in args:
        if a == "--":
            target = serve_args
            continue
        target.append(a)
    proc = start_pager(*global_args, "serve", *(["--listen", listen] if listen else []), *serve_args, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    fd = proc.stderr.fileno()
    buffered = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                text = line.decode(errors="replace")
                lines.append(text)
                if text.startswith("listening on "):
                    return Served(proc, text.split(" ", 2)[2], lines)
        elif proc.poll() is not None:
            break
    proc.kill()
    out, err = proc.communicate()
    raise AssertionError(f"serve did not start: {lines} {buffered!r} {err!r} exit {proc.returncode}")


# --- fixtures (imported by the test modules) ----------------------------------

import pytest  # noqa: E402


@pytest.fixture
def hook_file(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    """Where alice's command contact appends each delivery document."""
    path = tmp_path / "hook.ndjson"
    monkeypatch.setenv("HOOK_FILE", str(path))
    return path


@pytest.fixture
def served(cli, tmp_path, hook_file):  # noqa: ANN001, ANN201
    """The test config applied and `pager serve` running on a free port, its
    clock replayed from 2026-11-23 10:00 UTC (alice's day in `primary`)."""
    configure(cli, tmp_path)
    server = start("--now", "2026-11-23T10:00:00Z", "--", "--interval", "1s")
    yield server
    server.stop()


def deliveries_sent(path, count: int, timeout: float = 20) -> list[dict]:  # noqa: ANN001
    """The first `count` delivery documents alice's hook received (waits for them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        docs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
        if len(docs) >= count:
            return docs
        time.sleep(0.05)
    raise AssertionError(f"{count} deliveries expected, got {path.read_text() if path.exists() else 'none'}")
