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
    return PaConfig(
        flow_url=fake.url,
        token_url=f"{fake.url}/token",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        organization_id="ORG-1",
        timeout=5.0,
    )


@pytest.fixture
async def pa(fake_pa: FakePA) -> AsyncIterator[PaClient]:
    async with PaClient(pa_config(fake_pa)) as client:
        yield client


async def _webhook_server(secret: str) -> AsyncIterator[str]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from mail.pa.webhook import receive_webhook
    from tests.pa.fake_pa import serve

    async def endpoint(request: Request) -> JSONResponse:
        status, body = await receive_webhook(await request.body(), dict(request.headers), secret=secret)
        return JSONResponse(body, status_code=status)

    app = Starlette(routes=[Route("/pa/webhook", endpoint, methods=["POST"])])
    server, task, port = await serve(app)
    yield f"http://127.0.0.1:{port}/pa/webhook"
    server.should_exit = True
    await task


@pytest.fixture
async def webhook_url() -> AsyncIterator[str]:
    """Our webhook receiver mounted the way the web server will mount it, on loopback."""
    async for url in _webhook_server(""):
        yield url


WEBHOOK_TOKEN = "wh-token-1234"


@pytest.fixture
async def secured_webhook_url() -> AsyncIterator[str]:
    """The same, requiring the shared token (PA_WEBHOOK_TOKEN)."""
    async for url in _webhook_server(WEBHOOK_TOKEN):
        yield url
