"""Channels against real peers: a local HTTP server (pytest-httpserver) for
webhooks and Apprise's json://, a local SMTP server (aiosmtpd, plain, STARTTLS
and implicit TLS with a certificate made here) for email, and real child
processes for commands. No test asserts a wall-clock time: parallelism and
deadlines are shown by the order of events."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from pager_cli.notify.channels import FAILED, RETRY, SENT, Contact, Job, Message, Result, SmtpConfig, send, send_many

SECRET = "hmac-secret-5f1c2e"
TOKEN = "Bearer tok-9a8b7c6d"
DATABASE_ID = "db-3c1f"
INCIDENT = {
    "id": 12, "service": "payments", "title": "DB connection failed", "severity": "critical",
    "status": "triggered", "dedup_key": "db", "alert_count": 3, "assignees": ["alice"],
    "escalation_level": 0, "created_at": "2026-11-23T09:00:00Z", "last_alert_at": "2026-11-23T09:04:00Z",
    "acknowledged_at": None, "acknowledged_by": None, "resolved_at": None, "resolved_by": None,
    "details": {"host": "db-1", "error": "too many connections"},
}


def delivery(contact: str = "hook", **extra) -> dict:
    doc = {"event": "page", "delivery": 7, "attempt": 1, "user": "alice", "contact": contact, "level": 0,
           "text": "[CRITICAL] payments: DB connection failed (#12)",
           "ack_url": "https://pager.example.com/ack/abc", "incident": dict(INCIDENT)}
    doc.update(extra)
    return doc


def message(contact: str = "hook", **extra) -> Message:
    return Message(delivery(contact, **extra), database_id=DATABASE_ID)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_clean(*results: Result, secrets: tuple[str, ...] = ()) -> None:
    """No error text holds a secret, a token, a URL or a header value."""
    for result in results:
        text = result.error or ""
        for secret in (SECRET, TOKEN, "tok-9a8b7c6d", "smtp-pw-77", "/hook/s3cr3t", "127.0.0.1", "://", *secrets):
            assert secret not in text, (secret, result)


@pytest.fixture
def server():
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    released = threading.Event()
    srv.released = released  # handlers that hang wait on this; set at teardown so the server stops
    yield srv
    released.set()
    srv.clear()
    if srv.is_running():
        srv.stop()
    from pager_cli.notify.channels import webhook

    webhook.close_idle()


def hook(srv: HTTPServer, path: str = "/hook/s3cr3t", **options) -> Contact:
    options.setdefault("secret", SECRET)
    options.setdefault("headers", {"Authorization": TOKEN, "X-Team": "payments"})
    return Contact("hook", "webhook", srv.url_for(path), **options)


# --------------------------------------------------------------------------
# webhook


def test_webhook_posts_the_delivery_signed_with_an_idempotency_key(server):
    server.expect_oneshot_request("/hook/s3cr3t", method="POST").respond_with_data("ok")
    msg = message()
    result = send(hook(server), msg)
    assert (result.status, result.error) == (SENT, None)
    (request, _), = server.log
    body = request.get_data()
    assert json.loads(body) == delivery()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"] == TOKEN
    assert request.headers["X-Team"] == "payments"
    assert request.headers["Idempotency-Key"] == f"7-{DATABASE_ID}"
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-Pager-Signature"], expected)


def test_webhook_without_a_secret_sends_no_signature(server):
    server.expect_oneshot_request("/plain").respond_with_data("", status=204)
    assert send(hook(server, "/plain", secret=None, headers={}), message()).status == SENT
    (request, _), = server.log
    assert "X-Pager-Signature" not in request.headers


@pytest.mark.slow
@pytest.mark.parametrize(("status", "expected"), [
    (500, RETRY), (503, RETRY), (408, RETRY), (429, RETRY), (404, FAILED), (400, FAILED), (401, FAILED)])
def test_webhook_status_decides_retry_or_failed(server, status, expected):
    server.expect_request("/hook/s3cr3t").respond_with_data("no", status=status)
    result = send(hook(server), message())
    assert (result.status, result.error) == (expected, f"HTTP {status}")
    assert_clean(result)


def test_webhook_redirect_fails_and_is_not_followed(server):
    server.expect_request("/hook/s3cr3t").respond_with_data(
        "", status=302, headers={"Location": server.url_for("/elsewhere")})
    server.expect_request("/elsewhere").respond_with_data("followed")
    result = send(hook(server), message())
    assert (result.status, result.error) == (FAILED, "HTTP 302")
    assert [req.path for req, _ in server.log] == ["/hook/s3cr3t"]


def test_webhook_past_its_timeout_is_retried(server):
    def slow(request):
        server.released.wait(10)
        return Response("late")

    server.expect_request("/hook/s3cr3t").respond_with_handler(slow)
    result = send(hook(server, timeout=timedelta(milliseconds=300)), message())
    assert (result.status, result.error) == (RETRY, "timed out after 0.3s")


def test_webhook_connection_refused_is_retried():
    port = free_port()
    contact = Contact("hook", "webhook", f"http://127.0.0.1:{port}/hook/s3cr3t", headers={"Authorization": TOKEN})
    result = send(contact, message())
    assert (result.status, result.error) == (RETRY, "connection refused")
    assert_clean(result)


class KeepAliveReceiver:
    """A stdlib HTTP/1.1 receiver that keeps connections open until idle for
    `idle` seconds; it records each request's client port and each closed connection."""

    def __init__(self, idle: float):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        receiver = self
        self.ports: list[int] = []
        self.closed = threading.Semaphore(0)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle

            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.ports.append(self.client_address[1])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def finish(self):
                super().finish()
                receiver.closed.release()

            def log_message(self, *args):  # noqa: ANN002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook/s3cr3t"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhook_reuses_its_connection_and_survives_the_receiver_closing_it():
    from pager_cli.notify.channels import webhook

    receiver = KeepAliveReceiver(idle=0.3)
    contact = Contact("hook", "webhook", receiver.url)
    try:
        assert [send(contact, message()).status for _ in range(3)] == [SENT] * 3
        assert len(set(receiver.ports)) == 1  # one kept-alive connection carried all three
        assert receiver.closed.acquire(timeout=10)  # the receiver dropped the idle connection
        assert send(contact, message()).status == SENT  # the dead one is noticed; a new one carries it
        assert len(receiver.ports) == 4 and len(set(receiver.ports)) == 2
    finally:
        webhook.close_idle()
        receiver.stop()


