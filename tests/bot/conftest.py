"""Dialog-test settings with an explicit company time zone.

Tortoise writes `os.environ["TIMEZONE"]` (its own setting) when it opens a database, and
pydantic-settings reads the same variable name: the time zone is pinned here so that
due times are checked against Europe/Paris, not whatever Tortoise left behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.billing_data import SELLER_SETTINGS


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite://{tmp_path}/entonnoir.db",
        var_dir=tmp_path / "var",
        default_language="en",
        timezone="Europe/Paris",
        **SELLER_SETTINGS,  # the legal identity has no default: tests set it
    )
