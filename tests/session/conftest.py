"""Session-level tests: the library called directly on a real temporary
database with the scenario config applied (no CLI, no subprocess)."""

from __future__ import annotations

import pytest

from conftest import utc
from scenario import SCENARIO_YAML

T0 = utc("2026-11-23T10:00:00Z")  # alice holds primary


@pytest.fixture
def config():
    from pager_cli.config.load import load_config_text

    return load_config_text(SCENARIO_YAML, "scenario.yaml")


@pytest.fixture
def scenario_db(db, config):
    from pager_cli.config.apply import apply_config

    with db.write() as session:
        apply_config(session, config, utc("2026-11-23T09:00:00Z"))
    return db