def test_webhook_bad_url_and_bad_header_fail_without_showing_them():
    bad_scheme = Contact("hook", "webhook", "ftp://127.0.0.1/hook/s3cr3t")
    bad_header = Contact("hook", "webhook", f"http://127.0.0.1:{free_port()}/hook/s3cr3t",
                         headers={"Authorization": TOKEN + "\r\nX-Injected: 1"})
    results = [send(bad_scheme, message()), send(bad_header, message())]
    assert [r.status for r in results] == [FAILED, FAILED]
    assert_clean(*results)


# --------------------------------------------------------------------------
# email


class Inbox:
    def __init__(self, code: str | None = None):
        self.mails: list[tuple[str, list[str], bytes, bool]] = []
        self.code = code  # e.g. "550 5.1.1 no such user" to refuse every recipient

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if self.code:
            return self.code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        self.mails.append((envelope.mail_from, envelope.rcpt_tos, envelope.content,
                           session.ssl is not None))
        return "250 OK"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, and its key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pager test SMTP")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def smtp_server(inbox: Inbox, certificate=None, mode: str = "none", logins: list | None = None):  # noqa: ANN001, ANN201
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    kwargs: dict = {}
    if certificate is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*map(str, certificate))
        kwargs["ssl_context" if mode == "ssl" else "tls_context"] = context
        if mode == "starttls":
            kwargs["require_starttls"] = True
    if logins is not None:
        def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
            logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=auth_data.password == b"smtp-pw-77", handled=False)

        kwargs["authenticator"] = authenticator
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


def mail_contact(**options) -> Contact:
    return Contact("mail", "email", "alice@example.com", **options)


