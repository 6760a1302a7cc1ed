"""`pager serve`: alerts over HTTP (PRODUCT.md §10).

- `http`: the standard library's ThreadingHTTPServer, its handler (Nagle off,
  a deadline per request so a slow client is cut off, bodies up to 1 MiB), and
  the dispatch over the route table;
- `routes`: the route table, one entry per endpoint, and the endpoints;
- `pagerduty`: PagerDuty Events v2 checks and answers, as its clients expect;
- `wire`: a request and a response as plain values;
- `pages`: the ack link's HTML;
- `service`: the server, the group-commit writer and the tick, started and
  drained together.

Only `pager serve` imports this package (http.server, hmac, threading and
the rest stay out of every other command: tests/test_architecture.py).
"""
