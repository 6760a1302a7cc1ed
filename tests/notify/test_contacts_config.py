"""Contacts, notify rules and `smtp:` in the config file: validation with
file:line and YAML path (never showing a secret), the warning about users no
contact reaches, and `apply` storing them like the rest of the config."""

from __future__ import annotations

import json

import pytest

from pager_cli.config.load import load_config_text
from pager_cli.errors import ConfigError
from dbread import connect_rw

ENV = {"TOK": "tok-9a8b7c6d", "SMTP_PW": "smtp-pw-77", "HOOK_SECRET": "hmac-secret-5f1c2e"}
SECRETS = tuple(ENV.values())

GOOD = """\
timezone: UTC
smtp: {host: 127.0.0.1, port: 2525, tls: starttls, from: pager@example.com, username: pager, password: "${SMTP_PW}"}
users:
  alice:
    name: Alice
    contacts:
      push: {apprise: "ntfys://ntfy.example.com/${TOK}?priority=max", updates: true}
      hook: {webhook: "https://hooks.example.com/pager", secret: "${HOOK_SECRET}",
             headers: {Authorization: "Bearer ${TOK}"}, timeout: 10s}
      mail: {email: alice@example.com}
      phone: {command: ["/usr/local/bin/call-me", "--loud"], timeout: 30s, rate: 3/1h}
    notify:
      - {contact: push, after: 0m}
      - {contact: phone, after: 5m}
  bob: {name: Bob}
  carol: {name: Carol}
  dave: {name: Dave}
schedules:
  primary:
    layers: [{name: weekly, rotation: weekly, start: 2026-01-05T09:00, users: [alice, bob]}]
    overrides: [{user: carol, start: 2026-12-24T00:00, end: 2026-12-27T00:00}]
escalation_policies:
  payments:
    levels: [{targets: ["schedule:primary"], delay: 5m}, {targets: ["user:alice"], delay: 5m}]
services:
  payments: {escalation_policy: payments}
"""


def problems(text: str, env: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "pager.yaml", env=ENV if env is None else env)
    return caught.value.problems


def test_a_full_notify_config_validates_and_warns_about_users_no_contact_reaches():
    config = load_config_text(GOOD, "pager.yaml", env=ENV)
    alice = config.users["alice"]
    assert [(n, c.kind) for n, c in alice.contacts.items()] == [
        ("push", "apprise"), ("hook", "webhook"), ("mail", "email"), ("phone", "command")]
    assert alice.contacts["phone"].rate.count == 3 and alice.contacts["push"].rate.count == 5
    assert alice.contacts["hook"].timeout.total_seconds() == 10
    assert config.warnings() == [
        "pager.yaml:15: users.bob: can be paged by escalation policy payments level 0 through schedule primary"
        " but has no notify rule: pages reach the console line only",
        "pager.yaml:16: users.carol: can be paged by escalation policy payments level 0 through schedule primary"
        " but has no notify rule: pages reach the console line only",
    ]  # dave is in no policy's reach; alice has rules


BAD = """\
timezone: UTC
users:
  alice:
    contacts:
      push: {apprise: "no-scheme ${TOK}"}
      hook: {webhook: "ftp://hooks.example.com/${TOK}", headers: {Authorization: "Bearer ${TOK}"}}
      mail: {email: alice@example.com}
      two: {webhook: "https://h.example.com/${TOK}", email: a@example.com}
      none: {timeout: 5s}
      argv: {command: "/bin/page ${TOK}"}
      empty: {command: []}
      mixed: {command: ["/bin/page", 3]}
      rated: {webhook: "https://h.example.com/x", rate: "lots", timeout: 0s}
      opts: {apprise: "json://h.example.com/${TOK}", secret: "${TOK}"}
      bad_header: {webhook: "https://h.example.com/x", headers: {"X-A": "${BROKEN}"}}
    notify:
      - {contact: psuh, after: 0m}
      - {contact: push, after: soon}
  bob:
    notify: [{contact: pager}]
"""


def test_every_contact_problem_with_file_line_and_path_and_no_secret():
    found = problems(BAD, {**ENV, "BROKEN": "a\nb"})
    assert found == [
        "pager.yaml:5: users.alice.contacts.push.apprise: bad Apprise URL: use SERVICE://…, like ntfys://ntfy.sh/TOPIC",
        "pager.yaml:6: users.alice.contacts.hook.webhook: bad webhook URL: use an http:// or https:// URL with a host",
        "pager.yaml:7: users.alice.contacts.mail.email: an email contact needs the top-level smtp: section"
        " (host, port, tls, from)",
        "pager.yaml:8: users.alice.contacts.two: give only one of apprise, webhook, email, command"
        " (found webhook and email)",
        "pager.yaml:9: users.alice.contacts.none: give one of apprise: URL, webhook: URL, email: ADDRESS"
        " or command: [ARGV…]",
        "pager.yaml:10: users.alice.contacts.argv.command: expected a list, not a string",
        "pager.yaml:11: users.alice.contacts.empty.command: must not be empty",
        "pager.yaml:12: users.alice.contacts.mixed.command[1]: expected a string, not a number",
        "pager.yaml:13: users.alice.contacts.rated.timeout: timeout must be longer than 0s and at most 10m",
        "pager.yaml:13: users.alice.contacts.rated.rate: bad rate 'lots': use N/DURATION like 5/15m",
        "pager.yaml:14: users.alice.contacts.opts: secret: for webhook contacts only",
        "pager.yaml:15: users.alice.contacts.bad_header.headers: header X-A: the value must be one line",
        "pager.yaml:17: users.alice.notify[0].contact: unknown contact 'psuh' (did you mean 'push'?)",
        "pager.yaml:18: users.alice.notify[1].after: bad duration 'soon': use a form like 30s, 5m, 2h or 1h30m",
        "pager.yaml:20: users.bob.notify[0].contact: unknown contact 'pager' (bob has no contacts)",
    ]
    for line in found:
        for secret in SECRETS:
            assert secret not in line


