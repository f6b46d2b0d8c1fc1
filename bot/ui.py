"""Replies, inline keyboards, callback data and the list pager shared by the handler modules.

Telegram's limits are part of the contract: a message shows at most 4,096 characters
(captions 1,024) once its HTML is parsed, callback data is at most 64 bytes, a keyboard
holds at most 100 buttons (8 per row). `reply` never sends more than a message may hold
(`clip_html` cuts the visible text and keeps the tags balanced, as a last resort); lists
page with ◀ / ▶ buttons through `send_list`, one helper for every list.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from bot.context import Ctx
from bot.i18n import Safe, t
from storage.errors import InvalidInput

__all__ = [
    "MAX_CAPTION",
    "MAX_TEXT",
    "args_text",
    "button",
    "cb",
    "clip",
    "clip_html",
    "error_text",
    "keyboard",
    "on_page",
    "parse_cb",
    "reply",
    "send_list",
    "split_fields",
    "visible_length",
]

log = logging.getLogger(__name__)

MAX_CALLBACK = 64
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100
MAX_ROW = 8
PAGE_ITEMS = 10  # items per page of a list (each may carry its button row)
PAGE_CHARS = 3500  # visible characters per page, leaving room for header and footer
MAX_LIST = 1000  # items kept for paging; a longer list says so and asks to narrow it

_TOKEN = re.compile(r"<[^<>]*>|&(?:#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);|.", re.DOTALL)
_OPEN = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")


_TAGS = re.compile(r"<[^<>]*>")
_ENTITY = re.compile(r"&(?:#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);")


def visible_length(text: str) -> int:
    """The characters Telegram counts: tags removed, entities as one character each."""
    if "<" not in text and "&" not in text:
        return len(text)
    return len(_ENTITY.sub("&", _TAGS.sub("", text)))


def clip_html(text: str, limit: int) -> str:
    """`text` with at most `limit` visible characters (ending with …), tags kept balanced."""
    if visible_length(text) <= limit:
        return text
    out: list[str] = []
    stack: list[str] = []
    count = 0
    for tok in _TOKEN.findall(text):
        if tok.startswith("<") and len(tok) > 1:
            if tok.startswith("</"):
                if stack:
                    stack.pop()
            elif not tok.endswith("/>"):
                m = _OPEN.match(tok)
                if m:
                    stack.append(m.group(1))
            out.append(tok)
            continue
        if count >= limit - 1:
            break
        out.append(tok)
        count += 1
    # drop tags opened after the cut point's last text (empty elements are fine anyway)
    return "".join(out) + "…" + "".join(f"</{name}>" for name in reversed(stack))


def clip(value: str, limit: int) -> str:
    """A plain (not yet escaped) value cut to `limit` characters with …"""
    return value if len(value) <= limit else value[: limit - 1] + "…"


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
    return InlineKeyboardButton(clip(label, 64) or "…", callback_data=data)


def keyboard(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    """Rows of buttons (a row over 8 buttons wraps); every keyboard the bot sends is built
    here, so callback data over 64 bytes or over 100 buttons fail here, not at Telegram."""
    out: list[list[InlineKeyboardButton]] = []
    for row in rows:
        row = list(row)
        out += [row[i : i + MAX_ROW] for i in range(0, len(row), MAX_ROW)]
    buttons = [b for row in out for b in row]
    if len(buttons) > MAX_BUTTONS:
        raise ValueError(f"{len(buttons)} buttons in one keyboard (Telegram allows {MAX_BUTTONS})")
    for b in buttons:
        if isinstance(b.callback_data, str) and len(b.callback_data.encode()) > MAX_CALLBACK:
            raise ValueError(f"callback data too long: {b.callback_data!r}")
    return InlineKeyboardMarkup(out) if out else None


async def reply(
    update: Update,
    ctx: Ctx,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    edit: bool = False,
) -> Message | None:
    """Answer the person who acted: a new message, or an edit of the pressed card.

    Never more than a message holds: an over-long text (a bug: lists page, cards are
    bounded) is cut, with a warning in the log, rather than refused by Telegram."""
    if visible_length(text) > MAX_TEXT:
        log.warning("reply of %d characters cut to %d", visible_length(text), MAX_TEXT)
        text = clip_html(text, MAX_TEXT)
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
        chat.id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
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


EXCERPT = 60  # characters of the user's own input quoted back in an error sentence


def error_text(lang: str, code: str, params: dict[str, Any]) -> Safe:
    """The sentence of a `UserError`, quoting at most a short excerpt of what was typed."""
    short = {
        k: clip(v, EXCERPT) if isinstance(v, str) and not isinstance(v, Safe) else v
        for k, v in params.items()
    }
    return t(lang, f"error.{code}", **short)


def tr(ctx: Ctx, key: str, **params: object) -> str:
    """Shortcut: the message in the actor's language."""
    return t(ctx.lang, key, **params)


