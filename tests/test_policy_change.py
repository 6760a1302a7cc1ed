"""An open incident follows its service's *current* escalation policy: a policy
renamed or swapped under it keeps it escalating (same level, clamped to the new
policy's length), a service left without one makes it unassigned (on the
timeline and as an UNASSIGNED line), and a policy that comes back resumes it."""

from __future__ import annotations


from dbread import incidents, pages, timeline

BASE = """\
timezone: UTC
users:
  alice: {name: Alice}
  bob: {name: Bob}
  grace: {name: Grace}
escalation_policies:
  %(name)s:
    repeat: 1
    levels:
%(levels)s
services:
  payments:
%(service)s
"""
TWO_LEVELS = """\
      - targets: [user:alice]
        delay: 5m
      - targets: [user:grace]
        delay: 10m"""
ONE_LEVEL = """\
      - targets: [user:bob]
        delay: 5m"""


def config(tmp_path, name="fast", levels=TWO_LEVELS, policy=True):
    path = tmp_path / f"config-{name}-{policy}-{len(levels)}.yaml"
    service = f"    escalation_policy: {name}" if policy else "    dedup: key"
    path.write_text(BASE % {"name": name, "levels": levels, "service": service})
    return path


def apply(cli, path, now):
    r = cli("--now", now, "schedules", "apply", path)
    assert r.code == 0, r
    return r


def check(cli, now):
    r = cli("--now", now, "escalate-check")
    assert r.code == 0, r
    return r.out.splitlines()


def incident(db, incident_id=1):
    return incidents(db, id=incident_id)[0]


def entries(db, incident_id=1):
    return timeline(db, incident_id, "at", "kind", "text", fmt="%H:%M")


def paged(db):
    return pages(db, "user", "level", "step", "at", fmt="%H:%M")


def test_a_renamed_policy_keeps_the_incident_escalating(cli, db, tmp_path):
    apply(cli, config(tmp_path, "fast"), "2026-11-23T09:00:00Z")
    assert cli("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "DB down").code == 0
    apply(cli, config(tmp_path, "fast-v2"), "2026-11-23T10:02:00Z")
    assert check(cli, "2026-11-23T10:05:00Z") == [
        "ESCALATED #1 payments: to level 1",
        "PAGE grace #1 [error] payments: DB down",
    ]
    row = incident(db)
    assert row.escalation_policy == "fast-v2" and row.escalation_level == 1
    assert row.next_escalation_at is not None
    assert ("10:02", "reassigned", "follows escalation policy fast-v2 now (was fast), at level 0") in entries(db)
    # the manual escalation finds the policy too
    r = cli("--now", "2026-11-23T10:06:00Z", "escalate", "1")
    assert r.code == 0, r


def test_a_policy_swapped_for_a_shorter_one_clamps_the_level(cli, db, tmp_path):
    apply(cli, config(tmp_path, "fast"), "2026-11-23T09:00:00Z")
    cli("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "DB down")
    assert check(cli, "2026-11-23T10:05:00Z")[0] == "ESCALATED #1 payments: to level 1"
    apply(cli, config(tmp_path, "small", ONE_LEVEL), "2026-11-23T10:06:00Z")
    # level 1 of `fast` is level 0 (the last) of `small`, reached at 10:05: due at 10:10
    assert check(cli, "2026-11-23T10:09:00Z") == []
    assert check(cli, "2026-11-23T10:10:00Z") == [
        "ESCALATED #1 payments: to level 0 (pass 2)",
        "PAGE bob #1 [error] payments: DB down",
    ]
    row = incident(db)
    assert (row.escalation_policy, row.escalation_level, row.escalation_pass) == ("small", 0, 1)


def test_a_service_left_without_policy_unassigns_then_the_policy_comes_back(cli, db, tmp_path):
    apply(cli, config(tmp_path, "fast"), "2026-11-23T09:00:00Z")
    cli("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "DB down")
    apply(cli, config(tmp_path, "fast", policy=False), "2026-11-23T10:01:00Z")
    out = check(cli, "2026-11-23T10:02:00Z")
    assert out == ["UNASSIGNED #1 payments: no escalation policy now (was fast)"]
    row = incident(db)
    assert row.assignees == [] and row.escalation_policy is None and row.next_escalation_at is None
    assert ("10:01", "reassigned", "unassigned: service payments has no escalation policy now (was fast)") \
        in entries(db)
    assert check(cli, "2026-11-23T11:00:00Z") == []
    r = cli("--now", "2026-11-23T11:00:00Z", "escalate", "1")
    assert r.code == 4 and "no escalation policy" in r.err
    # the policy comes back at 11:30: the incident resumes at its level, overdue: it moves on at once
    apply(cli, config(tmp_path, "fast"), "2026-11-23T11:30:00Z")
    assert check(cli, "2026-11-23T11:31:00Z") == [
        "ESCALATED #1 payments: to level 1",
        "PAGE grace #1 [error] payments: DB down",
    ]
    row = incident(db)
    assert row.escalation_policy == "fast" and row.escalation_level == 1 and row.assignees == ["grace"]
    assert ("11:30", "reassigned", "follows escalation policy fast now, at level 0") in entries(db)
    assert paged(db) == [("alice", 0, 0, "10:00"), ("grace", 1, 1, "11:30")]


def test_an_incident_opened_without_policy_starts_when_one_is_given(cli, db, tmp_path):
    apply(cli, config(tmp_path, "fast", policy=False), "2026-11-23T09:00:00Z")
    r = cli("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "DB down")
    assert r.code == 0 and "no escalation policy" in r.err
    apply(cli, config(tmp_path, "fast"), "2026-11-23T10:20:00Z")
    assert check(cli, "2026-11-23T10:21:00Z") == ["PAGE alice #1 [error] payments: DB down"]
    assert check(cli, "2026-11-23T10:25:00Z")[0] == "ESCALATED #1 payments: to level 1"
    assert paged(db) == [("alice", 0, 0, "10:20"), ("grace", 1, 1, "10:25")]


def test_renaming_back_before_any_check_does_not_step_early(cli, db, tmp_path):
    apply(cli, config(tmp_path, "fast"), "2026-11-23T09:00:00Z")
    cli("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "DB down")
    apply(cli, config(tmp_path, "fast-v2"), "2026-11-23T10:01:00Z")
    apply(cli, config(tmp_path, "fast"), "2026-11-23T10:02:00Z")
    assert check(cli, "2026-11-23T10:03:00Z") == []
    assert check(cli, "2026-11-23T10:05:00Z")[0] == "ESCALATED #1 payments: to level 1"
    assert [k for _, k, _ in entries(db)].count("escalated") == 1


def test_an_exhausted_or_acknowledged_incident_is_left_alone(cli, db, tmp_path):
    apply(cli, config(tmp_path, "fast"), "2026-11-23T09:00:00Z")
    cli("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "one")
    cli("--now", "2026-11-23T10:00:00Z", "trigger", "--service", "payments", "two")
    cli("--now", "2026-11-23T10:01:00Z", "ack", "2")
    check(cli, "2026-11-23T12:00:00Z")  # #1 exhausted
    before = len(entries(db))
    apply(cli, config(tmp_path, "fast-v2"), "2026-11-23T12:01:00Z")
    assert check(cli, "2026-11-23T12:02:00Z") == []
    assert len(entries(db)) == before
    assert incident(db, 2).next_escalation_at is None
