"""Collections: /collections, and the overdue alert's buttons (remind, call, promise, dispute)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import escape
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.handlers.invoices import refund_lines
from bot.i18n import catalogue, fmt_date, fmt_money, t
from bot.jobs.loop import local_day
from bot.seller import company_from_settings
from bot.ui import clip, parse_cb, reply, send_list, tr
from storage.collections import (
    get_task,
    list_collections,
    log_call,
    promise_to_pay,
    send_reminder_now,
    set_disputed,
)
from storage.errors import InvalidInput
from storage.ids import parse_id
from storage.parsing import parse_date


def _today(ctx: Ctx) -> tuple[datetime, Any]:
    now = datetime.now(UTC)
    return now, local_day(now, ctx.settings)[0]


async def collections(update: Update, ctx: Ctx) -> None:
    """`/collections`: open tasks with amount and days overdue, oldest first."""
    _, today = _today(ctx)
    rows = await list_collections(ctx.actor, today)
    refunds = await refund_lines(ctx)  # money WE owe back: credit notes on paid invoices
    if not rows:
        await reply(update, ctx, "\n".join([tr(ctx, "coll.none"), *refunds]))
        return
    lines = []
    for r in rows:
        line = tr(
            ctx,
            "coll.row",
            task=r.task_id,
            number=r.number,
            contact=r.contact,
            amount=fmt_money(r.due_cents, r.currency, ctx.lang),
            days=r.days_overdue,
            level=r.level,
            owner=r.owner,
        )
        if r.promised_date:
            line += tr(ctx, "coll.promised", date=fmt_date(r.promised_date, ctx.lang))
        if r.disputed:
            line += tr(ctx, "coll.disputed")
        lines.append(line)
    await send_list(update, ctx, tr(ctx, "coll.title"), [*lines, *refunds])


async def _call_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    now, _ = _today(ctx)
    event = await log_call(ctx.actor, parse_id(values["task"], "R"), values["note"], now)
    task = await get_task(ctx.actor, event.task_id)
    await reply(update, ctx, tr(ctx, "coll.call_logged", number=task.invoice.number or ""))


async def _promise_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    now, today = _today(ctx)
    promised = parse_date(values["date"], today)
    task = await promise_to_pay(ctx.actor, parse_id(values["task"], "R"), promised, today, now)
    await reply(
        update,
        ctx,
        tr(ctx, "coll.promise_set", number=task.invoice.number or "", date=fmt_date(promised, ctx.lang)),
    )


def _check_date(ctx: Ctx, value: str) -> None:
    today = _today(ctx)[1]
    if parse_date(value, today) < today:
        raise InvalidInput("promise_past", date=value)


CALL = register_form(
    Form("coll_call", (Step("task", "coll.ask_task"), Step("note", "coll.ask_note")), _call_done)
)
PROMISE = register_form(
    Form(
        "coll_promise",
        (Step("task", "coll.ask_task"), Step("date", "coll.ask_date", check=_check_date)),
        _promise_done,
    )
)


async def on_button(update: Update, ctx: Ctx) -> None:
    """The overdue alert's buttons; each press re-checks the user's right on the task."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    action = (query.data or "").split(":")[1:2]
    (raw,) = parse_cb(query.data, "coll", 1)
    task = await get_task(ctx.actor, parse_id(raw, "R"))
    now, today = _today(ctx)
    if action == ["remind"]:
        await send_reminder_now(ctx.actor, task.id, today, now, company_from_settings(ctx.settings))
        await reply(update, ctx, tr(ctx, "coll.reminded", number=task.invoice.number or ""))
    elif action == ["call"]:
        await start_form(update, ctx, CALL, task=f"R{task.id}")
    elif action == ["promise"]:
        await start_form(update, ctx, PROMISE, task=f"R{task.id}")
    elif action == ["dispute"]:
        task = await set_disputed(ctx.actor, task.id, not task.disputed, now)
        key = "coll.disputed_set" if task.disputed else "coll.resolved_set"
        await reply(update, ctx, tr(ctx, key, number=task.invoice.number or ""))
    elif action == ["invoice"]:
        await _invoice_card(update, ctx, task.id)
    else:
        raise InvalidInput("callback")


EVENTS_IN_CARD = 15  # the newest entries of the task's log
# Notes the collection rules write themselves (storage.collections, payments, invoicing):
# said in the reader's language; any other note is a person's words, shown as typed.
_NOTES = {
    "email queued": "coll.note.email_queued",
    "no email address": "coll.note.no_email",
    "escalated": "coll.note.escalated",
    "skipped": "coll.note.skipped",
    "platform": "coll.note.platform",
    "payment returned": "coll.note.payment_returned",
    "paid": "coll.closed.paid",
    "credited": "coll.closed.credited",
}


def _event_text(lang: str, kind: str, note: str) -> str:
    """One entry of a task's log: what happened and its note, in `lang`."""
    level = re.fullmatch(r"level(\d+)", kind)
    if level:
        what = str(t(lang, "coll.event.level", level=int(level.group(1))))
    else:
        what = str(t(lang, f"coll.event.{kind}")) if f"coll.event.{kind}" in catalogue() else escape(kind)
    tone = re.fullmatch(r"tone (\d+)", note)
    if note in _NOTES:
        said = str(t(lang, _NOTES[note]))
    elif tone:
        said = str(t(lang, "coll.note.tone", tone=int(tone.group(1))))
    elif kind == "promise" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", note):
        said = fmt_date(date.fromisoformat(note), lang)
    else:
        said = escape(clip(note, 300))
    return f"{what} {said}"


async def _invoice_card(update: Update, ctx: Ctx, task_id: int) -> None:
    """The overdue invoice and the task's log."""
    task = await get_task(ctx.actor, task_id)
    inv, lang = task.invoice, ctx.lang
    lines = [
        tr(
            ctx,
            "coll.card",
            number=inv.number or "",
            contact=inv.contact.name,
            total=fmt_money(inv.total_gross_cents, inv.currency, lang),
            paid=fmt_money(inv.paid_cents, inv.currency, lang),
            due=fmt_date(inv.due_date, lang),
            level=task.level,
        )
    ]
    events = await task.events.all().order_by("-id").limit(EVENTS_IN_CARD + 1)
    if len(events) > EVENTS_IN_CARD:
        lines.append(tr(ctx, "coll.older_events"))
    for event in reversed(events[:EVENTS_IN_CARD]):
        day = event.at.astimezone(ctx.settings.zone).date()  # the company's date, not UTC
        lines.append(f"• {fmt_date(day, lang)} {_event_text(lang, event.kind, event.note or '')}".rstrip())
    await reply(update, ctx, "\n".join(lines))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["collections", "recouvrements"], collections))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^coll:"))
