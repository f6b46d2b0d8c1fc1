"""Invoices: /invoice, /newinvoice, /issue, /send, /invoices, /invoicepdf, /creditnote,
/refunded, /billing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.handlers.einvoicing import pa_status_lines
from bot.handlers.invoice_details import billing_offer_keyboard, draft_details, offer_text
from bot.i18n import fmt_date, fmt_money, fmt_qty
from bot.seller import renderer_from_settings, seller_from_settings
from bot.ui import args_text, button, cb, keyboard, parse_cb, reply, send_list, tr
from storage.contacts import get_contact, set_billing
from storage.documents import frozen_pdf
from storage.errors import InvalidInput
from storage.formatting import fmt_rate
from storage.ids import parse_id
from storage.invoicing import (
    IssueResult,
    cancel_draft,
    credit_invoice,
    draft_for_contact,
    draft_from_deal,
    find_invoice,
    get_invoice,
    invoice_totals,
    issue_invoice,
    list_invoices,
    send_invoice,
    set_terms,
    terms_from_text,
    treated_lines,
)
from storage.models import Contact, Invoice, InvoiceKind, InvoiceStatus, Refund
from storage.refunds import list_refunds, mark_refunded
from storage.vat import Treatment

BILLING_ALIASES = {
    "address": "billing_address",
    "adresse": "billing_address",
    "siren": "siren",
    "siret": "siren",
    "vat": "vat_number",
    "tva": "vat_number",
    "email": "billing_email",
    "mail": "billing_email",
    "lang": "invoice_language",
    "langue": "invoice_language",
    "language": "invoice_language",
    "country": "country",
    "pays": "country",
    "delivery": "delivery_address",
    "livraison": "delivery_address",
}


def _today(ctx: Ctx) -> date:
    return datetime.now(ctx.settings.zone).date()


def _ref(inv: Invoice) -> str:
    return inv.number or f"I{inv.id}"


def _vat_label(vat: Treatment, lang: str) -> str:
    return fmt_rate(vat.rate_bp, lang) + ("" if vat.category == "S" else f" {vat.category.value}")


async def show_invoice(update: Update, ctx: Ctx, invoice_id: int, *, edit: bool = False) -> None:
    """The invoice card; a draft gets Issue / Change due date / Cancel buttons."""
    inv = await get_invoice(ctx.actor, invoice_id)
    lines, treatments, _ = await treated_lines(inv, seller_from_settings(ctx.settings).country)
    client = await Contact.get(id=inv.contact_id)
    lang, cur = ctx.lang, inv.currency
    if inv.status == InvoiceStatus.DRAFT:
        text = [tr(ctx, "invoices.draft_title", id=inv.id)]
    else:
        key = "invoices.credit_title" if inv.kind == InvoiceKind.CREDIT_NOTE else "invoices.title"
        text = [tr(ctx, key, number=inv.number)]
    text.append(tr(ctx, "invoices.client", client=f"C{client.id} {client.name}"))
    text.append(tr(ctx, "invoices.status", status=tr(ctx, f"status.{inv.status.value}")))
    for n, (line, vat) in enumerate(zip(lines, treatments, strict=True), start=1):
        text.append(
            tr(
                ctx,
                "invoices.line",
                n=n,
                description=line.description,
                qty=fmt_qty(line.quantity, lang),
                price=fmt_money(line.unit_price_cents, cur, lang),
                net=fmt_money(line.net_cents, cur, lang),
                rate=_vat_label(vat, lang),
            )
        )
    if not lines:
        text.append(tr(ctx, "invoices.no_lines", id=inv.id))
    totals = invoice_totals(inv, lines, treatments)
    text += [
        tr(
            ctx,
            "invoices.vat_row",
            rate=fmt_rate(r.rate_bp, lang),
            base=fmt_money(r.base_cents, cur, lang),
            vat=fmt_money(r.vat_cents, cur, lang),
        )
        for r in totals.breakdown
    ]
    text += draft_details(ctx, inv, lines, totals)
    text.append(
        tr(
            ctx,
            "invoices.totals",
            net=fmt_money(totals.net_cents, cur, lang),
            vat=fmt_money(totals.vat_cents, cur, lang),
            gross=fmt_money(totals.gross_cents, cur, lang),
        )
    )
    rows: list[list[Any]] = []
    if inv.status == InvoiceStatus.DRAFT:
        text.append(tr(ctx, "invoices.terms", days=inv.payment_terms_days))
        rows = [
            [
                button(tr(ctx, "invoices.btn_issue"), cb("inv", "issue", inv.id)),
                button(tr(ctx, "invoices.btn_terms"), cb("inv", "terms", inv.id)),
                button(tr(ctx, "invoices.btn_cancel"), cb("inv", "cancel", inv.id)),
            ]
        ]
    else:
        text.append(
            tr(ctx, "invoices.dates", issued=fmt_date(inv.issue_date, lang), due=fmt_date(inv.due_date, lang))
        )
        text.append(tr(ctx, "invoices.rf", rf=inv.rf_reference or ""))
        text += await pa_status_lines(ctx, inv.id)
    await reply(update, ctx, "\n".join(text), keyboard(rows), edit=edit)


async def invoice(update: Update, ctx: Ctx) -> None:
    """`/invoice D34`: the draft invoice of a won deal (or `/invoice F2026-00042` to view one)."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/invoice D34")
    if text.upper().startswith(("F", "A", "I")):
        await show_invoice(update, ctx, (await find_invoice(ctx.actor, text)).id)
        return
    draft = await draft_from_deal(ctx.actor, parse_id(text, "D"), seller_from_settings(ctx.settings))
    await show_invoice(update, ctx, draft.id)


