"""Access control: only registered, active users reach any command or button.

Runs first (handler group -1) on every update. In a group chat, `bot.groups` decides
first what the bot may hear (and strangers get nothing at all there). A stranger gets one
polite refusal that reveals nothing, the attempt is logged, and the update stops here; the
only exception is `/start CODE`, which the start handler turns into a registration.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationHandlerStop

from bot.context import Ctx
from bot.groups import DEEP_LINK_PAYLOAD, Verdict, deep_link, group_verdict, private_keyboard
from bot.i18n import t, user_lang
from bot.logs import bind, truncate

__all__ = ["check_access"]

log = logging.getLogger(__name__)


def _is_invite_start(update: Update) -> bool:
    message = update.message
    text = (message.text or "") if message else ""
    parts = text.split()
    return (
        len(parts) == 2
        and parts[0].split("@")[0] == "/start"
        and parts[1] != DEEP_LINK_PAYLOAD
        and update.effective_chat is not None
        and update.effective_chat.type == "private"
    )


def _what(update: Update) -> str:
    """The update in a few words for the log: a command and its first characters."""
    if update.callback_query is not None:
        return f"button {truncate(update.callback_query.data, 40)}"
    message = update.effective_message
    if message is None:
        return "other"
    if message.text:
        return truncate(message.text)
    return "document" if message.document else "contact" if message.contact else "message"


async def check_access(update: Update, ctx: Ctx) -> None:
    """Attach the acting user to the context, or refuse and stop the update."""
    sender = update.effective_user
    # Every line logged while this update is handled carries its id (and the user's once
    # known): set first, so no update keeps a previous one's context.
    bind(update_id=update.update_id, user_id=None)
    if sender is None:
        raise ApplicationHandlerStop
    verdict = group_verdict(update, ctx.bot.username)
    if verdict is Verdict.IGNORE:
        raise ApplicationHandlerStop
    user = await ctx.services.resolve_user(sender.id)
    if user is not None:
        ctx.actor = user
        bind(user_id=user.id)
        log.info("update %s from U%s: %s", update.update_id, user.id, _what(update))
        if verdict is Verdict.REDIRECT:
            await _to_private(update, ctx)
            raise ApplicationHandlerStop
        return
    if verdict is not Verdict.PRIVATE:  # a stranger in a group: not a word there
        log.warning("ignored group update from unregistered telegram id %s", sender.id)
        raise ApplicationHandlerStop
    if _is_invite_start(update):
        return
    log.warning("refused update from unregistered telegram id %s", sender.id)
    lang = user_lang(sender.language_code)
    if update.callback_query is not None:
        await update.callback_query.answer(t(lang, "access.refused"), show_alert=True)
    elif update.effective_chat is not None and update.effective_chat.type == "private":
        await ctx.bot.send_message(update.effective_chat.id, t(lang, "access.refused"))
    raise ApplicationHandlerStop


async def _to_private(update: Update, ctx: Ctx) -> None:
    """In a group: "write to me in private", with the link, and nothing else."""
    username = ctx.bot.username
    if update.callback_query is not None:  # a pop-up seen by the presser only
        await update.callback_query.answer(t(ctx.lang, "group.private"), show_alert=True)
        return
    assert update.effective_chat is not None
    await ctx.bot.send_message(
        update.effective_chat.id,
        t(ctx.lang, "group.private_link", link=deep_link(username)),
        parse_mode=ParseMode.HTML,
        reply_markup=private_keyboard(t(ctx.lang, "group.open_private"), username),
        disable_web_page_preview=True,
    )
