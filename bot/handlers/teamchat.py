"""/teamchat: a manager names the group chat that receives team-wide alerts."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import Ctx
from bot.ui import args_text, reply, tr
from storage.alerts import set_team_chat


async def teamchat(update: Update, ctx: Ctx) -> None:
    """`/teamchat` in a group: team alerts go there; `/teamchat off` stops that."""
    chat = update.effective_chat
    if chat is None or chat.type == "private":
        await reply(update, ctx, tr(ctx, "teamchat.private"))
        return
    off = args_text(ctx).lower() in ("off", "stop", "non")
    await set_team_chat(ctx.actor, None if off else chat.id)
    await reply(update, ctx, tr(ctx, "teamchat.cleared" if off else "teamchat.set"))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("teamchat", teamchat))
