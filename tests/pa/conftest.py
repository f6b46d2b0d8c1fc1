"""Fixtures for the e-invoicing tests: the fake PA on loopback and a client bound to it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from mail.pa.client import PaClient, PaConfig
from storage.invoicing import Seller
from tests.billing_data import SELLER
from tests.pa.fake_pa import CLIENT_ID, CLIENT_SECRET, FakePA

PA_SELLER: Seller = dataclasses.replace(SELLER, pa_enabled=True)


@pytest.fixture
async def fake_pa() -> AsyncIterator[FakePA]:
    fake = FakePA()
    await fake.start()
    yield fake
    await fake.stop()


def pa_config(fake: FakePA) -> PaConfig:
    return PaConfig(flow_url=fake.url, token_url=f"{fake.url}/token", client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET, organization_id="ORG-1", timeout=5.0)


@pytest.fixture
async def pa(fake_pa: FakePA) -> AsyncIterator[PaClient]:
    async with PaClient(pa_config(fake_pa)) as client:
        yield client
