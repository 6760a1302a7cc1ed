"""Exports (PRODUCT.md §13): on-call calendars (`ical`), the Prometheus
exposition (`prometheus`), and what a config change does to shifts
(`handoffs`). Each library made for the job (icalendar, prometheus-client) is
imported only here, by the command that needs it."""
