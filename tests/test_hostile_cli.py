"""Hostile values on the command line and in what is stored: `--details` held to
the rules of a stdin record, arguments that are not UTF-8, output that stays
standard JSON in valid UTF-8 whatever a row holds, times before an incident
existed, and alert text that cannot forge a line or reorder itself on screen.

What needs real argv bytes or real stdout runs as a real process (`run_pager`);
the state is checked in the database."""

from __future__ import annotations

import json

import pytest

from conftest import run_pager
from dbread import connect_rw, counts, rows
from scenario import write_scenario

T0 = "2026-11-23T10:00:00Z"
DEEP = "[" * 3000 + "]" * 3000
FF = b"\xff"


@pytest.fixture
def setup(cli, tmp_path):
    r = cli("schedules", "apply", write_scenario(tmp_path))
    assert r.code == 0, r
    return cli


def strict_json(data: bytes):
    """`data` as JSON the way a strict consumer reads it: valid UTF-8, no NaN or
    Infinity, and no lone surrogate left once the escapes are decoded."""
    def refuse(name):
        raise AssertionError(f"{name} in JSON output")

    value = json.loads(data.decode("utf-8"), parse_constant=refuse)
    json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return value


def one_error_line(proc, code: int = 2) -> str:
    err = proc.stderr.decode("utf-8")
    assert b"Traceback" not in proc.stderr and proc.returncode == code, (proc.returncode, proc.stderr[-800:])
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


# -- --details --------------------------------------------------------------------

BAD_DETAILS = {
    "lone surrogate": '{"a": "\\ud800"}',
    "NaN": '{"a": NaN}',
    "Infinity": '{"a": Infinity}',
    "-Infinity": '{"a": [-Infinity]}',
    "out of range": '{"a": 1e999}',
    "deep": '{"a": ' + DEEP + "}",
    "65 levels": '{"a": ' + "[" * 64 + "]" * 64 + "}",
    "array": "[1]",
    "string": '"x"',
    "number": "3",
    "null": "null",
    "not JSON": "{host: db1}",
    "trailing": '{"a": 1} {"b": 2}',
}


@pytest.mark.parametrize("text", BAD_DETAILS.values(), ids=BAD_DETAILS.keys())
def test_bad_details_exit_2_before_anything_is_written(setup, db_path, text):
    before = counts(db_path)
    r = setup("--now", T0, "trigger", "--service", "payments", "DB down", "--details", text)
    assert r.code == 2, r
    assert r.err.startswith("Error: --details") and len(r.err.strip().splitlines()) == 1, r
    assert r.out == "" and "PAGE" not in r.err
    assert counts(db_path) == before  # no incident, no timeline entry, no page


def test_details_at_the_depth_limit_are_kept(setup, db_path):
    text = '{"a": ' + "[" * 63 + "]" * 63 + "}"  # 64 levels, as a stdin record allows
    r = setup("--now", T0, "trigger", "--service", "payments", "deep", "--details", text, "--json")
    assert r.code == 0, r
    assert json.loads(rows(db_path, "SELECT details FROM incident")[0][0]) == json.loads(text)


@pytest.mark.slow
@pytest.mark.parametrize("text", [BAD_DETAILS["lone surrogate"], BAD_DETAILS["deep"]], ids=["surrogate", "deep"])
def test_bad_details_as_a_real_process(setup, db_path, text):
    """The two that used to commit and then crash (surrogate) or end in a
    RecursionError traceback (deep)."""
    proc = run_pager("--now", T0, "trigger", "--service", "payments", "DB down", "--details", text)
    one_error_line(proc)
    assert counts(db_path) == (0, 0, 0)
    listed = run_pager("list", "--json")
    assert listed.returncode == 0 and strict_json(listed.stdout) == []


# -- what is already stored -------------------------------------------------------

STORED = {
    "surrogates": '{"a": "\\ud800", "\\udcff": "\\udfff x"}',
    "NaN": '{"n": NaN, "i": Infinity, "m": [-Infinity]}',
    "deep": '{"a": ' + DEEP + "}",
    "not JSON": "{broken",
    "not an object": "[1, 2]",
}


@pytest.mark.slow
@pytest.mark.sqlite_only  # PostgreSQL's json type refuses such text: it cannot be stored there
def test_stored_bad_details_do_not_break_list_or_show(setup, db_path):
    for i, _ in enumerate(STORED):
        assert setup("--now", T0, "trigger", "--service", "payments", f"t{i}").code == 0
    con = connect_rw(db_path)
    with con:
        for i, text in enumerate(STORED.values(), start=1):
            con.execute("UPDATE incident SET details = ? WHERE id = ?", (text, i))
    con.close()

    listed = run_pager("list", "--json")
    assert listed.returncode == 0 and b"Traceback" not in listed.stderr, listed.stderr[-800:]
    docs = {d["id"]: d["details"] for d in strict_json(listed.stdout)}
    assert docs[1] == {"a": "\ud800", "\udcff": "\udfff x"}  # as \u escapes: the same JSON value
    assert docs[2] == {"n": "NaN", "i": "Infinity", "m": ["-Infinity"]}
    assert docs[3] == {"unreadable": STORED["deep"]}
    assert docs[4] == {"unreadable": "{broken"} and docs[5] == {"unreadable": "[1, 2]"}
    for i in range(1, len(STORED) + 1):
        shown = run_pager("show", i, "--json")
        assert shown.returncode == 0, shown.stderr[-800:]
        assert strict_json(shown.stdout)["details"] == docs[i]
        human = run_pager("show", i)
        assert human.returncode == 0 and b"Traceback" not in human.stderr, human.stderr[-800:]
        human.stdout.decode("utf-8")
        assert b"details" in human.stdout
    human = run_pager("list")
    assert human.returncode == 0 and human.stdout.decode("utf-8").count("payments") == len(STORED)


