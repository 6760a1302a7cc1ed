"""The one exception hierarchy of pager. Each class carries its exit code.

Domain modules raise these; the CLI maps them to `Error: …` on stderr and the
exit code, in one place (`pager_cli.cli.app.run`).
"""

from __future__ import annotations


class PagerError(Exception):
    """Base of every error a user can cause or see. Exit 1: a runtime error."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(PagerError):
    """Bad option, bad time string, bad value: exit 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file with problems. `problems` holds one line per problem
    (`path: line N: message`); all of them are reported, exit 2."""

    def __init__(self, message: str, problems: list[str] | None = None, hint: str | None = None,
                 located: list[dict] | None = None):
        super().__init__(message, hint)
        self.problems = problems or []
        # the same problems as {"line", "path", "message"} (path: the YAML path), for --json
        self.located = located if located is not None else [
            {"line": None, "path": "", "message": p} for p in self.problems]


class NotFound(PagerError):
    """An incident, key, schedule, service or user that does not exist: exit 3."""

    exit_code = 3


class Conflict(PagerError):
    """A transition the state machine forbids: exit 4."""

    exit_code = 4


class DatabaseError(PagerError):
    """The database cannot be opened, read or written: exit 1."""

    exit_code = 1


class StoredValueError(ValueError):
    """A value read back from the database is not one pager writes (a damaged
    file). Raised by the code that reads it; `db` turns it into a DatabaseError
    naming the file, in the same place as every other database problem."""
