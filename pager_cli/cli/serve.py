"""`pager serve`: alerts over HTTP (PRODUCT.md §10), and the tick of `watch`
every --interval, in one process. The HTTP code is `pager_cli.serve`,
imported only here, only when the command runs."""

from __future__ import annotations

import threading
from typing import Annotated, Optional

import typer

from . import output
from .context import get


def serve(
    ctx: typer.Context,
    listen: Annotated[Optional[str], typer.Option("--listen", metavar="HOST:PORT", help="Address to listen on (default: the config's serve.listen, else 127.0.0.1:8080; port 0 picks a free one).")] = None,
    interval: Annotated[str, typer.Option("--interval", metavar="DURATION", help="Time between ticks (escalations, deliveries), at least 1s.")] = "15s",
    read_timeout: Annotated[str, typer.Option("--read-timeout", metavar="DURATION", help="Time a client has to send a request's headers and body; slower ones are cut off.")] = "10s",
) -> None:
    """Take alerts over HTTP: PagerDuty Events v2, Alertmanager and Grafana
    webhooks, `trigger -` streams, ack links; and tick like `watch`.

    Prints `listening on http://HOST:PORT` on stderr once it answers.
    SIGTERM or Ctrl-C: stops accepting, finishes the requests in flight, exit 0.
    Beyond loopback it needs serve.token in the config.
    """
    from ..app import serve as app
    from ..errors import PagerError, UsageError
    from ..times import parse_duration
    from .escalation import Printer, run_tick
    from .watch import StopSignals, parse_interval

    c = get(ctx)
    every = parse_interval(interval).total_seconds()
    timeout = parse_duration(read_timeout).total_seconds()
    if timeout <= 0:
        raise UsageError(f"--read-timeout {read_timeout!r} must be more than 0s")
    settings = app.settings(c.db())
    host, port = app.listen_address(listen or settings.listen)
    if not app.loopback(host) and not settings.token:
        raise UsageError(f"refusing to listen on {host} without a token",
                         hint='set serve.token in the config (token: "${PAGER_SERVE_TOKEN}") and apply it,'
                              " or listen on 127.0.0.1")
    from ..serve import service

    clock = c.clock().moving()
    lock, printer = threading.Lock(), Printer(c.json)

    def on_tick() -> None:
        with lock:
            run_tick(c, clock, printer)

    def on_batch(batch) -> None:  # noqa: ANN001
        if batch.pages:
            with lock:
                output.pages(batch.pages, c.json)

    def on_sent(outcomes: list) -> None:
        with lock:
            output.deliveries(outcomes)

    options = service.Options(host, port, settings.token, every, timeout)
    try:
        with StopSignals(ignore_after_stop=c.process_ends_after) as stop:
            def wait() -> None:
                while not stop.requested:
                    stop.sleep(3600)

            service.run(c.db(), clock, options, service.Hooks(on_tick, on_batch, on_sent, output.say, wait))
    except OSError as e:
        raise PagerError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    except KeyboardInterrupt:
        pass


def register(app: typer.Typer) -> None:
    app.command()(serve)