async def new_invoice(update: Update, ctx: Ctx) -> None:
    """`/newinvoice C12`: an empty draft to fill with /addline I7 | SKU | qty."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/newinvoice C12")
    draft = await draft_for_contact(ctx.actor, parse_id(text, "C"), seller_from_settings(ctx.settings))
    await show_invoice(update, ctx, draft.id)
    await reply(update, ctx, tr(ctx, "invoices.draft_hint", id=draft.id))


async def _issue(update: Update, ctx: Ctx, invoice_id: int) -> None:
    result = await issue_invoice(
        ctx.actor,
        invoice_id,
        seller_from_settings(ctx.settings),
        _today(ctx),
        render=renderer_from_settings(ctx.settings),
    )
    offer = None if result.queued else await offer_text(ctx, result.invoice.contact_id)
    await reply(
        update,
        ctx,
        _issued_text(ctx, result) + (f"\n{offer}" if offer else ""),
        billing_offer_keyboard(ctx, result.invoice.contact_id, invoice_id) if offer else None,
    )


def _issued_text(ctx: Ctx, result: IssueResult) -> str:
    inv = result.invoice
    text = tr(
        ctx,
        "invoices.issued",
        number=inv.number,
        due=fmt_date(inv.due_date, ctx.lang),
        amount=fmt_money(inv.total_gross_cents, inv.currency, ctx.lang),
    )
    if result.queued:
        return text + "\n" + tr(ctx, "invoices.queued", email=result.email or "")
    return text + "\n" + tr(ctx, "invoices.not_queued", contact=inv.contact_id, number=inv.number)


async def issue(update: Update, ctx: Ctx) -> None:
    """`/issue I7`: number the draft, fix its due date, queue its email."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/issue I7")
    await _issue(update, ctx, (await find_invoice(ctx.actor, text)).id)


