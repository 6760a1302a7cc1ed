"""Severity names and their aliases."""

import pytest

from pager_cli.severity import _ALIASES, DEFAULT_SEVERITY, SEVERITIES, normalize_severity


def test_the_four_severities_map_to_themselves():
    assert SEVERITIES == ("critical", "error", "warning", "info")
    assert DEFAULT_SEVERITY == "error"
    for name in SEVERITIES:
        assert normalize_severity(name) == name


def test_every_alias_maps_onto_one_of_the_four():
    assert set(_ALIASES.values()) == set(SEVERITIES)
    for alias in _ALIASES:
        assert alias == alias.lower() and " " not in alias and "-" not in alias


@pytest.mark.parametrize(
    "text, expected",
    [
        # PagerDuty Events v2
        ("critical", "critical"),
        ("error", "error"),
        ("warning", "warning"),
        ("info", "info"),
        # Opsgenie P1–P5 and their names
        ("P1", "critical"),
        ("p2", "error"),
        ("P3", "warning"),
        ("P4", "info"),
        ("P5", "info"),
        ("high", "error"),
        ("Moderate", "warning"),
        ("low", "info"),
        ("Informational", "info"),
        # SEV levels
        ("SEV0", "critical"),
        ("sev1", "critical"),
        ("SEV-2", "error"),
        ("sev 3", "warning"),
        ("sev_4", "info"),
        # syslog
        ("emerg", "critical"),
        ("alert", "critical"),
        ("crit", "critical"),
        ("err", "error"),
        ("warn", "warning"),
        ("notice", "info"),
        ("debug", "info"),
        # Alertmanager, Nagios, Zabbix conventions
        ("page", "critical"),
        ("none", "info"),
        ("OK", "info"),
        ("Disaster", "critical"),
        ("Average", "warning"),
        ("Not classified", "info"),
        ("fatal", "critical"),
        ("major", "error"),
        ("minor", "warning"),
    ],
)
def test_aliases(text, expected):
    assert normalize_severity(text) == expected


@pytest.mark.parametrize("text", ["CRITICAL", "Critical", "  critical  ", "cRiTiCaL\n"])
def test_case_and_surrounding_space_do_not_matter(text):
    assert normalize_severity(text) == "critical"


@pytest.mark.parametrize(
    "value, expected",
    [
        (1, "critical"),
        (2, "error"),
        (3, "warning"),
        (4, "info"),
        (5, "info"),
        ("1", "critical"),
        (" 3 ", "warning"),
        (2.0, "error"),
    ],
)
def test_numbers_one_to_five_read_as_p1_to_p5(value, expected):
    assert normalize_severity(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "   ", "foo", "p6", "sev9", "criticality", "x" * 10_000, "²", "١"]
    + [0, 6, -1, 10**100, 1.5, True, False, None, [], {}, ["critical"]],
)
def test_unknown_is_none(value):
    assert normalize_severity(value) is None
