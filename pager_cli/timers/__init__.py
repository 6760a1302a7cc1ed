"""Timers (PRODUCT.md §12) that are not escalation steps: heartbeats going late
and auto-resolve. Snooze, ack timeout and maintenance holds are due instants
of the escalation engine (`incident.next_escalation_at`), found by its read."""
