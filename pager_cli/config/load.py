"""Loading the config file (PRODUCT §1): read it, substitute `${ENV}` values
(`yaml_lines`), validate it (`schema`) and report every problem at once.

`load_config(path)` returns a `Config` or raises `ConfigError` listing every problem
as `file:line: yaml.path: message`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from . import yaml_lines
from .contacts import rule_problems
from ..describe import yaml_kind_of
from ..errors import ConfigError
from .problems import from_pydantic
from .schema import Config

MAX_BYTES = 256 * 1024  # a real config is a few KB; the YAML loader and the checks are pure Python


def load_config(path: str | os.PathLike[str], *, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the config file at `path`."""
    shown = os.fspath(path)
    file = Path(path)
    try:
        if not file.exists():
            raise ConfigError(f"cannot read {shown}", [f"{shown}: no such file"])
        if not file.is_file():
            raise ConfigError(f"cannot read {shown}", [f"{shown}: not a regular file"])
        if file.stat().st_size > MAX_BYTES:
            raise ConfigError(f"cannot read {shown}", [f"{shown}: larger than {MAX_BYTES // 1024} KB"])
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {shown}", [f"{shown}: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"cannot read {shown}", [f"{shown}:{line}: not UTF-8 text"]) from None
    return load_config_text(text, shown, env=env)


def load_config_text(text: str, path: str = "<string>", *, env: Mapping[str, str] | None = None) -> Config:
    """Validate config text; `path` names it in problems. `env` (default: the process
    environment) supplies `${NAME}` values."""
    doc = yaml_lines.load(text, env=os.environ if env is None else env)
    problems = [(p.line, yaml_lines.format_path(p.path), p.message) for p in doc.problems]
    config = None
    if not doc.fatal and not isinstance(doc.data, dict):
        message = ("the file is empty" if doc.data is None
                   else f"the top level must be a mapping, not {yaml_kind_of(doc.data)}")
        problems.append((doc.line_of(()), "", message + " (timezone:, users:, schedules:, ...)"))
    elif not doc.fatal:
        try:
            config = Config.model_validate(doc.data, context=_context(doc.data))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                problems.extend(from_pydantic(error, doc, known_keys()))
        for where, message in rule_problems(doc.data):
            problems.append((doc.line_of(where), yaml_lines.format_path(where), message))
    if problems:
        unique = sorted(dict.fromkeys(problems), key=lambda p: p[0])
        lines = [f"{path}:{line}: {where + ': ' if where else ''}{doc.conceal(message)}"
                 for line, where, message in unique]
        located = [{"line": line, "path": where, "message": doc.conceal(message)} for line, where, message in unique]
        raise ConfigError(f"{len(lines)} problem{'s' if len(lines) != 1 else ''} in {path}", lines, located=located)
    config._source = path
    config._lines = doc.lines
    return config


def _context(data: dict) -> dict[str, Any]:
    """The names the file defines, for the reference checks."""
    def names(section: str) -> set[str]:
        value = data.get(section)
        return {k for k in value if isinstance(k, str)} if isinstance(value, dict) else set()

    routing_keys: dict[str, list[str]] = {}
    services = data.get("services")
    for name, service in (services.items() if isinstance(services, dict) else ()):
        if isinstance(service, dict) and isinstance(service.get("routing_key"), str):
            routing_keys.setdefault(service["routing_key"], []).append(name)
    zone = data.get("timezone")
    return {"users": names("users"), "schedules": names("schedules"),
            "policies": names("escalation_policies"), "services": names("services"),
            "routing_keys": routing_keys, "timezone": zone if isinstance(zone, str) else "UTC",
            "smtp": data.get("smtp") is not None}


def known_keys() -> set[str]:
    """Every key the config file may use, for the suggestions in `unknown key` problems."""
    from .contacts import Contact, NotifyRule, Smtp
    from .schema import EscalationPolicy, Layer, Level, Override, Schedule, Service, User, Window
    from .serve import Serve

    models = (Config, User, Window, Layer, Override, Schedule, Level, EscalationPolicy, Service, Smtp, Contact,
              NotifyRule, Serve)
    return {field.alias or name for model in models for name, field in model.model_fields.items()}
