"""Builds the python-telegram-bot Application: handlers, error handler, jobs, rate limiter."""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any

from telegram import BotCommand, Update
from telegram._utils.defaultvalue import DefaultValue
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BasePersistence,
    ContextTypes,
    ExtBot,
    TypeHandler,
)
from telegram.request import BaseRequest

import bot.handlers
from bot.access import check_access
from bot.context import Ctx, Services
from bot.errors import TolerantBot, on_error
from bot.handlers.common import register_fallbacks
from bot.i18n import t
from bot.updates import PerUserUpdateProcessor

__all__ = ["MENU", "build_application", "on_error"]

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
    concurrent_updates: int = 1,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application with every handler module registered (group 0) after the access check.

    `persistence`: where user/chat data and forms in progress live (`bot.persistence`).
    `rate_limit`: PTB's AIORateLimiter (Telegram's flood limits); off only against a fake API.
    `concurrent_updates`: above 1, updates of different users run concurrently, each user's
    and chat's one by one in order (`bot.updates`); 1 = every update one by one.
    """
    builder = (
        _Builder().token(token or "0:console").context_types(ContextTypes(context=Ctx)).post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if services.settings.telegram_api_url:  # files come from the same server: the token
        api = services.settings.telegram_api_url.rstrip("/")  # never goes to another host
        builder = builder.base_url(api + "/bot").base_file_url(api + "/file/bot")
    if rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    if not jobs:
        builder = builder.job_queue(None)
    if persistence is not None:
        builder = builder.persistence(persistence)
    if concurrent_updates > 1:
        builder = builder.concurrent_updates(PerUserUpdateProcessor(concurrent_updates))
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


class _Builder(ApplicationBuilder):  # type: ignore[type-arg]  # PTB's builder generics are for its own use
    """The builder whose bot is a `TolerantBot` (late answers, no-op edits are not errors)."""

    def _build_ext_bot(self) -> ExtBot[Any]:
        if isinstance(self._token, DefaultValue):
            raise RuntimeError("No bot token was set.")
        return TolerantBot(
            token=self._token,
            base_url=DefaultValue.get_value(self._base_url),
            base_file_url=DefaultValue.get_value(self._base_file_url),
            defaults=DefaultValue.get_value(self._defaults),
            request=self._build_request(get_updates=False),
            get_updates_request=self._build_request(get_updates=True),
            rate_limiter=DefaultValue.get_value(self._rate_limiter),
            local_mode=DefaultValue.get_value(self._local_mode),
        )


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
