"""The route table and the endpoints of `pager serve` (PRODUCT.md §10).

An endpoint is one `Route` entry: method, path pattern, function, and
whether it is public (no Bearer token: the PagerDuty endpoints, as
PagerDuty's own clients send none, /healthz, and the ack links, which carry
their own signature). Every body goes through the same reading as stdin
(`alerts.documents.records_of`, `alerts.stream.read_alerts` for /events) and
the same ingest (`app.group_commit` → `app.ingest`); an answer is sent only
after the commit.
"""

from __future__ import annotations

import hmac
import io
import json
import re
from collections.abc import Callable
from urllib.parse import unquote
from dataclasses import dataclass
from typing import Any

from ..alerts.documents import records_of
from ..alerts.json_strict import json_error_reason, limits_problem, loads_strict
from ..alerts.record import bad_record
from ..app.group_commit import Job
from ..errors import NotFound, PagerError
from . import pagerduty
from .pages import ack_page
from .wire import LATER, Request, Response, json_response

RETRY_AFTER = "5"  # seconds, with a 503


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str  # {name} matches one path segment
    endpoint: Callable[["Context", Request], Response]
    public: bool = False
    query_token: bool = False  # the token may also come as ?token= (calendar apps send no header)


class Context:
    """What the endpoints share: the database, the clock, the writer, the token,
    and `kick()`, asking the tick thread to send the deliveries due now."""

    def __init__(self, db, clock, writer, token: str | None, kick: Callable[[], None]):  # noqa: ANN001
        self.db, self.clock, self.writer, self.token, self.kick = db, clock, writer, token, kick


def _unavailable(error: Exception) -> Response:
    return json_response(503, {"error": "the database is busy or unavailable; retry"}, [("Retry-After", RETRY_AFTER)])


