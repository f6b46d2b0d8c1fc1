"""Replies, inline keyboards and callback data shared by the handler modules."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from bot.context import Ctx
from bot.i18n import t
from storage.errors import InvalidInput

__all__ = ["args_text", "button", "cb", "keyboard", "parse_cb", "reply", "split_fields"]

MAX_CALLBACK = 64


def cb(area: str, action: str, *args: object) -> str:
    """Callback data `area:action:arg...` (at most 64 bytes, as Telegram requires)."""
    data = ":".join([area, action, *(str(a) for a in args)])
    if len(data.encode()) > MAX_CALLBACK:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse_cb(data: str | None, area: str, count: int) -> list[str]:
    """The arguments of `area:action:...`; crafted or truncated data is one clear error."""
    parts = (data or "").split(":")
    if len(parts) != count + 2 or parts[0] != area:
        raise InvalidInput("callback")
    return parts[2:]


def button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [list(r) for r in rows if r]
    return InlineKeyboardMarkup(rows) if rows else None


async def reply(
    update: Update,
    ctx: Ctx,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = False,
) -> Message | None:
    """Answer the person who acted: a new message, or an edit of the pressed card."""
    query = update.callback_query
    if edit and query is not None and query.message is not None:
        result = await query.edit_message_text(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
        )
        return result if isinstance(result, Message) else None
    chat = update.effective_chat
    if chat is None:
        return None
    return await ctx.bot.send_message(
        chat.id, text, parse_mode=ParseMode.HTML, reply_markup=markup,
        disable_web_page_preview=True,
    )


def args_text(ctx: Ctx) -> str:
    """Everything after the command, as typed."""
    return " ".join(ctx.args or []).strip()


def split_fields(text: str, maximum: int) -> list[str]:
    """`a | b | c` → ['a', 'b', 'c'] (missing trailing fields are empty strings)."""
    parts = [p.strip() for p in text.split("|")] if text else []
    if len(parts) > maximum:
        raise InvalidInput("too_many_fields", maximum=maximum)
    return parts + [""] * (maximum - len(parts))


def tr(ctx: Ctx, key: str, **params: object) -> str:
    """Shortcut: the message in the actor's language."""
    return t(ctx.lang, key, **params)