def test_email_plain_delivers_one_mail_with_the_text_as_subject():
    inbox = Inbox()
    controller = smtp_server(inbox)
    try:
        smtp = {"host": "127.0.0.1", "port": controller.port, "tls": "none", "from": "pager@example.com"}
        result = send(mail_contact(), message("mail"), smtp)
    finally:
        controller.stop()
    assert (result.status, result.error) == (SENT, None)
    (sender, recipients, content, over_tls), = inbox.mails
    assert (sender, recipients, over_tls) == ("pager@example.com", ["alice@example.com"], False)
    mail = message_from_bytes(content, policy=policy.default)
    assert mail["Subject"] == "[CRITICAL] payments: DB connection failed (#12)"
    assert mail.get_content_type() == "text/plain"
    body = mail.get_content()
    for expected in ("Service:  payments", "Severity: critical", "Status:   triggered", "Alerts:   3",
                     "Opened:   2026-11-23 09:00 UTC", "Level:    0", "host: db-1",
                     "error: too many connections", "pager ack 12", "https://pager.example.com/ack/abc"):
        assert expected in body, (expected, body)


def test_email_starttls_with_login_verifies_the_certificate(certificate):
    inbox, logins = Inbox(), []
    controller = smtp_server(inbox, certificate, "starttls", logins)
    smtp = SmtpConfig(host="127.0.0.1", port=controller.port, tls="starttls", sender="pager@example.com",
                      username="pager", password="smtp-pw-77", cafile=str(certificate[0]))
    try:
        sent = send(mail_contact(), message("mail"), smtp)
        untrusted = send(mail_contact(), message("mail"), SmtpConfig(
            host="127.0.0.1", port=controller.port, tls="starttls", username="pager", password="smtp-pw-77"))
        refused = send(mail_contact(), message("mail"), SmtpConfig(
            host="127.0.0.1", port=controller.port, tls="starttls", username="pager", password="wrong-pw-11",
            cafile=str(certificate[0])))
    finally:
        controller.stop()
    assert (sent.status, sent.error) == (SENT, None)
    assert [(m[1], m[3]) for m in inbox.mails] == [(["alice@example.com"], True)]  # over TLS, once
    assert logins[0] == (b"pager", b"smtp-pw-77")
    assert (untrusted.status, untrusted.error) == (FAILED, "TLS certificate verify failed")
    assert (refused.status, refused.error) == (FAILED, "SMTP login refused 535")
    assert_clean(sent, untrusted, refused, secrets=("wrong-pw-11",))


@pytest.mark.slow
def test_email_implicit_tls(certificate):
    inbox = Inbox()
    controller = smtp_server(inbox, certificate, "ssl")
    config = {"host": "127.0.0.1", "port": controller.port, "tls": "ssl", "from": "pager@example.com",
              "cafile": str(certificate[0])}
    try:
        result = send(mail_contact(), message("mail"), config)
        plain = send(mail_contact(timeout=2), message("mail"), {**config, "tls": "none"})
    finally:
        controller.stop()
    assert (result.status, result.error) == (SENT, None)
    assert len(inbox.mails) == 1
    assert plain.status == RETRY  # the server speaks TLS only: a plain client gets no greeting


def test_email_starttls_to_a_server_without_it_fails():
    controller = smtp_server(Inbox())
    try:
        result = send(mail_contact(), message("mail"), {"host": "127.0.0.1", "port": controller.port})
    finally:
        controller.stop()
    assert (result.status, result.error) == (FAILED, "SMTP server does not offer STARTTLS")


@pytest.mark.parametrize(("code", "expected"), [("550 5.1.1 no such user", (FAILED, "SMTP 550")),
                                                ("451 4.3.0 try later", (RETRY, "SMTP 451"))])
def test_email_refused_recipient(code, expected):
    inbox = Inbox(code)
    controller = smtp_server(inbox)
    try:
        result = send(mail_contact(), message("mail"), {"host": "127.0.0.1", "port": controller.port, "tls": "none"})
    finally:
        controller.stop()
    assert (result.status, result.error) == expected
    assert inbox.mails == []