# Lists that page ------------------------------------------------------------------------


def _pages(header: str, lines: Sequence[str], footer: str) -> list[tuple[int, int]]:
    """(start, end) of each page: at most PAGE_ITEMS lines and PAGE_CHARS characters."""
    budget = PAGE_CHARS - visible_length(header) - visible_length(footer)
    pages: list[tuple[int, int]] = []
    start, size = 0, 0
    for i, line in enumerate(lines):
        length = visible_length(line) + 1
        if i > start and (i - start >= PAGE_ITEMS or size + length > budget):
            pages.append((start, i))
            start, size = i, 0
        size += length
    pages.append((start, len(lines)))
    return pages


def _render_page(ctx: Ctx, snapshot: dict[str, Any], page: int) -> tuple[str, Any]:
    lines: list[str] = snapshot["lines"]
    pages = _pages(snapshot["header"], lines, snapshot["footer"])
    page = max(0, min(page, len(pages) - 1))
    start, end = pages[page]
    budget = max(200, PAGE_CHARS - visible_length(snapshot["header"]) - visible_length(snapshot["footer"]))
    body = [clip_html(line, budget) for line in lines[start:end]]
    parts = [snapshot["header"], *body]
    if len(pages) > 1:
        parts.append(t(ctx.lang, "list.page", page=page + 1, pages=len(pages)))
    if snapshot["footer"]:
        parts.append(snapshot["footer"])
    rows: list[list[InlineKeyboardButton]] = [
        [button(label, data) for label, data in row] for row in snapshot["rows"][start:end] if row
    ]
    token = snapshot["token"]
    nav = []
    if page > 0:
        nav.append(button(t(ctx.lang, "list.prev"), cb("pg", token, page - 1)))
    if page < len(pages) - 1:
        nav.append(button(t(ctx.lang, "list.next"), cb("pg", token, page + 1)))
    rows.append(nav)
    rows += [[button(label, data) for label, data in row] for row in snapshot.get("extra", [])]
    return "\n".join(p for p in parts if p), keyboard(rows)


async def send_list(
    update: Update,
    ctx: Ctx,
    header: str,
    lines: Sequence[str],
    rows: Sequence[Sequence[InlineKeyboardButton]] | None = None,
    *,
    footer: str = "",
    extra: Sequence[Sequence[InlineKeyboardButton]] = (),
    edit: bool = False,
) -> None:
    """Send a list one page at a time, with ◀ / ▶ buttons when it does not fit one message.

    `rows[i]` (optional) is the button row of `lines[i]`: it shows on the same page. The
    list is kept (for this user, the latest lists only) so that ◀ / ▶ turn its pages.
    `extra` rows (the list's own actions) show under every page."""
    lines = list(lines)
    if len(lines) > MAX_LIST:
        footer = (footer + "\n" if footer else "") + t(
            ctx.lang, "list.truncated", shown=MAX_LIST, total=len(lines)
        )
        lines = lines[:MAX_LIST]
    plain_rows = [[(str(b.text), str(b.callback_data)) for b in row] for row in (rows or [])][: len(lines)]
    plain_rows += [[] for _ in range(len(lines) - len(plain_rows))]
    token = secrets.token_hex(4)
    snapshot = {
        "token": token,
        "header": str(header),
        "lines": [str(x) for x in lines],
        "rows": plain_rows,
        "footer": str(footer),
        "extra": [[(str(b.text), str(b.callback_data)) for b in row] for row in extra],
    }
    assert ctx.user_data is not None
    kept: dict[str, Any] = ctx.user_data.setdefault("lists", {})
    kept[token] = snapshot
    while len(kept) > 5:  # the five latest lists of this user can still turn pages
        kept.pop(next(iter(kept)))
    text, markup = _render_page(ctx, snapshot, 0)
    await reply(update, ctx, Safe(text), markup, edit=edit)


async def on_page(update: Update, ctx: Ctx) -> None:
    """◀ / ▶ of a list: show that page in place."""
    query = update.callback_query
    assert query is not None
    (raw,) = parse_cb(query.data, "pg", 1)  # pg:<list token>:<page>
    token = (query.data or "").split(":")[1]
    snapshot = ((ctx.user_data or {}).get("lists") or {}).get(token)
    await query.answer()
    if snapshot is None or not raw.isdigit():
        raise InvalidInput("list_expired")
    text, markup = _render_page(ctx, snapshot, int(raw))
    await reply(update, ctx, Safe(text), markup, edit=True)
