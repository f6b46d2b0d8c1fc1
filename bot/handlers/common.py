"""/start (with invite codes), /help, /cancel, /lang, and the text router for forms."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import Ctx
from bot.forms import Form, Step, cancel_form, feed_choice, feed_text, register_form, start_form
from bot.i18n import t, user_lang
from bot.ui import args_text, error_text, on_page, reply, tr
from storage.errors import InvalidInput, UserError
from storage.users import LANGUAGES, redeem_invite, set_language

# Choices offered in buttons while a user has a pending (non-form) choice in user_data.
_PENDING = ("pending_contact", "pending_deal")


async def start(update: Update, ctx: Ctx) -> None:
    """Greet a user; `/start CODE` registers a newcomer with an invitation."""
    code = args_text(ctx)
    if not ctx.has_actor:
        sender = update.effective_user
        assert sender is not None
        lang = user_lang(sender.language_code)
        try:
            user = await redeem_invite(code, sender.id, sender.full_name, lang)
        except UserError as err:  # answered in the newcomer's language, not the default
            await reply(update, ctx, error_text(lang, err.code, err.params))
            return
        ctx.actor = user
        await reply(update, ctx, tr(ctx, "start.registered", name=user.name, role=user.role.value))
        return
    await reply(update, ctx, tr(ctx, "start.hello", name=ctx.actor.name))


async def help_command(update: Update, ctx: Ctx) -> None:
    """The list of commands."""
    await reply(update, ctx, tr(ctx, "help.text"))


async def cancel(update: Update, ctx: Ctx) -> None:
    """Leave the current step-by-step flow."""
    had = await cancel_form(ctx)
    for key in _PENDING:
        had = (ctx.user_data or {}).pop(key, None) is not None or had
    await reply(update, ctx, tr(ctx, "form.cancelled" if had else "form.nothing"))


async def _lang_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(tr(ctx, f"lang.name_{code}"), code) for code in LANGUAGES]


async def _lang_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    await set_language(ctx.actor, values["lang"])
    await reply(update, ctx, tr(ctx, "lang.set"))


LANG = register_form(Form("lang", (Step("lang", "lang.ask", choices=_lang_choices),), _lang_done))


async def lang(update: Update, ctx: Ctx) -> None:
    """`/lang en|fr` sets the language of every message to this user; buttons without one."""
    code = args_text(ctx)
    if not code:
        await start_form(update, ctx, LANG)
        return
    await _lang_done(update, ctx, {"lang": code})


async def text(update: Update, ctx: Ctx) -> None:
    """A plain line: the answer to the pending form's question, or a hint."""
    if not await feed_text(update, ctx):
        await reply(update, ctx, tr(ctx, "help.hint"))


async def unknown_command(update: Update, ctx: Ctx) -> None:
    """A command nobody handles."""
    raise InvalidInput("unknown_command")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler(["help", "aide"], help_command))
    app.add_handler(CommandHandler(["cancel", "annuler"], cancel))
    app.add_handler(CommandHandler("lang", lang))
    app.add_handler(CallbackQueryHandler(feed_choice, pattern=r"^form:"))
    app.add_handler(CallbackQueryHandler(on_page, pattern=r"^pg:"))


async def stale_button(update: Update, ctx: Ctx) -> None:
    """A button whose data matches no area (an outdated keyboard)."""
    assert update.callback_query is not None
    await update.callback_query.answer(tr(ctx, "error.callback"), show_alert=True)


def register_fallbacks(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Registered after every area: plain text feeds forms; unknown commands get a hint;
    buttons of outdated keyboards are answered as such."""
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text))
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(CallbackQueryHandler(stale_button))


__all__ = ["register", "register_fallbacks", "t"]
