"""The e-invoicing job: one PA cycle (submit queued flows, poll for news, apply it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from telegram import Bot

from bot.context import Services
from bot.jobs import JobSpec
from bot.seller import seller_from_settings
from bot.settings import Settings
from bot.web import pa_callback_url
from mail.pa.client import PaClient, PaConfig, PaError
from mail.pa.worker import ensure_webhooks, run_cycle
from storage.i18n import Part, Phrase

__all__ = ["JOBS", "pa_config"]

log = logging.getLogger(__name__)


def pa_config(settings: Settings) -> PaConfig | None:
    """The PA client's configuration, or None when no PA is configured."""
    if not settings.pa_flow_url:
        return None
    secret = settings.pa_client_secret.get_secret_value() if settings.pa_client_secret else ""
    return PaConfig(
        flow_url=settings.pa_flow_url,
        token_url=settings.pa_token_url or "",
        client_id=settings.pa_client_id or "",
        client_secret=secret,
        directory_url=settings.pa_directory_url or "",
        organization_id=settings.pa_organization_id or "",
    )


async def pa_cycle(services: Services, bot: Bot | None) -> Phrase:
    """Submit, poll and apply; the client (and its token) lives across runs."""
    config = pa_config(services.settings)
    if config is None:
        return Phrase.of(("job.pa_off", {}))
    if services.extra is None:
        services.extra = {}
    client = services.extra.get("pa_client")
    if not isinstance(client, PaClient):
        client = services.extra["pa_client"] = PaClient(config)
    hooks = await _webhooks(client, services.settings)
    result = await run_cycle(
        client,
        seller_from_settings(services.settings),
        datetime.now(UTC),
        auto_approve=services.settings.pa_auto_approve_matched,
    )
    counts = {
        "submitted": result.submitted,
        "retried": result.retried,
        "failed": result.failed,
        "noted": result.noted,
        "applied": result.applied,
    }
    return Phrase.of(("job.pa_cycle", counts), hooks)


async def _webhooks(client: PaClient, settings: Settings) -> Part | None:
    """In webhook mode, our PA webhooks are subscribed once (retried while the PA is down;
    polling carries on meanwhile)."""
    url = pa_callback_url(settings)
    if url is None:
        return None
    assert settings.pa_webhook_token is not None
    try:
        done = await ensure_webhooks(client, url, settings.pa_webhook_token.get_secret_value())
    except PaError as exc:
        log.warning("PA webhook subscription failed, retried next run: %s", exc)
        return ("job.pa_webhooks_pending", {})
    return ("job.pa_webhooks_done", {}) if done else None


# Once per period across instances (the claim of `storage.jobs.claim_run`), like the scans:
# one instance polls the PA and spends its request quota; the queues inside it are claimed
# row by row anyway. Its backoffs and leases are real seconds: the wall clock.
JOBS = [
    JobSpec("pa", pa_cycle, every=lambda s: float(s.settings.pa_poll_seconds), exclusive=True, business=False)
]