def test_email_without_a_server_is_retried_and_without_config_failed():
    down = send(mail_contact(), message("mail"), {"host": "127.0.0.1", "port": free_port(), "tls": "none",
                                                  "username": "pager", "password": "smtp-pw-77"})
    assert (down.status, down.error) == (RETRY, "connection refused")
    assert (send(mail_contact(), message("mail")).status, send(mail_contact(), message("mail")).error) == (
        FAILED, "no smtp server configured")
    assert_clean(down)


# --------------------------------------------------------------------------
# command


def script(tmp_path: Path, body: str, name: str = "notify.py") -> list[str]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_command_gets_the_json_on_stdin_and_pager_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("FROM_PARENT", "kept")
    monkeypatch.setenv("PAGER_DB", "postgresql://pager:dbpw@db/pager")
    out = tmp_path / "seen.json"
    argv = script(tmp_path, f"""
        import json, os, sys
        seen = {{"stdin": sys.stdin.read(), "argv": sys.argv[1:],
                 "env": {{k: v for k, v in os.environ.items() if k.startswith(("PAGER_", "FROM_", "TOKEN", "PATH", "HOME"))}}}}
        open({str(out)!r}, "w").write(json.dumps(seen))
    """) + ["--loud"]
    contact = Contact("phone", "command", argv, env={"TOKEN": "tok-9a8b7c6d"})
    result = send(contact, message("phone"))
    assert (result.status, result.error) == (SENT, None)
    seen = json.loads(out.read_text())
    assert json.loads(seen["stdin"]) == delivery("phone")
    assert seen["argv"] == ["--loud"]
    env = seen["env"]
    assert {k: v for k, v in env.items() if k.startswith("PAGER_")} == {
        "PAGER_EVENT": "page", "PAGER_INCIDENT": "12", "PAGER_SERVICE": "payments",
        "PAGER_SEVERITY": "critical", "PAGER_TITLE": "DB connection failed", "PAGER_USER": "alice",
        "PAGER_CONTACT": "phone"}  # the parent's PAGER_DB and PAGER_USER are not passed on
    assert env["FROM_PARENT"] == "kept" and env["TOKEN"] == "tok-9a8b7c6d"
    assert env["PATH"] == os.environ["PATH"] and env["HOME"] == os.environ["HOME"]


def test_command_alert_text_is_never_a_shell_command(tmp_path):
    marker = tmp_path / "pwned"
    out = tmp_path / "title"
    argv = script(tmp_path, f"import os; open({str(out)!r}, 'w').write(os.environ['PAGER_TITLE'])")
    evil = f"x; touch {marker} $(touch {marker}) `touch {marker}`\x00end"
    msg = Message({**delivery("phone"), "incident": {**INCIDENT, "title": evil}})
    assert send(Contact("phone", "command", argv), msg).status == SENT
    assert not marker.exists()
    assert out.read_text() == evil.replace("\x00", "\\x00")


@pytest.mark.parametrize(("code", "expected"), [(75, (RETRY, "exit 75")), (3, (FAILED, "exit 3")),
                                                (1, (FAILED, "exit 1"))])
def test_command_exit_code_decides(tmp_path, code, expected):
    argv = script(tmp_path, f"import sys; sys.stdin.read(); sys.exit({code})")
    result = send(Contact("phone", "command", argv), message("phone"))
    assert (result.status, result.error) == expected