def test_an_unset_secret_is_named_never_shown():
    found = problems(GOOD, {"TOK": "tok-9a8b7c6d"})
    assert found == ["pager.yaml:2: smtp.password: environment variable SMTP_PW is not set",
                     "pager.yaml:8: users.alice.contacts.hook.secret: environment variable HOOK_SECRET is not set"]


def test_smtp_problems():
    assert problems(GOOD.replace("tls: starttls", "tls: maybe")) == [
        "pager.yaml:2: smtp.tls: expected 'starttls', 'ssl' or 'none'"]
    assert problems(GOOD.replace(", username: pager", "")) == [
        "pager.yaml:2: smtp: give both username and password, or neither"]
    assert problems(GOOD.replace("port: 2525", "port: 0").replace("host: 127.0.0.1, ", "")) == [
        "pager.yaml:2: smtp.host: missing (required)",
        "pager.yaml:2: smtp.port: must be greater than or equal to 1"]


def test_validate_command_prints_problems_and_warnings(cli, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(BAD)
    r = cli("--now", "2026-11-23T10:00:00Z", "schedules", "validate", good)
    assert r.code == 0 and "OK" in r.out
    assert f"Warning: {good}:15: users.bob: can be paged" in r.err
    r = cli("schedules", "validate", bad)
    assert r.code == 2
    assert f"{bad}:6: users.alice.contacts.hook.webhook: bad webhook URL" in r.err
    for secret in SECRETS:
        assert secret not in r.err + r.out


def test_apply_stores_contacts_and_rules_with_resolved_secrets_and_prints_none(cli, tmp_path, monkeypatch, db_path):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "pager.yaml"
    path.write_text(GOOD)
    r = cli("schedules", "apply", path)
    assert r.code == 0, r
    assert "created: setting smtp" in r.out and "created: user alice" in r.out
    for secret in SECRETS:
        assert secret not in r.out + r.err
    con = connect_rw(db_path)
    contacts = con.execute('SELECT user, name, kind, target, timeout_s, updates, rate_count, rate_window_s, headers, '
                           'secret FROM contact ORDER BY position').fetchall()
    assert [(u, n, k, json.loads(t)) for u, n, k, t, *_ in contacts] == [
        ("alice", "push", "apprise", "ntfys://ntfy.example.com/tok-9a8b7c6d?priority=max"),
        ("alice", "hook", "webhook", "https://hooks.example.com/pager"),
        ("alice", "mail", "email", "alice@example.com"),
        ("alice", "phone", "command", ["/usr/local/bin/call-me", "--loud"]),
    ]
    hook = contacts[1]
    assert json.loads(hook[8]) == {"Authorization": "Bearer tok-9a8b7c6d"} and hook[9] == "hmac-secret-5f1c2e"
    assert contacts[3][4:8] == (30.0, 0, 3, 3600) and contacts[0][5] == 1
    assert con.execute("SELECT user, contact, after_s FROM notify_rule ORDER BY position").fetchall() == [
        ("alice", "push", 0), ("alice", "phone", 300)]
    assert json.loads(con.execute("SELECT value FROM setting WHERE key = 'smtp'").fetchone()[0])["password"] == \
        "smtp-pw-77"
    con.close()
    assert cli("schedules", "apply", path).out.strip() == "nothing changed"
    monkeypatch.setenv("TOK", "tok-rotated-1")
    r = cli("schedules", "apply", path)
    assert r.out.strip() == "changed: user alice" and "tok-rotated" not in r.out
    path.write_text(GOOD.replace("      - {contact: phone, after: 5m}\n", "").replace(
        'smtp: {host: 127.0.0.1, port: 2525, tls: starttls, from: pager@example.com, username: pager, '
        'password: "${SMTP_PW}"}\n', "").replace("      mail: {email: alice@example.com}\n", ""))
    r = cli("schedules", "apply", path)
    assert r.code == 0, r
    assert r.out.split() and set(r.out.strip().split("\n")) == {"removed: setting smtp", "changed: user alice"}
    con = connect_rw(db_path)
    assert con.execute("SELECT name FROM contact ORDER BY position").fetchall() == [("push",), ("hook",), ("phone",)]
    assert con.execute("SELECT contact FROM notify_rule").fetchall() == [("push",)]
    assert con.execute("SELECT count(*) FROM setting WHERE key = 'smtp'").fetchone() == (0,)


@pytest.mark.parametrize("secret", [" 98765432109 ", "0098765432109"])
def test_a_timeout_from_the_environment_is_named_never_shown_even_as_a_number(tmp_path, secret):
    """A number read from ${ENV} past ten years: the message names the variable,
    not the number it read (nor its digits stripped of blanks or zeros)."""
    from conftest import run_pager

    path = tmp_path / "pager.yaml"
    path.write_text('timezone: UTC\nusers:\n  alice:\n    name: Alice\n    contacts:\n'
                    '      hook: {webhook: "https://hooks.example.com/pager", timeout: "${HOOK_TIMEOUT}"}\n')
    for args in (("schedules", "validate", path), ("--json", "schedules", "validate", path)):
        proc = run_pager(*args, env={"HOOK_TIMEOUT": secret})
        said = proc.stdout.decode() + proc.stderr.decode()
        assert proc.returncode == 2, said
        assert "bad duration ${HOOK_TIMEOUT}: not between 0 and ten years" in said
        assert "98765432109" not in said
