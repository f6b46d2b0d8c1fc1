"""The application's error handler, and the Bot API refusals that are not errors.

- A user's mistake (`UserError`) gets its one sentence.
- "query is too old" (a button pressed while the bot was down, answered late), any other
  failure to answer a button (network, flood control: answering only stops its spinner)
  and "message is not modified" (an edit that changes nothing) are not errors:
  `TolerantBot` swallows them at the source, so the handler goes on and does what the
  button says.
- Anything else is logged with context and apologised for. The apology says "nothing was
  changed" only when the failure came before the reply (each use-case is one transaction:
  an exception inside it rolls it back). When the reply itself failed (a `TelegramError`
  raised by a Bot API call after the use-case returned), the user is told it was saved.
- Admins get one alert per handler and kind of error per hour, with a count
  (`storage.error_reports`).
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import telegram
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.context import Ctx
from bot.i18n import t
from bot.ui import error_text
from storage.error_reports import report_error
from storage.errors import UserError

__all__ = ["TolerantBot", "error_key", "on_error"]

log = logging.getLogger(__name__)

_LATE = ("query is too old", "query id is invalid")
_NOT_MODIFIED = "message is not modified"
_HANDLERS = Path(__file__).resolve().parent / "handlers"
_BOT = Path(__file__).resolve().parent


class TolerantBot(ExtBot[None]):
    """The bot whose late callback answers and no-op edits are not failures."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answered: OrderedDict[str, None] = OrderedDict()  # recent query ids answered

    def was_answered(self, query_id: str) -> bool:
        return query_id in self._answered

    async def answer_callback_query(self, callback_query_id: str, *args: Any, **kwargs: Any) -> bool:
        self._answered[callback_query_id] = None  # tried once: never twice (Telegram refuses)
        while len(self._answered) > 10_000:
            self._answered.popitem(last=False)
        try:
            return await super().answer_callback_query(callback_query_id, *args, **kwargs)
        except BadRequest as err:
            if not any(p in err.message.lower() for p in _LATE):
                raise  # a malformed answer (too long a text...) is a bug: reported
            log.info("callback answered too late (the action still runs): %s", err.message)
            return False
        except TelegramError as err:  # answering only stops the button's spinner
            log.warning("could not answer a callback (the action still runs): %s", err)
            return False

    async def edit_message_text(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().edit_message_text(*args, **kwargs)
        except BadRequest as err:
            if _NOT_MODIFIED not in err.message.lower():
                raise
            return True

    async def edit_message_reply_markup(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().edit_message_reply_markup(*args, **kwargs)
        except BadRequest as err:
            if _NOT_MODIFIED not in err.message.lower():
                raise
            return True


_STORAGE = _BOT.parent / "storage"
_TELEGRAM = Path(telegram.__file__).resolve().parent
_BEFORE_THE_ACTION = {"answer_callback_query", "get_file", "get_me", "get_chat"}


def failed_after_the_change(error: BaseException) -> bool:
    """Whether the use-case had returned (its transaction committed) when this failed.

    A handler parses, calls ONE use-case (one transaction: an exception inside it rolls it
    back), then renders. So the change was saved exactly when the failure is Telegram
    refusing the reply: a `TelegramError` raised outside every storage frame, by a call
    that renders (send, edit), not by one made before the action (answering the button,
    fetching a file)."""
    if not isinstance(error, TelegramError):
        return False
    tb = error.__traceback__
    calls: set[str] = set()
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename).resolve()
        if path.is_relative_to(_STORAGE):
            return False  # raised inside a use-case (a progress message, say): rolled back
        if path.is_relative_to(_TELEGRAM) or path == Path(__file__).resolve():
            calls.add(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return bool(calls) and not calls & _BEFORE_THE_ACTION


def error_key(error: BaseException) -> str:
    """`area.function:ErrorType`: the chat handler that failed (its outermost frame under
    bot/handlers, else under bot/) and the kind of error — not the innermost library frame."""
    where = "?"
    fallback = "?"
    tb = error.__traceback__
    while tb is not None:
        path = Path(tb.tb_frame.f_code.co_filename).resolve()
        name = f"{path.stem}.{tb.tb_frame.f_code.co_name}"
        if path.parent == _HANDLERS:
            where = name
            break
        if fallback == "?" and path.is_relative_to(_BOT) and path.stem != "errors":
            fallback = name
        tb = tb.tb_next
    if where == "?":
        where = fallback
    return f"{where}:{type(error).__name__}"


async def on_error(update: object, ctx: Ctx) -> None:
    """User mistakes get their one sentence; anything else is logged, apologised, reported."""
    error = ctx.error
    if isinstance(update, Update) and update.effective_user is not None and not ctx.has_actor:
        with contextlib.suppress(Exception):
            user = await ctx.services.resolve_user(update.effective_user.id)
            if user is not None:
                ctx.actor = user
    if isinstance(error, UserError) and isinstance(update, Update):
        await _answer(update, ctx, error_text(ctx.lang, error.code, error.params))
        return
    if error is None:
        return
    key = error_key(error)
    log.error("unhandled error %s for update %s", key, _describe(update), exc_info=error)
    if isinstance(update, Update):
        saved = failed_after_the_change(error)
        await _answer(update, ctx, t(ctx.lang, "error.reply_failed" if saved else "error.unexpected"))
    try:
        await report_error(key, datetime.now(UTC))
    except Exception:  # the database itself may be what failed
        log.exception("could not queue the error report %s", key)


async def _answer(update: Update, ctx: Ctx, text: str) -> None:
    query = update.callback_query
    answered = isinstance(ctx.bot, TolerantBot) and query is not None and ctx.bot.was_answered(query.id)
    if query is not None and not answered:
        with contextlib.suppress(TelegramError):
            await query.answer()
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
    return type(update).__name__