@pytest.mark.slow
def test_command_timeout_kills_its_whole_process_group(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    argv = script(tmp_path, f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pidfile)!r}, "w").write(str(child.pid))
        time.sleep(60)
    """)
    result = send(Contact("phone", "command", argv, timeout=1.5), message("phone"))
    assert (result.status, result.error) == (RETRY, "timed out after 1.5s")
    grandchild = int(pidfile.read_text())
    for _ in range(200):  # SIGKILL is delivered at once; the zombie is reaped by init soon after
        try:
            with open(f"/proc/{grandchild}/stat") as stat:
                if stat.read().split(") ", 1)[1].startswith("Z"):
                    break
        except FileNotFoundError:
            break
        threading.Event().wait(0.05)
    else:
        pytest.fail("the command's child survived the timeout")


def test_command_missing_program_fails(tmp_path):
    result = send(Contact("phone", "command", [str(tmp_path / "bin" / "call-me"), "--loud"]), message("phone"))
    assert (result.status, result.error) == (FAILED, "cannot run call-me: not found")


# --------------------------------------------------------------------------
# apprise


@pytest.mark.slow
def test_apprise_json_url_delivers_title_and_body(server):
    server.expect_oneshot_request("/ntfy/s3cr3t", method="POST").respond_with_data("ok")
    url = f"json://127.0.0.1:{server.port}/ntfy/s3cr3t"
    result = send(Contact("push", "apprise", url), message("push"))
    assert (result.status, result.error) == (SENT, None)
    (request, _), = server.log
    got = json.loads(request.get_data())
    assert got["title"] == "[CRITICAL] payments: DB connection failed (#12)"
    assert "pager ack 12" in got["message"] and "Service:  payments" in got["message"]


@pytest.mark.slow
@pytest.mark.parametrize(("status", "expected"), [(404, (FAILED, "HTTP 404")), (500, (RETRY, "HTTP 500"))])
def test_apprise_failure_is_judged_by_the_status(server, status, expected):
    server.expect_request("/ntfy/s3cr3t").respond_with_data("no", status=status)
    result = send(Contact("push", "apprise", f"json://127.0.0.1:{server.port}/ntfy/s3cr3t"), message("push"))
    assert (result.status, result.error) == expected


def test_apprise_unreachable_is_retried_and_a_bad_url_failed():
    down = send(Contact("push", "apprise", f"json://127.0.0.1:{free_port()}/ntfy/s3cr3t"), message("push"))
    bad = send(Contact("push", "apprise", "nosuchservice://s3cr3t@x"), message("push"))
    assert down.status == RETRY and down.error.startswith("apprise: connection")
    assert (bad.status, bad.error) == (FAILED, "not a URL Apprise can send to")
    assert_clean(down, bad, secrets=("s3cr3t",))


@pytest.mark.slow
def test_apprise_logs_never_show_the_url_even_with_debug_logging(tmp_path):
    """A process that logs everything at DEBUG to stderr sees no URL token from Apprise or urllib3."""
    code = textwrap.dedent(f"""
        import logging, socket
        logging.basicConfig(level=logging.DEBUG)
        from pager_cli.notify.channels import Contact, Message, send
        from tests_helper_port import port
        r = send(Contact("push", "apprise", f"json://127.0.0.1:{{port}}/ntfy/s3cr3t-path?token=tok-q"),
                 Message({{"event": "test", "delivery": 1, "text": "hello"}}))
        logging.getLogger("demo").warning("still logging")
        print(r.status, r.error)
    """)
    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.expect_request("/ntfy/s3cr3t-path").respond_with_data("no", status=503)
    srv.start()
    try:
        (tmp_path / "tests_helper_port.py").write_text(f"port = {srv.port}\n")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    finally:
        srv.stop()
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "retry HTTP 503"
    assert "still logging" in proc.stderr  # the process's own logging is untouched
    assert "s3cr3t" not in proc.stderr + proc.stdout and "tok-q" not in proc.stderr + proc.stdout


# --------------------------------------------------------------------------
# send_many


def test_send_many_a_slow_contact_holds_up_no_other(server):
    """The slow receiver answers only once the fast contact's result is in:
    sent one after the other, the slow one would time out instead."""
    fast_done = threading.Event()

    def slow(request):
        fast_done.wait(20)
        return Response("finally")

    server.expect_request("/slow").respond_with_handler(slow)
    server.expect_request("/fast").respond_with_data("ok")
    order: list[str] = []

    def on_result(index: int, result: Result) -> None:
        order.append(("slow", "fast")[index])
        if index == 1:
            fast_done.set()

    jobs = [Job(hook(server, "/slow", timeout=15), message()), Job(hook(server, "/fast"), message())]
    results = send_many(jobs, deadline_s=30, parallel=4, on_result=on_result)
    assert order == ["fast", "slow"]
    assert [(r.status, r.error) for r in results] == [(SENT, None), (SENT, None)]


@pytest.mark.slow
def test_send_many_deadline_leaves_started_and_unstarted_jobs_to_retry(server):
    entered = threading.Event()

    def hang(request):
        entered.set()
        server.released.wait(20)
        return Response("too late")

    server.expect_request("/hang").respond_with_handler(hang)
    server.expect_request("/fast").respond_with_data("ok")
    jobs = [Job(hook(server, "/fast"), message()), Job(hook(server, "/hang", timeout=20), message()),
            Job(hook(server, "/fast"), message())]
    results = send_many(jobs, deadline_s=1, parallel=1)
    assert entered.is_set()
    assert [(r.status, r.attempted) for r in results] == [(SENT, True), (RETRY, True), (RETRY, False)]
    assert results[1].error == "deadline: no answer within 1s"
    assert results[2].error == "deadline: not attempted"
    assert [req.path for req, _ in server.log if req.path == "/fast"] == ["/fast"]


def test_send_many_mixes_kinds_and_keeps_the_jobs_order(server, tmp_path):
    server.expect_request("/hook/s3cr3t").respond_with_data("ok")
    ok = script(tmp_path, "import sys; sys.stdin.read()", "ok.py")
    jobs = [Job(Contact("phone", "command", ok), message("phone")),
            Job(hook(server), message()),
            Job(Contact("phone", "command", script(tmp_path, "import sys; sys.exit(3)", "bad.py")), message("phone")),
            Job(mail_contact(), message("mail"))]
    results = send_many(jobs, deadline_s=30, parallel=3)
    assert [(r.status, r.error) for r in results] == [
        (SENT, None), (SENT, None), (FAILED, "exit 3"), (FAILED, "no smtp server configured")]


# --------------------------------------------------------------------------
# secrets and imports


def test_no_secret_reaches_a_result_or_a_repr(server, tmp_path):
    secrets = (SECRET, "tok-9a8b7c6d", "s3cr3t", "smtp-pw-77", "userpw-41")
    server.expect_request("/hook/s3cr3t").respond_with_data("no", status=500)
    contacts = [
        hook(server),
        Contact("hook2", "webhook", f"http://user:userpw-41@127.0.0.1:{free_port()}/hook/s3cr3t?key={SECRET}",
                headers={"Authorization": TOKEN}, secret=SECRET),
        Contact("hook3", "webhook", f"http://127.0.0.1:{free_port()}:bad/s3cr3t"),
        Contact("push", "apprise", f"json://127.0.0.1:{free_port()}/s3cr3t/{SECRET}"),
        Contact("phone", "command", [str(tmp_path / "call-me"), SECRET], env={"TOKEN": "tok-9a8b7c6d"}),
        mail_contact(),
    ]
    smtp = {"host": "127.0.0.1", "port": free_port(), "tls": "none", "username": "u", "password": "smtp-pw-77"}
    results = send_many([Job(c, message(), smtp) for c in contacts], deadline_s=30)
    assert all(r.status in (RETRY, FAILED) for r in results), results
    for text in [r.error or "" for r in results] + [repr(c) for c in contacts] + [repr(SmtpConfig.from_mapping(smtp))]:
        for secret in secrets:
            assert secret not in text, (secret, text)
    assert not any("127.0.0.1" in (r.error or "") for r in results)


def test_importing_channels_loads_no_sending_library():
    code = ("import sys, pager_cli.notify.channels; "
            "print(sorted(m for m in ('apprise', 'smtplib', 'http.client', 'urllib.request', 'ssl') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_plain_text_of_a_digest_names_every_incident():
    doc = {"event": "digest", "delivery": 9, "text": "3 incidents for alice", "ack_url": None,
           "incidents": [{**INCIDENT, "id": n, "title": f"disk {n} full"} for n in (4, 5, 6)]}
    text = Message(doc).plain_text
    assert all(f"#{n} [critical] payments: disk {n} full" in text for n in (4, 5, 6))
    assert "pager ack 4 5 6" in text
