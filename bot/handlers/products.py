"""Products and deal lines: /products, /newproduct, /addline, /lines."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.handlers.invoices import show_invoice
from bot.i18n import fmt_money, fmt_qty
from bot.seller import seller_from_settings
from bot.ui import args_text, button, cb, keyboard, parse_cb, reply, send_list, split_fields, tr
from storage.errors import InvalidInput
from storage.formatting import fmt_rate
from storage.ids import parse_id
from storage.invoicing import add_invoice_line, line_net
from storage.parsing import parse_amount_cents, parse_quantity
from storage.products import (
    add_deal_line,
    create_product,
    deal_lines,
    parse_nature,
    parse_vat_rate,
    remove_deal_line,
    search_products,
)


async def products(update: Update, ctx: Ctx) -> None:
    """`/products [text]`: the active catalogue."""
    found = await search_products(args_text(ctx))
    if not found:
        await reply(update, ctx, tr(ctx, "products.none"))
        return
    lang = ctx.lang
    await send_list(
        update,
        ctx,
        "",
        [
            tr(
                ctx,
                "products.row",
                sku=p.sku,
                name=p.name,
                unit=p.unit,
                price=fmt_money(p.unit_price_cents, p.currency, lang),
                rate=fmt_rate(p.vat_rate_bp, lang),
            )
            for p in found
        ],
    )


async def new_product(update: Update, ctx: Ctx) -> None:
    """`/newproduct SKU | name | price | VAT% | unit [| goods/services [| VATEX code]]`."""
    sku, name, price, rate, unit, nature, exemption = split_fields(args_text(ctx), 7)
    if not (sku and name and price and rate):
        raise InvalidInput("usage", usage="/newproduct WIDGET | Widget | 12,50 | 20 | unit")
    allowed = ctx.settings.vat_rates_bp
    product = await create_product(
        ctx.actor,
        sku=sku,
        name=name,
        unit_price_cents=parse_amount_cents(price),
        vat_rate_bp=parse_vat_rate(rate, allowed),
        allowed_vat_bp=allowed,
        unit=unit or "unit",
        currency=ctx.settings.default_currency,
        nature=parse_nature(nature),
        vat_exemption=exemption or None,
    )
    await reply(update, ctx, tr(ctx, "products.created", sku=product.sku, name=product.name))


async def add_line(update: Update, ctx: Ctx) -> None:
    """`/addline D34 | SKU | qty [| unit price]` (or `I7 | ...` for a draft invoice)."""
    target, sku, qty, price = split_fields(args_text(ctx), 4)
    if not (target and sku and qty):
        raise InvalidInput("usage", usage="/addline D34 | WIDGET | 2 [| 12,50]")
    quantity = parse_quantity(qty)
    unit_price = parse_amount_cents(price) if price else None
    if target.strip().upper().startswith("I"):
        invoice_id = parse_id(target, "I")
        await add_invoice_line(
            ctx.actor, invoice_id, sku, quantity, seller_from_settings(ctx.settings), unit_price
        )
        await show_invoice(update, ctx, invoice_id)
        return
    deal_id = parse_id(target, "D")
    await add_deal_line(ctx.actor, deal_id, sku, quantity, unit_price)
    await _show_lines(update, ctx, deal_id, added=True)


async def lines(update: Update, ctx: Ctx) -> None:
    """`/lines D34`: the deal's lines with a remove button each."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/lines D34")
    await _show_lines(update, ctx, parse_id(text, "D"))


async def _show_lines(
    update: Update, ctx: Ctx, deal_id: int, *, added: bool = False, edit: bool = False
) -> None:
    deal, found = await deal_lines(ctx.actor, deal_id)
    lang = ctx.lang
    text = [tr(ctx, "lines.added")] if added else []
    text.append(tr(ctx, "lines.title", id=deal.id, title=deal.title))
    if not found:
        text.append(tr(ctx, "lines.none", id=deal.id))
    for n, line in enumerate(found, start=1):
        text.append(
            tr(
                ctx,
                "lines.row",
                n=n,
                sku=line.product.sku,
                name=line.product.name,
                qty=fmt_qty(line.quantity, lang),
                price=fmt_money(line.unit_price_cents, deal.currency, lang),
                net=fmt_money(line_net(line.quantity, line.unit_price_cents), deal.currency, lang),
                rate=fmt_rate(line.vat_rate_bp, lang),
            )
        )
    if found:
        text.append(tr(ctx, "lines.total", amount=fmt_money(deal.amount_cents, deal.currency, lang)))
    rows = [
        [button(tr(ctx, "lines.btn_remove", n=n), cb("line", "rm", line.id))]
        for n, line in enumerate(found, start=1)
    ]
    await reply(update, ctx, "\n".join(text), keyboard(rows), edit=edit)


async def on_button(update: Update, ctx: Ctx) -> None:
    """Remove-line buttons; the right on the deal is checked again at press time."""
    query = update.callback_query
    assert query is not None
    (raw,) = parse_cb(query.data, "line", 1)
    await query.answer()
    deal = await remove_deal_line(ctx.actor, parse_id(raw, "L"))
    await _show_lines(update, ctx, deal.id, edit=True)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["products", "produits"], products))
    app.add_handler(CommandHandler(["newproduct", "nouveauproduit"], new_product))
    app.add_handler(CommandHandler(["addline", "ligne"], add_line))
    app.add_handler(CommandHandler(["lines", "lignes"], lines))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^line:rm:"))
