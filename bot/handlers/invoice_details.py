"""Draft details: /invoiceref (order number, buyer reference), /period, /discount,
/linediscount; and the billing email offer button."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.i18n import fmt_date, fmt_money
from bot.seller import seller_from_settings
from bot.ui import args_text, button, cb, keyboard, parse_cb, reply, tr
from storage.contacts import get_contact
from storage.errors import InvalidInput
from storage.formatting import fmt_rate
from storage.ids import parse_id
from storage.invoice_details import (
    Discount,
    adopt_billing_email,
    billing_email_offer,
    check_reference,
    parse_discount,
    set_invoice_discount,
    set_line_discount,
    set_period,
    set_references,
)
from storage.invoicing import Totals, find_invoice
from storage.models import Invoice, InvoiceLine
from storage.parsing import parse_date
from storage.vat import REASONS

__all__ = ["billing_offer_keyboard", "draft_details", "offer_text"]


def _today(ctx: Ctx) -> date:
    return datetime.now(ctx.settings.zone).date()


def _amount(ctx: Ctx, discount: Discount, currency: str) -> str:
    if discount.percent_bp:
        return fmt_rate(discount.percent_bp, ctx.lang)
    return fmt_money(discount.amount_cents, currency, ctx.lang)


def _refs_text(ctx: Ctx, inv: Invoice) -> str:
    none = tr(ctx, "details.none")
    return tr(ctx, "invref.saved", id=inv.id, po=inv.purchase_order or none, ref=inv.buyer_reference or none)


async def invoice_ref(update: Update, ctx: Ctx) -> None:
    """`/invoiceref I7 PO-4471`: the client's order number (BT-13); a button sets the
    buyer reference (BT-10)."""
    parts = args_text(ctx).split(maxsplit=1)
    if not parts:
        raise InvalidInput("usage", usage="/invoiceref I7 PO-4471")
    invoice_id = (await find_invoice(ctx.actor, parts[0])).id
    inv = await set_references(ctx.actor, invoice_id, purchase_order=parts[1] if len(parts) > 1 else None)
    rows = [[button(tr(ctx, "invref.btn_buyer"), cb("iref", "buyer", inv.id))]]
    await reply(update, ctx, _refs_text(ctx, inv), keyboard(rows))


async def _buyer_ref_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    inv = await set_references(
        ctx.actor, parse_id(values["invoice"], "I"), buyer_reference=values["reference"]
    )
    await reply(update, ctx, _refs_text(ctx, inv))


def _check_buyer_ref(ctx: Ctx, value: str) -> None:
    check_reference(value, "buyer_reference")


BUYER_REF = register_form(
    Form(
        "invoice_buyer_ref",
        (Step("invoice", "invref.ask_buyer"), Step("reference", "invref.ask_buyer", check=_check_buyer_ref)),
        _buyer_ref_done,
    )
)


async def period(update: Update, ctx: Ctx) -> None:
    """`/period I7 01/11 30/11` (or `/period I7 -` to clear): the invoicing period (BG-14)."""
    parts = args_text(ctx).split()
    if len(parts) not in (2, 3):
        raise InvalidInput("usage", usage="/period I7 01/11/2026 30/11/2026")
    invoice_id = (await find_invoice(ctx.actor, parts[0])).id
    if len(parts) == 2 and parts[1] == "-":
        await set_period(ctx.actor, invoice_id, None, None)
        await reply(update, ctx, tr(ctx, "period.cleared", id=invoice_id))
        return
    if len(parts) != 3:
        raise InvalidInput("invoice_period")
    start, end = parse_date(parts[1], _today(ctx)), parse_date(parts[2], _today(ctx))
    await set_period(ctx.actor, invoice_id, start, end)
    await reply(
        update,
        ctx,
        tr(ctx, "period.saved", id=invoice_id, start=fmt_date(start, ctx.lang), end=fmt_date(end, ctx.lang)),
    )


async def discount(update: Update, ctx: Ctx) -> None:
    """`/discount I7 5% loyal client` or `/discount I7 50 goodwill` (`0` removes it)."""
    parts = args_text(ctx).split(maxsplit=2)
    if len(parts) < 2:
        raise InvalidInput("usage", usage="/discount I7 5% client fidèle")
    invoice_id = (await find_invoice(ctx.actor, parts[0])).id
    off = parse_discount(parts[1])
    inv = await set_invoice_discount(
        ctx.actor,
        invoice_id,
        off,
        parts[2] if len(parts) > 2 else None,
        seller_from_settings(ctx.settings).country,
    )
    gross = fmt_money(inv.total_gross_cents, inv.currency, ctx.lang)
    if off.none:
        await reply(update, ctx, tr(ctx, "discount.cleared", id=inv.id, gross=gross))
        return
    await reply(
        update,
        ctx,
        tr(
            ctx,
            "discount.saved",
            id=inv.id,
            gross=gross,
            amount=_amount(ctx, off, inv.currency),
            reason=inv.discount_reason,
        ),
    )


async def line_discount(update: Update, ctx: Ctx) -> None:
    """`/linediscount I7 2 10% volume` or `/linediscount I7 2 25 goodwill`."""
    parts = args_text(ctx).split(maxsplit=3)
    if len(parts) < 3 or not parts[1].isdigit():
        raise InvalidInput("usage", usage="/linediscount I7 2 10% remise volume")
    inv = await find_invoice(ctx.actor, parts[0])
    off = parse_discount(parts[2])
    line = await set_line_discount(
        ctx.actor,
        inv.id,
        int(parts[1]),
        off,
        parts[3] if len(parts) > 3 else None,
        seller_from_settings(ctx.settings).country,
    )
    await reply(
        update,
        ctx,
        tr(
            ctx,
            "discount.line_saved",
            n=parts[1],
            id=inv.id,
            amount=_amount(ctx, off, inv.currency),
            net=fmt_money(line.net_cents, inv.currency, ctx.lang),
        ),
    )


def draft_details(ctx: Ctx, inv: Invoice, lines: Sequence[InvoiceLine], totals: Totals) -> list[str]:
    """The card lines about VAT categories, discounts, references and period."""
    lang, cur, none = ctx.lang, inv.currency, tr(ctx, "details.none")
    text = []
    for n, line in enumerate(lines, start=1):
        if line.discount_cents:
            text.append(
                tr(
                    ctx,
                    "details.line_discount",
                    n=n,
                    reason=line.discount_reason or none,
                    amount=fmt_money(line.discount_cents, cur, lang),
                )
            )
    for row in totals.breakdown:
        reason = REASONS.get(row.reason or "") if row.category != "S" else None
        if reason is not None:
            text.append(
                tr(
                    ctx,
                    "details.vat_category",
                    category=row.category,
                    reason=reason.fr if lang == "fr" else reason.en,
                )
            )
    if totals.allowance_cents:
        text.append(
            tr(
                ctx,
                "details.discount",
                amount=fmt_money(totals.allowance_cents, cur, lang),
                reason=totals.discount_reason or none,
            )
        )
    if inv.purchase_order or inv.buyer_reference:
        text.append(
            tr(ctx, "details.references", po=inv.purchase_order or none, ref=inv.buyer_reference or none)
        )
    if inv.period_start and inv.period_end:
        text.append(
            tr(
                ctx,
                "details.period",
                start=fmt_date(inv.period_start, lang),
                end=fmt_date(inv.period_end, lang),
            )
        )
    if inv.number is None:
        text.append(tr(ctx, "details.hint", id=inv.id))
    return text


async def offer_text(ctx: Ctx, contact_id: int) -> str | None:
    """The billing email offer for a client without one, if it has an address to offer."""
    email = await billing_email_offer(ctx.actor, contact_id)
    if email is None:
        return None
    contact = await get_contact(ctx.actor, contact_id)
    return tr(ctx, "billing.offer", id=contact.id, name=contact.name, email=email)


def billing_offer_keyboard(ctx: Ctx, contact_id: int, invoice_id: int = 0) -> Any:
    return keyboard([[button(tr(ctx, "billing.btn_offer"), cb("bill", "mail", contact_id, invoice_id))]])


async def on_button(update: Update, ctx: Ctx) -> None:
    """The buyer reference button (a form) and the billing email offer (confirm)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if (query.data or "").startswith("iref:"):
        (raw,) = parse_cb(query.data, "iref", 1)
        inv = await find_invoice(ctx.actor, f"I{parse_id(raw, 'I')}")
        await start_form(update, ctx, BUYER_REF, invoice=f"I{inv.id}")
        return
    contact_raw, invoice_raw = parse_cb(query.data, "bill", 2)
    invoice_id = parse_id(invoice_raw, "I") if invoice_raw != "0" else None
    contact, email = await adopt_billing_email(
        ctx.actor, parse_id(contact_raw, "C"), seller_from_settings(ctx.settings), invoice_id
    )
    text = tr(ctx, "billing.adopted", id=contact.id, name=contact.name, email=contact.billing_email)
    if email is not None:
        text += "\n" + tr(ctx, "invoices.queued", email=", ".join(email.to_addrs))
    await reply(update, ctx, text, edit=True)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["invoiceref", "refacture"], invoice_ref))
    app.add_handler(CommandHandler(["period", "periode"], period))
    app.add_handler(CommandHandler(["discount", "remise"], discount))
    app.add_handler(CommandHandler(["linediscount", "remiseligne"], line_discount))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^(iref|bill):"))
