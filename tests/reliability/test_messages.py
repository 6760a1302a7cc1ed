"""Messages that say what is wrong, not something else: a database path that
is a FIFO or a device is not a database (not a full disk); an id past what the
database holds is out of range (not a matter of years); a huge `shift_length`
is a config problem with its file, line and YAML path; and a value taken from
`${ENV}` is named by its variable in a problem, never shown.
"""

from __future__ import annotations

import os

import pytest

from reliability_kit import (CONFIG_YAML, T0, assert_no_traceback, assert_one_line_error, config_dump, copy_db,
                             make_template, query, run)

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]  # its databases are SQLite files (reliability_kit)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = make_template(tmp_path_factory.mktemp("messages-template"))
    assert run(["--now", T0, "trigger", "--service", "load", "disk full"], path).code == 0
    return path


# -- the database path -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize("args", [["list"], ["--now", T0, "trigger", "--service", "load", "x"]], ids=["list", "trigger"])
def test_a_database_path_that_is_not_a_regular_file(tmp_path, kind, args):
    if kind == "fifo":
        path = tmp_path / "pager.db"
        os.mkfifo(path)
    else:
        path = "/dev/null"
    proc = run(args, path, timeout=60)
    line = assert_one_line_error(proc, 1, "not a regular file")
    assert "disk space" not in line and "full" not in line
    if kind == "fifo":
        assert (tmp_path / "pager.db").is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["pager.db"]


# -- ids past int64 ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["show", "99999999999999999999"],
    ["ack", "9223372036854775808"],
    ["resolve", "9223372036854775808"],
    ["note", "99999999999999999999", "hello"],
], ids=["show", "ack", "resolve", "note"])
def test_an_id_past_int64_is_out_of_range(template, tmp_path, args):
    db = copy_db(template, tmp_path / "pager.db")
    proc = run(["--now", T0, *args], db)
    line = assert_one_line_error(proc, 2, "out of range")
    assert "id" in line and "9223372036854775807" in line
    assert "year" not in line and "1970" not in line
    assert query(db, "SELECT id, status FROM incident") == [(1, "triggered")]  # nothing else touched


# -- a huge shift_length -----------------------------------------------------------------

HUGE = ["99999999999999999999", "9223372036854775807", "999999999"]


@pytest.mark.parametrize("length", HUGE)
@pytest.mark.parametrize("command", ["validate", "apply"])
def test_a_huge_shift_length_is_a_located_config_problem(template, tmp_path, command, length):
    db = copy_db(template, tmp_path / "pager.db")
    before = config_dump(db)
    config = tmp_path / "huge.yaml"
    text = CONFIG_YAML.replace("        rotation: daily\n", f"        rotation: daily\n        shift_length: {length}\n", 1)
    assert text != CONFIG_YAML
    config.write_text(text)
    line = text.splitlines().index(f"        shift_length: {length}") + 1
    proc = run(["--now", T0, "schedules", command, config], db)
    assert_no_traceback(proc)
    assert proc.code == 2, proc
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith(f"{config}:{line}: schedules.primary.layers[0].shift_length: "), proc
    assert "too long" in lines[0]
    assert lines[-1].startswith("Error: ") and len(lines) == 2, proc
    assert config_dump(db) == before


# -- values from the environment -------------------------------------------------------------

SECRET_CONFIG = """\
timezone: "${TZ_SECRET}"
users:
  alice: {name: Alice, email: "${MAIL_SECRET}"}
  bob: {name: Bob, email: "bob-${MAIL_PART}"}
schedules:
  primary:
    timezone: "Europe/${ZONE_PART}"
    layers:
      - {name: day, rotation: daily, start: 2026-11-01T09:00, users: [alice, bob]}
escalation_policies:
  fast:
    levels:
      - {targets: [user:alice], delay: "${DELAY_SECRET}"}
      - {targets: [user:bob], delay: "${LONG_SECRET}"}
services:
  load: {escalation_policy: fast}
"""
SECRETS = {
    "TZ_SECRET": "sekrit-value-123",
    "MAIL_SECRET": "mail-sekrit-456",
    "MAIL_PART": "part-sekrit-321",
    "ZONE_PART": "zone-sekrit-654",
    "DELAY_SECRET": "delay-sekrit-789",
    "LONG_SECRET": "long-sekrit-" + "z" * 80,  # longer than a message quotes whole
}


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_values_from_the_environment_are_named_never_shown(template, tmp_path, command):
    db = copy_db(template, tmp_path / "pager.db")
    config = tmp_path / "secret.yaml"
    config.write_text(SECRET_CONFIG)
    proc = run(["--now", T0, "schedules", command, config], db, env=SECRETS)
    assert_no_traceback(proc)
    assert proc.code == 2, proc
    text = proc.stdout + proc.stderr
    for value in SECRETS.values():
        assert value not in text, (value, text)
        assert value[:20] not in text, (value, text)
    problems = {line.split(": ", 1)[0].rsplit(":", 1)[1]: line for line in proc.stderr.splitlines()[:-1]}
    assert "${TZ_SECRET}" in problems["1"]  # the time zone
    assert "${MAIL_SECRET}" in problems["3"]  # an email
    assert "bob-${MAIL_PART}" in problems["4"]  # a value built around a variable shows as written
    assert "Europe/${ZONE_PART}" in problems["7"]
    assert "${DELAY_SECRET}" in problems["13"]  # a delay
    assert "${LONG_SECRET}" in problems["14"]
    assert len(problems) == 6, proc
