"""The service's HTTP face (webhook mode): Telegram's webhook, `/healthz`, `/readyz`.

Follows python-telegram-bot's `customwebhookbot` example: a Starlette app served by
uvicorn in the bot's own event loop; each webhook call is checked (Telegram's
`X-Telegram-Bot-Api-Secret-Token` header, compared in constant time), bounded in size,
and put on the Application's update queue. Other areas mount their own routes through
`extra_routes` (e.g. an e-invoicing platform's callbacks).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update

from bot.settings import Settings
from storage.health import Check

__all__ = [
    "MAX_UPDATE_BYTES",
    "PA_WEBHOOK_PATH",
    "SECRET_HEADER",
    "build_web_app",
    "pa_callback_url",
    "pa_routes",
]

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1_000_000  # Telegram's updates are far smaller; anything bigger is not one
Readiness = Callable[[datetime], Awaitable[list[Check]]]
PA_WEBHOOK_PATH = "/pa/webhook"


def build_web_app(
    application: Any,
    *,
    secret: str,
    path: str = "/telegram",
    readiness: Readiness,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The Starlette app: POST `path` (webhook), GET /healthz and /readyz, `extra_routes`."""
    expected = secret.encode()

    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("webhook call refused: wrong or missing secret token")
            return PlainTextResponse("forbidden", status_code=403)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            update = Update.de_json(json.loads(body), application.bot)
        except (ValueError, TypeError, KeyError):
            return PlainTextResponse("not an update", status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        checks = await readiness(datetime.now(UTC))
        ok = all(c.ok for c in checks)
        return JSONResponse(
            {"ready": ok, "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}},
            status_code=200 if ok else 503,
        )

    routes: list[BaseRoute] = [
        Route(path, webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *extra_routes,
    ]
    return Starlette(routes=routes)


def pa_callback_url(settings: Settings) -> str | None:
    """Where the e-invoicing platform calls us: WEBHOOK_URL's origin + /pa/webhook, when
    the webhook mode runs with a PA and its shared token (else None: the PA is polled)."""
    if not (settings.webhook_url and settings.pa_enabled and settings.pa_webhook_token):
        return None
    parts = urlsplit(settings.webhook_url)
    return f"{parts.scheme}://{parts.netloc}{PA_WEBHOOK_PATH}"


def pa_routes(settings: Settings) -> list[BaseRoute]:
    """`POST /pa/webhook` (the PA's callbacks, checked against PA_WEBHOOK_TOKEN), or none."""
    if pa_callback_url(settings) is None:
        return []
    from mail.pa.webhook import receive_webhook

    assert settings.pa_webhook_token is not None
    token = settings.pa_webhook_token.get_secret_value()

    async def pa_webhook(request: Request) -> Response:
        status, body = await receive_webhook(await request.body(), dict(request.headers), secret=token)
        if status == 401:
            log.warning("PA webhook call refused: wrong or missing token")
        return JSONResponse(body, status_code=status)

    return [Route(PA_WEBHOOK_PATH, pa_webhook, methods=["POST"])]
