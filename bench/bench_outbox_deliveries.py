"""Benchmark: 1,000 deliveries due at once, through the whole outbox.

1,000 incidents are opened (`lifecycle.trigger`, which writes each page's
delivery in its transaction) for a user whose one webhook contact points at a
local receiver answering 200 after 20 ms (a ThreadingHTTPServer in a process
of its own, so it does not share this process's GIL). The contact's rate is
raised so that none is held for a digest. Then one `outbox.run` claims, sends
in parallel and records them all. Figures: the run's time and deliveries per
second, beside the limit parallelism ÷ latency.

    python bench/bench_outbox_deliveries.py            # 1,000 deliveries
    python bench/bench_outbox_deliveries.py --quick    # 200

Target: at least 200 deliveries a second.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

sys.path.insert(0, str(common.ROOT))

from bench_deliveries import LATENCY, TARGET, receiver  # noqa: E402

DELIVERIES = 1_000
QUICK = 200
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def measure(count: int) -> tuple[float, int, int]:
    """(seconds for outbox.run, deliveries sent, deliveries in the database)."""
    import sqlalchemy as sa

    from pager_cli.config.apply import apply_config
    from pager_cli.config.load import load_config_text
    from pager_cli.incidents import lifecycle
    from pager_cli.notify import outbox
    from pager_cli.notify.channels import webhook
    from pager_cli.store import tables as m
    from pager_cli.store.db import open_database

    with receiver() as port:
        config = load_config_text(f"""
users:
  alice:
    contacts: {{hook: {{webhook: "http://127.0.0.1:{port}/hook", secret: "bench", rate: {count * 2}/15m}}}}
    notify: [{{contact: hook}}]
escalation_policies: {{p: {{levels: [{{targets: ["user:alice"], delay: 1h}}]}}}}
services: {{payments: {{escalation_policy: p}}}}
""", env={})
        with tempfile.TemporaryDirectory() as folder:
            db = open_database(str(Path(folder) / "pager.db"))
            with db.write() as session:
                apply_config(session, config, T0)
            with db.write() as session:
                for n in range(count):
                    lifecycle.trigger(session, T0, "payments", f"disk {n} full", "critical")
            began = time.perf_counter()
            outcomes = outbox.run(db, T0, deadline_s=120, limit=count)
            elapsed = time.perf_counter() - began
            webhook.close_idle()
            d = m.deliveries
            with db.read() as session:
                stored = session.connection().execute(
                    sa.select(sa.func.count()).select_from(d).where(d.c.state == "sent")).scalar()
            db.close()
    sent = sum(o.state == "sent" for o in outcomes)
    if sent != count:
        errors = sorted({o.error for o in outcomes if o.state != "sent"})
        raise RuntimeError(f"only {sent} of {count} deliveries sent: {errors[:5]}")
    return elapsed, sent, stored


def run(quick: bool = False) -> list[tuple[str, object, str]]:
    from pager_cli.notify.channels import DEFAULT_PARALLEL

    count = QUICK if quick else DELIVERIES
    elapsed, sent, stored = measure(count)
    return [
        (f"outbox.run: {count:,} deliveries due at once (receiver answers in 20 ms), per second", sent / elapsed,
         f">= {TARGET}"),
        ("  total time (claim, send, record), s", elapsed, "reference"),
        (f"  theoretical limit: {DEFAULT_PARALLEL} in parallel ÷ 20 ms, per second", DEFAULT_PARALLEL / LATENCY,
         "reference"),
        ("  rows recorded sent", stored, f">= {count}"),
    ]


if __name__ == "__main__":
    for figure, value, target in run(quick="--quick" in sys.argv[1:]):
        shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
        print(f"{figure}: {shown} ({target})")
