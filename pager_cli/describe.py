"""Values described for a message: a short quoted form, and what kind of value
it is in the words of the format it came from (JSON for alerts, YAML for the
config file)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def show(value: Any) -> str:
    """A short, quoted form of a value for a message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def kind_of(value: Any) -> str:
    """The JSON kind of a value, for a message: "a string", "null", …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def yaml_kind_of(value: Any) -> str:
    """The YAML kind of a value, for a config message: "a mapping", "nothing", …"""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    for types, name in ((int | float, "a number"), (str, "a string"), (list, "a list"),
                        (dict, "a mapping"), (datetime, "a date-time"), (date, "a date")):
        if isinstance(value, types):
            return name
    return type(value).__name__