async def send(update: Update, ctx: Ctx) -> None:
    """`/send F2026-00042`: queue the invoice email (the sender tells when it is sent)."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/send F2026-00042")
    try:
        email = await send_invoice(ctx.actor, text, seller_from_settings(ctx.settings))
    except InvalidInput as exc:  # no billing email: offer the contact's instead of a dead end
        inv = await find_invoice(ctx.actor, text)
        offer = await offer_text(ctx, inv.contact_id) if exc.code == "invoice_no_billing_email" else None
        if offer is None:
            raise
        await reply(update, ctx, offer, billing_offer_keyboard(ctx, inv.contact_id, inv.id))
        return
    await reply(update, ctx, tr(ctx, "invoices.queued", email=", ".join(email.to_addrs)))


async def invoices(update: Update, ctx: Ctx) -> None:
    """`/invoices [draft|open|overdue|paid|refunds]`, with what the total counts."""
    if args_text(ctx).strip().lower() in ("refunds", "remboursements"):
        await reply(update, ctx, "\n".join(await refund_lines(ctx)) or tr(ctx, "refunds.none"))
        return
    listed = await list_invoices(ctx.actor, args_text(ctx), _today(ctx))
    if not listed.rows:
        await reply(update, ctx, tr(ctx, "invoices.none"))
        return
    lang = ctx.lang
    rows = [
        tr(
            ctx,
            "invoices.row",
            ref=_ref(i),
            client=i.contact.name,
            amount=fmt_money(
                -i.total_gross_cents if i.kind == InvoiceKind.CREDIT_NOTE else i.total_gross_cents,
                i.currency,
                lang,
            ),
            status=tr(ctx, f"status.{i.status.value}")
            if i.kind == InvoiceKind.INVOICE
            else tr(ctx, "invoices.credit_status"),
            due=tr(ctx, "invoices.row_due", due=fmt_date(i.due_date, lang))
            if i.due_date and i.kind == InvoiceKind.INVOICE
            else "",
        )
        for i in listed.rows
    ]
    amounts = " · ".join(fmt_money(v, cur, lang) for cur, v in sorted(listed.totals.items()))
    await send_list(
        update, ctx, "", rows, footer=tr(ctx, f"invoices.sum_{listed.scope}", amounts=amounts or "0")
    )


async def refund_lines(ctx: Ctx) -> list[str]:
    """The refunds still to make, as lines (empty for people who do not handle them)."""
    refunds = await list_refunds(ctx.actor)
    if not refunds:
        return []
    return [
        tr(ctx, "refunds.title"),
        *(
            tr(
                ctx,
                "refunds.row",
                credit_note=r.credit_note,
                number=r.invoice,
                contact=r.contact,
                amount=fmt_money(r.amount_cents, r.currency, ctx.lang),
            )
            for r in refunds
        ),
    ]


async def refunded(update: Update, ctx: Ctx) -> None:
    """`/refunded A2026-00001`: the client owed a refund was paid back."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/refunded A2026-00001")
    refund = await mark_refunded(ctx.actor, text, datetime.now(UTC))
    await reply(
        update,
        ctx,
        tr(
            ctx,
            "refunds.done",
            ref=text.strip().upper(),
            amount=fmt_money(refund.amount_cents, refund.currency, ctx.lang),
        ),
    )


