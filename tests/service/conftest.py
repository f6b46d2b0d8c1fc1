"""Fixtures of the service tests: the fake Bot API on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_bot_api import FakeBotApi


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    fake = FakeBotApi()
    fake.start()
    yield fake
    fake.stop()
