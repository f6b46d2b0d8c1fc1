"""Builds the python-telegram-bot Application: handlers, error handler, jobs, rate limiter."""

from __future__ import annotations

import contextlib
import importlib
import logging
import pkgutil
from pathlib import Path
from typing import Any

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BasePersistence,
    ContextTypes,
    TypeHandler,
)
from telegram.request import BaseRequest

import bot.handlers
from bot.access import check_access
from bot.context import Ctx, Services
from bot.handlers.common import register_fallbacks
from bot.i18n import t
from storage.alerts import alert_role
from storage.errors import UserError
from storage.models import Role

__all__ = ["MENU", "build_application"]

log = logging.getLogger(__name__)

# Command menus (setMyCommands), in both languages: (command, message key).
MENU: list[tuple[str, str]] = [
    ("contacts", "menu.contacts"),
    ("newcontact", "menu.newcontact"),
    ("deals", "menu.deals"),
    ("newdeal", "menu.newdeal"),
    ("pipeline", "menu.pipeline"),
    ("tasks", "menu.tasks"),
    ("invoices", "menu.invoices"),
    ("products", "menu.products"),
    ("payments", "menu.payments"),
    ("collections", "menu.collections"),
    ("stock", "menu.stock"),
    ("dashboard", "menu.dashboard"),
    ("export", "menu.export"),
    ("help", "menu.help"),
    ("lang", "menu.lang"),
    ("cancel", "menu.cancel"),
]


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    token: str | None = None,
    rate_limit: bool = True,
    jobs: bool = True,
    skip_jobs: frozenset[str] = frozenset(),
    persistence: BasePersistence[Any, Any, Any] | None = None,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application with every handler module registered (group 0) after the access check.

    `persistence`: where user/chat data and forms in progress live (`bot.persistence`).
    """
    builder = (
        Application.builder()
        .token(token or "0:console")
        .context_types(ContextTypes(context=Ctx))
        .post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if services.settings.telegram_api_url:
        builder = builder.base_url(services.settings.telegram_api_url.rstrip("/") + "/bot")
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))  # type: ignore[arg-type]
    if not jobs:
        builder = builder.job_queue(None)  # type: ignore[arg-type]
    if persistence is not None:
        builder = builder.persistence(persistence)
    app = builder.build()
    app.bot_data["services"] = services
    app.add_handler(TypeHandler(Update, check_access), group=-1)
    for module in _handler_modules():
        module.register(app)
    register_fallbacks(app)
    app.add_error_handler(on_error)
    if jobs and app.job_queue is not None:
        from bot.jobs import schedule_all

        schedule_all(app, skip=skip_jobs)
    return app


def _handler_modules() -> list[Any]:
    names = sorted(info.name for info in pkgutil.iter_modules(bot.handlers.__path__))
    return [importlib.import_module(f"bot.handlers.{name}") for name in names]


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    await set_menus(app)


async def set_menus(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Publish the command menu in English (default) and French."""
    for lang in ("en", "fr"):
        commands = [BotCommand(cmd, t(lang, key)) for cmd, key in MENU]
        await app.bot.set_my_commands(commands, language_code=None if lang == "en" else "fr")


async def on_error(update: object, ctx: Ctx) -> None:
    """User mistakes get their one sentence; anything else is logged, apologised, reported."""
    error = ctx.error
    if isinstance(update, Update) and update.effective_user is not None and not ctx.has_actor:
        user = await ctx.services.resolve_user(update.effective_user.id)
        if user is not None:
            ctx.actor = user
    if isinstance(error, UserError) and isinstance(update, Update):
        await _answer(update, ctx, t(ctx.lang, f"error.{error.code}", **error.params))
        return
    log.error("unhandled error for update %s", _describe(update), exc_info=error)
    if isinstance(update, Update):
        await _answer(update, ctx, t(ctx.lang, "error.unexpected"))
    await _tell_admins_once(ctx, error)


async def _answer(update: Update, ctx: Ctx, text: str) -> None:
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):  # the handler may have answered it already
            await update.callback_query.answer()
    try:
        if update.effective_chat is not None:
            await ctx.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML)
    except TelegramError:
        log.exception("could not answer update %s", _describe(update))


def _describe(update: object) -> str:
    if isinstance(update, Update):
        kind = "callback" if update.callback_query else "message"
        who = update.effective_user.id if update.effective_user else "?"
        return f"#{update.update_id} ({kind} from {who})"
    return repr(update)[:200]


async def _tell_admins_once(ctx: Ctx, error: BaseException | None) -> None:
    """An alert row to the admins, once per distinct error type and place (dedupe key)."""
    if error is None:
        return
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}" if tb else "?"
    key = f"{type(error).__name__}@{where}"
    try:
        await alert_role((Role.ADMIN,), "handler_error", f"handler-error:{key}"[:150],
                         {"error": key}, urgent=True)
    except Exception:  # the database itself may be what failed
        log.exception("could not queue the error report %s", key)