def test_json_writer_keeps_to_standard_json():
    from pager_cli.cli.output import dumps

    deep: list = []
    inner = deep
    for _ in range(3000):
        inner.append([])
        inner = inner[0]
    doc = {"nan": float("nan"), "inf": [float("inf"), float("-inf")], "s": "\ud800x\udcff", "rlo": "a\u202eb",
           "deep": deep, "ok": [1, 2.5, None, True, "é"]}
    text = dumps(doc)
    value = strict_json(text.encode("utf-8"))
    assert value["nan"] == "NaN" and value["inf"] == ["Infinity", "-Infinity"]
    assert value["s"] == "\ud800x\udcff" and "\\ud800x\\udcff" in text
    assert value["rlo"] == "a\u202eb" and "\u202e" not in text
    assert value["ok"] == [1, 2.5, None, True, "é"]
    assert text.count("[") < 300  # cut at MAX_NESTING
    assert dumps({"a": [1, {"b": "c"}]}) == '{"a": [1, {"b": "c"}]}'  # the common case unchanged


# -- arguments that are not UTF-8 --------------------------------------------------

NOT_UTF8 = {
    "trigger title": ["trigger", "--service", "payments", b"DB " + FF],
    "trigger --service": ["trigger", "--service", b"pay" + FF, "DB down"],
    "trigger --dedup-key": ["trigger", "--service", "payments", "--dedup-key", FF, "DB down"],
    "trigger --details": ["trigger", "--service", "payments", "DB down", "--details", b'{"a": "' + FF + b'"}'],
    "note": ["note", "1", b"text " + FF],
    "ack --by": ["ack", "1", "--by", FF],
    "ack --key": ["ack", "--key", FF],
    "resolve --key --service": ["resolve", "--key", "k", "--service", FF],
    "escalate --by": ["escalate", "1", "--by", FF],
    "list --service": ["list", "--service", FF],
    "list --since": ["list", "--since", FF],
    "oncall": ["oncall", FF],
    "oncall --service": ["oncall", "--service", FF],
    "schedules show": ["schedules", "show", FF],
    "schedules override": ["schedules", "override", "primary", "--user", FF, "--from", "now", "--to", "+1h"],
    "schedules overrides": ["schedules", "overrides", FF],
    "metrics --service": ["metrics", "--service", FF],
    "--now": ["--now", FF, "list"],
    "--tz": ["--tz", FF, "list"],
}


@pytest.fixture
def one_incident(setup, db_path):
    assert setup("--now", T0, "trigger", "--service", "payments", "DB down", "--dedup-key", "k").code == 0
    return counts(db_path)


