"""pager: on-call schedules, incidents and escalating pages over one SQLite file."""

__version__ = "0.1.0"
