"""Payments read from the bank: /payments [recent|unmatched|quarantine], /match, pick buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.i18n import Safe, fmt_date, fmt_money, reasons_text
from bot.ui import args_text, button, cb, clip, keyboard, parse_cb, reply, send_list, tr
from storage.errors import InvalidInput
from storage.ids import parse_id
from storage.models import InboxMessage, Payment, PaymentDirection, PaymentStatus
from storage.payments import get_payment, likely_invoices, list_payments, list_quarantine, match_payment
from storage.payments.notes import notes_of, said_notes

LISTS = {
    "recent": "recent",
    "récents": "recent",
    "recents": "recent",
    "unmatched": "unmatched",
    "nonrapproches": "unmatched",
    "quarantine": "quarantine",
}


def _line(ctx: Ctx, p: Payment) -> str:
    if p.status == PaymentStatus.MATCHED and p.invoice is not None:
        state = tr(ctx, "payments.state_matched", number=p.invoice.number or "")
    elif p.status == PaymentStatus.UNMATCHED:
        state = tr(ctx, "payments.state_unmatched")
    else:
        state = tr(ctx, "payments.state_ignored", direction=p.direction.value)
    return tr(
        ctx,
        "payments.line",
        id=p.id,
        date=fmt_date(p.booking_date, ctx.lang),
        amount=fmt_money(p.amount_cents, p.currency, ctx.lang),
        payer=p.payer_name or "?",
        state=state,
    )


def _mail_line(ctx: Ctx, m: InboxMessage) -> str:
    reason = reasons_text(ctx.lang, m.reasons) if m.reasons else m.reason
    return tr(
        ctx,
        "payments.quarantine_line",
        id=m.id,
        status=m.status.value,
        sender=m.sender,
        subject=clip(m.subject, 200),
        reason=Safe(reason) if m.reasons else clip(reason, 300),
    )


async def payments(update: Update, ctx: Ctx) -> None:
    """`/payments [recent|unmatched|quarantine]`."""
    which = LISTS.get((args_text(ctx) or "recent").lower())
    if which is None:
        raise InvalidInput("payments_list")
    if which == "quarantine":
        mails = await list_quarantine(ctx.actor)
        if not mails:
            await reply(update, ctx, tr(ctx, "payments.quarantine_none"))
            return
        await send_list(
            update, ctx, tr(ctx, "payments.title_quarantine"), [_mail_line(ctx, m) for m in mails]
        )
        return
    found = await list_payments(ctx.actor, which)
    if not found:
        await reply(update, ctx, tr(ctx, "payments.none"))
        return
    rows = [
        [button(f"P{p.id} {fmt_money(p.amount_cents, p.currency, ctx.lang)}", cb("pay", "show", p.id))]
        if p.status == PaymentStatus.UNMATCHED
        else []
        for p in found
    ]
    await send_list(update, ctx, tr(ctx, f"payments.title_{which}"), [_line(ctx, p) for p in found], rows)


def _notes(ctx: Ctx, p: Payment) -> str:
    """What the matcher must know, in the reader's language; a payment recorded before the
    notes were messages shows its English text as written."""
    notes = notes_of(p.notes)
    if notes:
        return Safe("".join(f"\n⚠️ {note}" for note in said_notes(ctx.lang, notes)))
    return f"\n⚠️ {p.note[:600]}" if p.note else ""


def _due(ctx: Ctx, cents: int, currency: str) -> str:
    return fmt_money(cents, currency, ctx.lang)


async def _show(update: Update, ctx: Ctx, payment_id: int) -> None:
    p = await get_payment(ctx.actor, payment_id)
    text = tr(
        ctx,
        "payments.card",
        id=p.id,
        amount=fmt_money(p.amount_cents, p.currency, ctx.lang),
        date=fmt_date(p.booking_date, ctx.lang),
        payer=p.payer_name or "?",
        iban=p.payer_iban or "",
        reference=p.reference or "—",
        remittance=(p.remittance or "—")[:300],
        note=_notes(ctx, p),
    )
    if p.status != PaymentStatus.UNMATCHED:
        await reply(update, ctx, text + "\n" + _line(ctx, p))
        return
    candidates = await likely_invoices(ctx.actor, p.id)
    rows = [
        [
            button(
                f"{i.number} — {_due(ctx, i.total_gross_cents - i.paid_cents, i.currency)}"[:60],
                cb("pay", "match", p.id, i.id),
            )
        ]
        for i in candidates
    ]
    hint = tr(ctx, "payments.pick") if rows else tr(ctx, "payments.no_candidate", id=p.id)
    await reply(update, ctx, f"{text}\n\n{hint}", keyboard(rows))


async def _match(update: Update, ctx: Ctx, payment_id: int, invoice: int | str, edit: bool) -> None:
    payment, inv = await match_payment(ctx.actor, payment_id, invoice, now=datetime.now(UTC))
    key = "payments.returned" if payment.direction == PaymentDirection.REVERSAL else "payments.matched"
    await reply(
        update,
        ctx,
        tr(
            ctx,
            key,
            id=payment.id,
            number=inv.number or "",
            amount=fmt_money(payment.amount_cents, payment.currency, ctx.lang),
            balance=fmt_money(inv.total_gross_cents - inv.paid_cents, inv.currency, ctx.lang),
        ),
        edit=edit,
    )


async def match(update: Update, ctx: Ctx) -> None:
    """`/match P12 F2026-00042`."""
    parts = args_text(ctx).split(maxsplit=1)
    if len(parts) != 2:
        raise InvalidInput("usage", usage="/match P12 F2026-00042")
    await _match(update, ctx, parse_id(parts[0], "P"), parts[1], edit=False)


async def on_button(update: Update, ctx: Ctx) -> None:
    """Payment buttons; the permission is checked again by the use-case at press time."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    action = (query.data or "").split(":")[1:2]
    if action == ["show"]:
        (raw,) = parse_cb(query.data, "pay", 1)
        await _show(update, ctx, parse_id(raw, "P"))
    elif action == ["match"]:
        payment_raw, invoice_raw = parse_cb(query.data, "pay", 2)
        await _match(update, ctx, parse_id(payment_raw, "P"), parse_id(invoice_raw, "I"), edit=True)
    else:
        raise InvalidInput("callback")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["payments", "paiements"], payments))
    app.add_handler(CommandHandler(["match", "rapprocher"], match))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^pay:"))
