"""Heartbeats (PRODUCT.md §12): dead-man switches for cron jobs. Late at last
ping + interval (never pinged: applied + interval), which opens the incident
`heartbeat:NAME` at that instant; the next ping resolves it."""