async def invoice_pdf(update: Update, ctx: Ctx) -> None:
    """`/invoicepdf F2026-00042`: the Factur-X PDF into the chat."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/invoicepdf F2026-00042")
    inv = await find_invoice(ctx.actor, text)
    if inv.number is None:
        raise InvalidInput("usage", usage=f"/issue I{inv.id}")
    pdf = await frozen_pdf(inv.id, renderer_from_settings(ctx.settings))
    assert update.effective_chat is not None
    await ctx.bot.send_document(
        update.effective_chat.id,
        pdf,
        filename=f"{inv.number}.pdf",
        caption=tr(ctx, "invoices.pdf_caption", number=inv.number),
    )


async def credit_note(update: Update, ctx: Ctx) -> None:
    """`/creditnote F2026-00042 reason`: cancel an issued invoice by a numbered credit note."""
    parts = args_text(ctx).split(maxsplit=1)
    if not parts:
        raise InvalidInput("usage", usage="/creditnote F2026-00042 reason")
    credit = await credit_invoice(
        ctx.actor,
        parts[0],
        parts[1] if len(parts) > 1 else "",
        seller_from_settings(ctx.settings),
        _today(ctx),
        render=renderer_from_settings(ctx.settings),
    )
    original = await get_invoice(ctx.actor, credit.credit_of_id or 0)
    text = tr(ctx, "invoices.credited", number=credit.number, original=original.number)
    if (refund := await Refund.get_or_none(credit_note_id=credit.id)) is not None:
        text += "\n" + tr(
            ctx,
            "refunds.owed",
            number=credit.number,
            amount=fmt_money(refund.amount_cents, refund.currency, ctx.lang),
        )
    await reply(update, ctx, text)


async def billing(update: Update, ctx: Ctx) -> None:
    """`/billing C12 [field value]`: show or change a client's billing data."""
    parts = args_text(ctx).split(maxsplit=2)
    if not parts:
        raise InvalidInput("usage", usage="/billing C12 email compta@example.com")
    contact_id = parse_id(parts[0], "C")
    title = "billing.shown"
    if len(parts) == 1:
        contact = await get_contact(ctx.actor, contact_id)
    else:
        title = "billing.set"
        field = BILLING_ALIASES.get(parts[1].lower())
        if field is None:
            raise InvalidInput("billing_field", value=parts[1])
        value = parts[2] if len(parts) > 2 else ""
        if field in ("billing_address", "delivery_address"):
            value = "\n".join(p.strip() for p in value.split(",") if p.strip())
        contact = await set_billing(ctx.actor, contact_id, **{field: value})
    text = [
        tr(ctx, title, id=contact.id, name=contact.name),
        tr(
            ctx,
            "billing.card",
            address=(contact.billing_address or "—").replace("\n", ", "),
            siren=contact.siren or "—",
            vat=contact.vat_number or "—",
            email=contact.billing_email or "—",
            language=contact.invoice_language,
        ),
        tr(
            ctx,
            "billing.more",
            country=contact.country or "—",
            delivery=(contact.delivery_address or "—").replace("\n", ", "),
        ),
    ]
    offer = await offer_text(ctx, contact.id)
    await reply(
        update,
        ctx,
        "\n".join([*text, offer] if offer else text),
        billing_offer_keyboard(ctx, contact.id) if offer else None,
    )


async def _terms_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    invoice_id = parse_id(values["invoice"], "I")
    days = terms_from_text(values["terms"], _today(ctx))
    await set_terms(ctx.actor, invoice_id, days)
    await reply(update, ctx, tr(ctx, "invoices.terms_set", days=days))
    await show_invoice(update, ctx, invoice_id)


def _check_terms(ctx: Ctx, value: str) -> None:
    terms_from_text(value, _today(ctx))


TERMS = register_form(
    Form(
        "invoice_terms",
        (Step("invoice", "invoices.ask_terms"), Step("terms", "invoices.ask_terms", check=_check_terms)),
        _terms_done,
    )
)


async def on_button(update: Update, ctx: Ctx) -> None:
    """Draft buttons: Issue, Change due date, Cancel (rights re-checked at press time)."""
    query = update.callback_query
    assert query is not None
    action = (query.data or "").split(":")[1:2]
    (raw,) = parse_cb(query.data, "inv", 1)
    invoice_id = parse_id(raw, "I")
    await query.answer()
    if action == ["issue"]:
        await _issue(update, ctx, invoice_id)
    elif action == ["terms"]:
        await get_invoice(ctx.actor, invoice_id)
        await start_form(update, ctx, TERMS, invoice=f"I{invoice_id}")
    elif action == ["cancel"]:
        await cancel_draft(ctx.actor, invoice_id)
        await reply(update, ctx, tr(ctx, "invoices.cancelled", id=invoice_id), edit=True)
    else:
        raise InvalidInput("callback")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["invoice", "facture"], invoice))
    app.add_handler(CommandHandler(["newinvoice", "nouvellefacture"], new_invoice))
    app.add_handler(CommandHandler(["issue", "emettre"], issue))
    app.add_handler(CommandHandler(["send", "envoyer"], send))
    app.add_handler(CommandHandler(["invoices", "factures"], invoices))
    app.add_handler(CommandHandler(["invoicepdf", "facturepdf"], invoice_pdf))
    app.add_handler(CommandHandler(["creditnote", "avoir"], credit_note))
    app.add_handler(CommandHandler(["refunded", "rembourse"], refunded))
    app.add_handler(CommandHandler(["billing", "facturation"], billing))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^inv:"))
