"""The PA's webhooks through the product's own web server (bot/web.py), served by uvicorn
on loopback, subscribed once by the PA job, called by the fake PA."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from bot.jobs import all_jobs, run_job
from bot.settings import Settings
from bot.web import PA_WEBHOOK_PATH, build_web_app, pa_callback_url, pa_routes
from storage.health import readiness
from storage.models import PaInboundFlow, PaInvoice
from tests.harness import ChatHarness
from tests.pa.fake_pa import FakePA, serve
from tests.pa.test_job_and_settings import with_pa
from tests.pa.test_sending import issue_won_deal

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

TOKEN = "pa-hook-token-5678"
TG_SECRET = "tg-secret-0123456789"


def webhook_mode(settings: Settings, fake: FakePA, port: int, token: str | None = TOKEN) -> Settings:
    return with_pa(settings, fake).model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/telegram",
            "webhook_secret": SecretStr(TG_SECRET),
            "pa_webhook_token": SecretStr(token) if token else None,
        }
    )


async def test_pa_webhooks_reach_the_real_web_server_subscribed_once(
    chat: ChatHarness, settings: Settings, fake_pa: FakePA
) -> None:
    from bot.__main__ import bootstrap

    # The routes depend on the settings, not on the port: build, serve, then learn the port.
    web = build_web_app(
        chat.app,
        secret=TG_SECRET,
        readiness=readiness,
        extra_routes=pa_routes(webhook_mode(settings, fake_pa, 1)),
    )
    server, task, port = await serve(web)
    try:
        config = webhook_mode(settings, fake_pa, port)
        url = f"http://127.0.0.1:{port}{PA_WEBHOOK_PATH}"
        assert pa_callback_url(config) == url
        services, other = bootstrap(config), bootstrap(config)
        _, result = await issue_won_deal()
        number = result.invoice.number or ""
        job = all_jobs()["pa"]

        # First run: webhooks subscribed (every topic, with our token) and the invoice sent.
        detail = await run_job(job, services, None)
        assert detail.startswith("submitted 1,") and detail.endswith("webhooks subscribed")
        assert {w["callback"]["url"] for w in fake_pa.webhooks.values()} == {url}
        assert len(fake_pa.webhooks) == 3

        # The PA calls us (twice, as it may): noted at once, applied by the next run.
        [flow] = fake_pa.received
        fake_pa.ack(flow.flow_id, "Ok")
        approved = fake_pa.emit_status(number, 205)
        assert await fake_pa.notify(approved, times=2) == [200, 200]
        assert await PaInboundFlow.filter(flow_id=approved.flow_id).count() == 1

        # A caller without the token is refused and leaves nothing; Telegram's side still up.
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, json={**approved.resource(), "flowId": "forged-1"})
            assert forged.status_code == 401
            assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        assert not await PaInboundFlow.filter(flow_id="forged-1").exists()

        # Next runs (here, and on another instance after the period): no second subscription.
        assert await run_job(job, other, None) == ("skipped: another instance has this period's run")
        detail = await run_job(job, other, None, force=True)
        assert "webhooks" not in detail and len(fake_pa.webhooks) == 3
        assert (await PaInvoice.get(invoice_id=result.invoice.id)).status_code == 205
        for s in (services, other):
            assert s.extra is not None
            await s.extra["pa_client"].aclose()
    finally:
        server.should_exit = True
        await task


async def test_a_pa_outage_at_start_is_retried_and_polling_goes_on(
    db: str, settings: Settings, fake_pa: FakePA
) -> None:
    from bot.__main__ import bootstrap

    services = bootstrap(webhook_mode(settings, fake_pa, 8443))
    fake_pa.down = True  # the PA is down when the service starts
    detail = await run_job(all_jobs()["pa"], services, None)
    assert "webhooks not subscribed yet" in detail and fake_pa.webhooks == {}
    fake_pa.down = False
    detail = await run_job(all_jobs()["pa"], services, None, force=True)
    assert detail.endswith("webhooks subscribed") and len(fake_pa.webhooks) == 3
    assert services.extra is not None
    await services.extra["pa_client"].aclose()


async def test_no_pa_route_without_a_pa_or_its_token(
    chat: ChatHarness, settings: Settings, fake_pa: FakePA
) -> None:
    assert pa_routes(webhook_mode(settings, fake_pa, 8443, token=None)) == []
    assert pa_callback_url(webhook_mode(settings, fake_pa, 8443, token=None)) is None
    plain = settings.model_copy(
        update={"webhook_url": "https://bot.example/telegram", "pa_webhook_token": SecretStr(TOKEN)}
    )
    assert pa_routes(plain) == [] and pa_callback_url(plain) is None  # no PA configured
    web = build_web_app(chat.app, secret=TG_SECRET, readiness=readiness, extra_routes=[])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url="http://bot.example"
    ) as client:
        assert (await client.post(PA_WEBHOOK_PATH, json={"flowId": "x"})).status_code == 404
    assert pa_callback_url(webhook_mode(settings, fake_pa, 8443)) == ("http://127.0.0.1:8443/pa/webhook")
