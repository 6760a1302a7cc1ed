"""`command:` contacts: run an argv without a shell, the delivery JSON on
stdin (PRODUCT.md §9).

The environment is the parent's — what a script run from cron expects, with
PATH and HOME — minus every variable starting with PAGER_ (a parent's
PAGER_DB or PAGER_NOW is nothing the script should act on), plus the
contact's own `env`, plus the PAGER_* variables of this delivery. Text from an
alert reaches the program only through those PAGER_* variables and stdin: the
argv is the configured one, never templated.

Exit 0 is sent, 75 (EX_TEMPFAIL) and a timeout are retried (the whole process
group is killed on timeout), anything else failed. The program's output is
discarded: it could echo a token into a log.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping

from .model import FAILED, RETRY, SENT, Contact, Message, Result, show_seconds

EX_TEMPFAIL = 75
MAX_VALUE = 8192  # characters per PAGER_* value; Linux refuses one argument/env string over 128 KiB


def _clean(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\x00", "\\x00")[:MAX_VALUE]


def pager_env(contact: Contact, message: Message) -> dict[str, str]:
    """The PAGER_* variables of one delivery."""
    doc = message.document
    incident = doc.get("incident") if isinstance(doc.get("incident"), Mapping) else None
    if incident is not None:
        ids, service = incident.get("id"), incident.get("service")
        severity, title = incident.get("severity"), incident.get("title") or doc.get("text")
    else:  # a digest: several incidents, or a test message: none
        incidents = [i for i in doc.get("incidents") or [] if isinstance(i, Mapping)]
        ids = " ".join(str(i.get("id")) for i in incidents)
        services = sorted({str(i.get("service")) for i in incidents if i.get("service")})
        service = services[0] if len(services) == 1 else " ".join(services)
        severity, title = "", doc.get("text")
    return {
        "PAGER_EVENT": _clean(doc.get("event")),
        "PAGER_INCIDENT": _clean(ids),
        "PAGER_SERVICE": _clean(service),
        "PAGER_SEVERITY": _clean(severity),
        "PAGER_TITLE": _clean(title),
        "PAGER_USER": _clean(doc.get("user") or contact.user),
        "PAGER_CONTACT": _clean(doc.get("contact") or contact.name),
    }


def environment(contact: Contact, message: Message) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGER_")}
    env.setdefault("PATH", os.defpath)
    env.update({k: _clean(v) for k, v in contact.env})
    env.update(pager_env(contact, message))
    return env


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def send(contact: Contact, message: Message) -> Result:
    argv = list(contact.target)
    program = os.path.basename(argv[0]) or argv[0]
    try:
        proc = subprocess.Popen(argv, shell=False, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=environment(contact, message),
                                close_fds=True, start_new_session=True)
    except FileNotFoundError:
        return Result(FAILED, f"cannot run {program}: not found")
    except PermissionError:
        return Result(FAILED, f"cannot run {program}: permission denied")
    except (OSError, ValueError) as error:
        reason = os.strerror(error.errno).lower() if isinstance(error, OSError) and error.errno else "bad argument"
        return Result(FAILED, f"cannot run {program}: {reason}")
    try:
        proc.communicate(message.body, timeout=contact.timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        proc.wait()
        return Result(RETRY, f"timed out after {show_seconds(contact.timeout)}")
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    code = proc.returncode
    if code == 0:
        return Result(SENT)
    if code == EX_TEMPFAIL:
        return Result(RETRY, f"exit {code}")
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return Result(FAILED, f"killed by {name}")
    return Result(FAILED, f"exit {code}")