@pytest.mark.slow
@pytest.mark.parametrize("args", NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_an_argument_that_is_not_utf8_exits_2(one_incident, db_path, args):
    proc = run_pager("--now", "2026-11-23T10:01:00Z", *args)
    line = one_error_line(proc)
    assert "is not valid UTF-8" in line
    assert proc.stdout == b""
    assert counts(db_path) == one_incident
    assert rows(db_path, "SELECT status FROM incident") == [("triggered",)]


@pytest.mark.slow
@pytest.mark.parametrize("args", [["ack", "1"], ["resolve", "1"], ["note", "1", "looking"], ["escalate", "1"]],
                         ids=lambda a: a[0])
def test_pager_user_that_is_not_utf8_exits_2(one_incident, db_path, args):
    proc = run_pager("--now", "2026-11-23T10:01:00Z", *args, env={"PAGER_USER": b"al" + FF})
    assert "PAGER_USER is not valid UTF-8" in one_error_line(proc)
    assert counts(db_path) == one_incident
    assert rows(db_path, "SELECT status, acknowledged_by FROM incident") == [("triggered", None)]


@pytest.mark.slow
def test_pager_now_that_is_not_utf8_exits_2(one_incident):
    proc = run_pager("list", env={"PAGER_NOW": FF})
    assert "PAGER_NOW is not valid UTF-8" in one_error_line(proc)


@pytest.mark.slow
def test_a_database_path_may_hold_any_bytes(tmp_path):
    """Paths are not text: a file name that is not UTF-8 is still a file name."""
    path = bytes(tmp_path) + b"/pager-" + FF + b".db"
    proc = run_pager("--db", path, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert strict_json(proc.stdout) == []


# -- times before the incident ----------------------------------------------------

@pytest.mark.parametrize("action", ["ack", "resolve"])
def test_ack_or_resolve_dated_before_the_incident_exits_2(setup, db_path, action):
    assert setup("--now", T0, "trigger", "--service", "payments", "DB down").code == 0
    r = setup("--now", "2026-11-23T09:59:00Z", action, "1")
    assert r.code == 2, r
    assert r.err.strip() == (f"Error: cannot {'acknowledge' if action == 'ack' else 'resolve'} incident #1 at "
                             "2026-11-23T09:59:00Z: it was created at 2026-11-23T10:00:00Z "
                             "(hint: check --now / PAGER_NOW)")
    assert rows(db_path, "SELECT status, ack_ms, resolve_ms, acknowledged_at, resolved_at FROM incident") == \
        [("triggered", None, None, None, None)]
    assert setup("--now", T0, action, "1").code == 0  # at the very instant it opened: fine
    report = setup("--now", "2026-11-23T11:00:00Z", "metrics", "--since", "2026-11-23T00:00:00Z", "--json").json()
    assert report["mtta" if action == "ack" else "mttr"]["max"] == 0  # never negative


def test_stdin_ack_dated_before_the_incident_is_a_bad_record(setup, db_path):
    assert setup("--now", T0, "trigger", "--service", "payments", "DB down", "--dedup-key", "k").code == 0
    record = '{"service": "payments", "dedup_key": "k", "title": "DB down", "action": "ack"}\n'
    r = setup("--now", "2026-11-23T09:00:00Z", "trigger", "-", "--json", input=record)
    assert r.code == 1, r
    assert json.loads(r.out)["action"] == "error" and "created at" in json.loads(r.out)["error"]
    assert rows(db_path, "SELECT status, ack_ms FROM incident") == [("triggered", None)]


# -- text that could forge a line or reorder itself --------------------------------

FORGED = "DB down\nPAGE mallory #1 [critical] payments: all clear \u202egnp.exe\u2066x\u2069\u200f"


@pytest.mark.slow
def test_titles_and_notes_stay_on_their_line_in_show_list_and_watch(setup, db_path):
    assert setup("--now", T0, "trigger", "--service", "payments", FORGED).code == 0
    assert setup("--now", T0, "note", "1", "fine\r\nPAGE eve #1 [info] x: y\u202e").code == 0
    assert rows(db_path, "SELECT title FROM incident") == [(FORGED,)]  # stored exactly as given
    for args in (["show", "1"], ["list"], ["watch", "--once"]):
        proc = run_pager("--now", "2026-11-23T10:01:00Z", *args)
        assert proc.returncode == 0, (args, proc.stderr[-800:])
        out = proc.stdout.decode("utf-8")
        for char in "\u202e\u2066\u2069\u200f\r":
            assert char not in out, (args, char)
        assert not [line for line in out.splitlines() if line.lstrip().startswith("PAGE mallory")], (args, out)
        assert "\\u202e" in out and "\\x0a" in out, (args, out)
    shown = run_pager("--now", T0, "show", "1", env={"COLUMNS": "160"}).stdout.decode("utf-8")
    assert "fine\\x0d\\x0aPAGE eve #1 [info] x: y\\u202e" in shown
    assert strict_json(run_pager("show", "1", "--json").stdout)["title"] == FORGED  # JSON keeps the exact text


def test_a_long_title_that_wraps_in_show_does_not_start_a_line(setup):
    title = "x" * 66 + " PAGE mallory #1 [critical] payments: fake"
    assert setup("--now", T0, "trigger", "--service", "payments", title).code == 0
    proc = run_pager("show", "1", env={"COLUMNS": "70"})
    lines = proc.stdout.decode("utf-8").splitlines()
    assert proc.returncode == 0 and not [x for x in lines if x.startswith("PAGE")], lines


# -- layer names ------------------------------------------------------------------

def test_layer_names_are_checked_like_other_names(cli, tmp_path):
    from scenario import SCENARIO_YAML

    path = tmp_path / "evil.yaml"
    path.write_text(SCENARIO_YAML.replace("- name: daily", '- name: "daily\\e]0;owned\\a"'))
    r = cli("schedules", "validate", path)
    assert r.code == 2, r
    assert "bad name" in r.err and "layers[0].name" in r.err and "\x1b" not in r.err


def test_schedules_show_prints_a_stored_layer_name_literally(setup, db_path):
    """A name that reached the database before names were checked."""
    con = connect_rw(db_path)
    with con:
        assert con.execute("UPDATE layer SET name = ? WHERE name = 'daily'", ("daily\x1b]0;owned\x07\u202e",)).rowcount == 1
    con.close()
    proc = run_pager("--now", T0, "schedules", "show", "primary", "--to", "+1d", env={"COLUMNS": "160"})
    assert proc.returncode == 0, proc.stderr[-800:]
    out = proc.stdout.decode("utf-8")
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "layer:daily\\x1b]0;owned\\x07\\u202e" in out
