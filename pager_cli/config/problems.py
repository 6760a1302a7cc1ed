"""Config problems, located: a validator reports one or several problems at
paths relative to its field, and pydantic's errors become `(line, yaml.path,
message)` in the words of the config file (PRODUCT §1), ready to be printed as
`file:line: yaml.path: message`."""

from __future__ import annotations

import difflib

from pydantic_core import PydanticCustomError

from . import yaml_lines
from ..describe import yaml_kind_of


def problems(*items: tuple[tuple, str]) -> PydanticCustomError:
    """Several problems from one validator, each at a path relative to the field
    (`".."` steps up to the parent)."""
    return PydanticCustomError("pager_problems", "{first}", {"first": items[0][1], "items": items})


def suggest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_TYPE_MESSAGES = {
    "string_type": "a string", "int_type": "a whole number", "bool_type": "true or false",
    "dict_type": "a mapping", "model_type": "a mapping", "list_type": "a list", "tuple_type": "a list",
}


def from_pydantic(error: dict, doc: yaml_lines.Document, known: set[str]) -> list[tuple[int, str, str]]:
    """The located problems of one pydantic error; `known`: every config key, for suggestions."""
    if error["type"] == "too_short" and error["input"]:
        return []  # pydantic counts only the items that validated; the others are reported
    if error["type"] == "pager_problems":
        items = [(tuple(error["loc"]) + sub, message) for sub, message in error["ctx"]["items"]]
    else:
        items = [(tuple(error["loc"]), _message(error, known))]
    out = []
    for loc, message in items:
        parts: list = []
        for part in loc:
            if part == "..":
                parts = parts[:-1]
            elif part != "[key]":  # "[key]": an error about a mapping key, shown at its entry
                parts.append(part)
        path, existing = doc.resolve(parts)
        if not doc.is_broken(existing):
            out.append((doc.line_of(existing), yaml_lines.format_path(path), message))
    return out


def _message(error: dict, known: set[str]) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        return f"unknown key{suggest(str(loc[-1]), known)}"
    if kind == "too_short":
        return "must not be empty"
    if kind in ("greater_than_equal", "greater_than"):
        return error["msg"].replace("Input should be", "must be")
    if kind in _TYPE_MESSAGES:
        hint = " (quote it to make it a string)" if isinstance(error["input"], bool) else ""
        return f"expected {_TYPE_MESSAGES[kind]}, not {yaml_kind_of(error['input'])}{hint}"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    message = error["msg"].replace("Input should be", "expected")
    return message[:1].lower() + message[1:]
