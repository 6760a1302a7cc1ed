"""One parsed JSON document → its records.

A document gives one record per object: an array gives each element in turn
(nested arrays too), an Alertmanager webhook body gives each of its alerts.
Each object is read by the first format of FORMATS that matches it; the
generic format, last, takes any object. Any other value (a string, a
number, …) is a bad record. This is where every source of alerts (stdin, an
HTTP body) turns its JSON into records, after `json_strict` parsed and
checked it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import alertmanager, generic, pagerduty, pagerduty_v1
from .record import Alert, bad_record, kind_of

# The formats in the order they are tried (PagerDuty v1 before v2: a v1 body
# from Alertmanager also carries v2's `event_action` and `payload`, empty). Each module has `matches(obj)`
# and `records(obj, line, default_service)`, the list of an object's records.
FORMATS = (alertmanager, pagerduty_v1, pagerduty, generic)
_TABLE = tuple((fmt.matches, fmt.records) for fmt in FORMATS)


def records_of(document: Any, line: int = 1, default_service: str | None = None) -> Iterator[Alert]:
    """The records of a parsed document, in order, each starting at `line`.

    Records are numbered later, by the caller (`Alert.record` is 0 here).
    """
    if document.__class__ is dict:  # the common case: no generator of its own
        return iter(_object_records(document, line, default_service))
    return _array_records(document, line, default_service)


def _object_records(obj: dict, line: int, default_service: str | None) -> list[Alert]:
    for matches, records in _TABLE:
        if matches(obj):
            return records(obj, line, default_service)
    raise AssertionError("the generic format matches every object")


def _array_records(document: Any, line: int, default_service: str | None) -> Iterator[Alert]:
    arrays = [iter(document if isinstance(document, list) else [document])]
    while arrays:  # a stack, not recursion: nesting is not limited here
        for item in arrays[-1]:
            if isinstance(item, list):
                arrays.append(iter(item))
                break
            if isinstance(item, dict):
                yield from _object_records(item, line, default_service)
            else:
                yield bad_record(line, f"record is {kind_of(item)}, not an object")
        else:
            arrays.pop()