def _document(body: bytes) -> tuple[Any, str | None]:
    """The parsed JSON of a body, or the reason it is not usable JSON."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, "the body is not UTF-8"
    try:
        value = loads_strict(text)
    except ValueError as e:
        return None, json_error_reason(e, text)
    return value, limits_problem(value, text)


def _numbered(alerts: list) -> list:
    for number, alert in enumerate(alerts, 1):
        alert.record = number
    return alerts


# --- endpoints ---------------------------------------------------------------


def _pagerduty(ctx: Context, request: Request, problems: Callable[[Any, str | None], list[str]], change: bool,
               accepted: Callable[[Any], Response]) -> Response:
    """One PagerDuty event (a change event when `change`): checked as PagerDuty
    checks it (`problems`), read as stdin reads it, committed, then
    `accepted(alert)`; a 400 for an event that can never be accepted, a 503
    when the database is busy."""
    document, problem = _document(request.body)
    if problem is not None:
        return pagerduty.invalid([problem])
    errors = problems(document, request.headers.get("X-Routing-Key"))
    if errors:
        return pagerduty.invalid(errors)
    alerts = _numbered(list(records_of(document)))
    if len(alerts) != 1 or alerts[0].error is not None or (alerts[0].action == "change") != change:
        return pagerduty.invalid([alerts[0].error if alerts and alerts[0].error
                                  else "not a change event" if change else "not an event"])
    job = Job(alerts, routing_key=True)
    if request.later is None:
        return _pagerduty_answer(ctx.writer.submit(job), accepted)
    later = request.later  # the writer answers: this thread goes on to the connection's next request
    ctx.writer.enqueue(job, lambda done: later(lambda: _pagerduty_answer(done, accepted)))
    return LATER


def _pagerduty_answer(job: Job, accepted: Callable[[Any], Response]) -> Response:
    """The answer to a PagerDuty event once its batch is committed (or failed)."""
    if job.rejected:
        return pagerduty.invalid([f"{job.rejected}: no service has this routing_key"])
    if job.error:
        return _unavailable(job.error)
    if job.results[0].action == "error":
        return pagerduty.invalid([job.results[0].error or "the event could not be routed"])
    return accepted(job.alerts[0])


def enqueue(ctx: Context, request: Request) -> Response:
    """POST /v2/enqueue: PagerDuty Events API v2."""
    return _pagerduty(ctx, request, pagerduty.problems, False, lambda alert: pagerduty.accepted(alert.dedup_key))


def change_enqueue(ctx: Context, request: Request) -> Response:
    """POST /v2/change/enqueue: a PagerDuty change event, timeline context only."""
    return _pagerduty(ctx, request, pagerduty.change_problems, True, lambda alert: pagerduty.change_accepted())


def alertmanager(ctx: Context, request: Request) -> Response:
    """POST /alertmanager/{service}: an Alertmanager (4) or Grafana (1) webhook body."""
    from ..alerts import alertmanager as am_format

    document, problem = _document(request.body)
    if problem is None and not (isinstance(document, dict) and am_format.matches(document)):
        problem = "not an Alertmanager or Grafana webhook body (version 4 or 1, with alerts[])"
    if problem is not None:
        return json_response(400, {"error": problem})
    return _ingest(ctx, _numbered(list(records_of(document))), request.params["service"], as_lines=False)


def events(ctx: Context, request: Request) -> Response:
    """POST /events/{service}: what `pager trigger -` takes; the NDJSON outcome lines."""
    from ..alerts.stream import read_alerts

    service = request.params["service"]
    alerts = list(read_alerts(io.BytesIO(request.body), "auto", service))
    return _ingest(ctx, alerts, service, as_lines=True)


def _ingest(ctx: Context, alerts: list, service: str, as_lines: bool) -> Response:
    if not alerts:
        alerts = [bad_record(1, "the body holds no record")]
        alerts[0].record = 1
    job = ctx.writer.submit(Job(alerts, service=service))
    if job.rejected:
        return json_response(404, {"error": job.rejected})
    if job.error:
        return _unavailable(job.error)
    outcomes = [r.to_json() for r in job.results]
    if as_lines:
        text = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in outcomes)
        return Response(200, text.encode("utf-8"), "application/x-ndjson")
    return json_response(200, {"status": "success", "records": outcomes})


def healthz(ctx: Context, request: Request) -> Response:
    from ..app.serve import healthy

    if healthy(ctx.db):
        return json_response(200, {"status": "ok"})
    return json_response(503, {"status": "unavailable"}, [("Retry-After", RETRY_AFTER)])


def ack_link(ctx: Context, request: Request) -> Response:
    """GET /ack/{token}: a page with one button; POST /ack/{token}: acknowledge."""
    from ..app import serve as app

    token = request.params["token"]
    try:
        if request.method == "GET":
            found = app.link(ctx.db, token, ctx.clock())
            return ack_page(200, found, None)
        found, done = app.acknowledge(ctx.db, token, ctx.clock())
    except app.BadLink as e:
        return ack_page(410 if e.expired else 403, None, str(e))
    except PagerError as e:
        if e.exit_code == 1:
            raise  # a busy database: 503, by the dispatch
        return ack_page(409, None, e.message)
    if done.error is not None:
        return ack_page(409, found, done.error.message)
    ctx.kick()
    return ack_page(200, found, done.message or f"Incident #{found.incident} acknowledged as {found.user}.")


def heartbeat(ctx: Context, request: Request) -> Response:
    """POST /heartbeat/{name}: a ping (PRODUCT.md §12), as `pager heartbeat NAME`."""
    from ..app.heartbeats import ping

    pinged = ping(ctx.db, ctx.clock, request.params["name"])
    return json_response(200, {"status": "ok", **pinged.to_json()})


def ical(ctx: Context, request: Request) -> Response:
    """GET /ical/{schedule}[?user=U]: the schedule's calendar (PRODUCT.md §13),
    now to 90 days on, for calendar subscriptions."""
    from urllib.parse import parse_qs

    from ..app.exports import ical_feed

    user = parse_qs(request.query).get("user", [None])[0]
    body = ical_feed(ctx.db, ctx.clock, request.params["schedule"], user=user)
    return Response(200, body, "text/calendar; charset=utf-8")


def metrics(ctx: Context, request: Request) -> Response:
    """GET /metrics: the Prometheus exposition of `pager metrics --format prometheus`."""
    from ..app.exports import prometheus_text

    return Response(200, prometheus_text(ctx.db, ctx.clock), "text/plain; version=0.0.4; charset=utf-8")


ROUTES: list[Route] = [
    Route("POST", "/v2/enqueue", enqueue, public=True),
    Route("POST", "/v2/change/enqueue", change_enqueue, public=True),
    Route("POST", "/alertmanager/{service}", alertmanager),
    Route("POST", "/events/{service}", events),
    Route("GET", "/ack/{token}", ack_link, public=True),
    Route("POST", "/ack/{token}", ack_link, public=True),
    Route("GET", "/healthz", healthz, public=True),
    Route("POST", "/heartbeat/{name}", heartbeat),
    Route("GET", "/ical/{schedule}", ical, query_token=True),
    Route("GET", "/metrics", metrics),
]


def _compile(pattern: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern)) + "/?$")


class Dispatch:
    """Request → route → endpoint, with the Bearer token check. What an
    endpoint raises is answered here, alike for all: a NotFound (an unknown
    heartbeat, schedule, user) is 404, a runtime PagerError (a busy database)
    503 with Retry-After; anything else is a bug (500, by the server)."""

    def __init__(self, ctx: Context, routes: list[Route] | None = None):
        self.ctx = ctx
        self.table = [(route, _compile(route.pattern)) for route in (routes or ROUTES)]

    def __call__(self, request: Request) -> Response:
        allowed = []
        for route, regex in self.table:
            found = regex.match(request.path)
            if found is None:
                continue
            if route.method != request.method:
                allowed.append(route.method)
                continue
            if not route.public and not self._authorized(request, route.query_token):
                return json_response(401, {"error": "a valid Bearer token is required"},
                                     [("WWW-Authenticate", 'Bearer realm="pager"')])
            request.params = {k: unquote(v) for k, v in found.groupdict().items()}
            try:
                return route.endpoint(self.ctx, request)
            except NotFound as e:
                return json_response(404, {"error": e.message})
            except PagerError as e:
                if e.exit_code != 1:
                    raise
                return _unavailable(e)
        if allowed:
            return json_response(405, {"error": "method not allowed"}, [("Allow", ", ".join(sorted(set(allowed))))])
        return json_response(404, {"error": "no such endpoint"})

    def _authorized(self, request: Request, query_token: bool = False) -> bool:
        if self.ctx.token is None:
            return True  # loopback only: `serve` refuses anything else without a token
        scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" and query_token:
            from urllib.parse import parse_qs

            scheme, given = "bearer", parse_qs(request.query).get("token", [""])[0]
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode("utf-8", "replace"), self.ctx.token.encode("utf-8"))
