"""Severities: the four levels of pager and the names other tools give them.

`critical`, `error`, `warning`, `info` (default `error`). Names from other
tools map onto them, in one table:

- PagerDuty Events v2 uses the four names as they are;
- Opsgenie priorities P1 Critical, P2 High, P3 Moderate, P4 Low, P5
  Informational map in that order (so `high` is `error` and `low` is `info`),
  and so do the numbers 1 to 5 and `sev1` … `sev5`; `p0` / `sev0` are critical;
- syslog levels: emerg, alert, crit → critical; err → error; warning → warning;
  notice, info, debug → info;
- Alertmanager and Nagios conventions: `page` → critical, `none` and `ok` → info;
- Zabbix: disaster → critical, high → error, average → warning, information and
  not classified → info.

Matching ignores case, surrounding whitespace and the separators ` `, `-` and
`_` (`SEV-1`, `sev 1` and `sev_1` are all `sev1`).
"""

from __future__ import annotations

SEVERITIES = ("critical", "error", "warning", "info")
DEFAULT_SEVERITY = "error"
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}  # 0 is the most severe


def raises(alert: str | None, incident: str) -> bool:
    """Whether an alert of severity `alert` raises an incident's `incident`:
    an incident's severity is raised by a more severe alert, never lowered
    (a name outside SEVERITIES ranks below them all)."""
    return alert is not None and _RANK.get(alert, 9) < _RANK.get(incident, 9)


def raised_text(before: str, after: str) -> str:
    """The text of the timeline entry of a raise."""
    return f"raised from {before} to {after}"

_ALIASES: dict[str, str] = {
    # critical
    "critical": "critical",
    "crit": "critical",
    "p0": "critical",
    "p1": "critical",
    "sev0": "critical",
    "sev1": "critical",
    "emergency": "critical",
    "emerg": "critical",
    "alert": "critical",
    "fatal": "critical",
    "panic": "critical",
    "page": "critical",
    "disaster": "critical",
    "blocker": "critical",
    "highest": "critical",
    # error
    "error": "error",
    "err": "error",
    "p2": "error",
    "sev2": "error",
    "high": "error",
    "major": "error",
    "failure": "error",
    # warning
    "warning": "warning",
    "warn": "warning",
    "p3": "warning",
    "sev3": "warning",
    "medium": "warning",
    "moderate": "warning",
    "average": "warning",
    "minor": "warning",
    # info
    "info": "info",
    "informational": "info",
    "information": "info",
    "p4": "info",
    "p5": "info",
    "sev4": "info",
    "sev5": "info",
    "low": "info",
    "lowest": "info",
    "trivial": "info",
    "notice": "info",
    "debug": "info",
    "ok": "info",
    "none": "info",
    "notclassified": "info",
}

_NUMBERS = {1: "critical", 2: "error", 3: "warning", 4: "info", 5: "info"}

_SEPARATORS = str.maketrans("", "", " -_")


def normalize_severity(text: object) -> str | None:
    """One of SEVERITIES for `text` (a name, an alias, or a number 1–5 read as
    P1–P5), or None when it is not a severity pager knows."""
    if text.__class__ is str:
        known = _ALIASES.get(text)
        if known is not None:
            return known
    if isinstance(text, bool):
        return None
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    if isinstance(text, int):
        return _NUMBERS.get(text)
    if not isinstance(text, str) or len(text) > 64:
        return None
    key = text.strip().lower().translate(_SEPARATORS)
    if key.isascii() and key.isdigit():
        return _NUMBERS.get(int(key))
    return _ALIASES.get(key)
