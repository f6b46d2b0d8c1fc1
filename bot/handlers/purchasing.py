"""Purchasing: /stock, /po, /po ID [send|cancel], /receive, /adjust, /deliver."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.i18n import fmt_date, fmt_qty
from bot.jobs.loop import local_day
from bot.seller import company_from_settings
from bot.ui import args_text, button, cb, keyboard, parse_cb, reply, send_list, tr
from storage.errors import InvalidInput
from storage.ids import parse_id
from storage.models import POStatus, PurchaseOrder
from storage.parsing import parse_quantity
from storage.purchasing import (
    adjust,
    cancel_po,
    deliver_deal,
    get_po,
    list_pos,
    receive,
    send_po,
    stock_rows,
)


def _now(ctx: Ctx) -> tuple[datetime, Any]:
    now = datetime.now(UTC)
    return now, local_day(now, ctx.settings)[0]


async def stock(update: Update, ctx: Ctx) -> None:
    """`/stock [SKU]`: on hand, reserved, available, incoming, reorder point."""
    rows = await stock_rows(ctx.actor, args_text(ctx) or None)
    if not rows:
        await reply(update, ctx, tr(ctx, "stock.none"))
        return
    q = ctx.lang
    await send_list(
        update,
        ctx,
        "",
        [
            tr(
                ctx,
                "stock.row",
                sku=r.sku,
                name=r.name,
                on_hand=fmt_qty(r.on_hand, q),
                reserved=fmt_qty(r.reserved, q),
                available=fmt_qty(r.available, q),
                incoming=fmt_qty(r.incoming, q),
                reorder=fmt_qty(r.reorder_point, q),
            )
            for r in rows
        ],
    )


def _status(ctx: Ctx, po: PurchaseOrder) -> str:
    return tr(ctx, f"po.status.{po.status.value}")


async def _card(update: Update, ctx: Ctx, po_id: int, *, edit: bool = False) -> None:
    po = await get_po(ctx.actor, po_id)
    lines = [tr(ctx, "po.card", id=po.id, supplier=po.supplier.name, status=_status(ctx, po))]
    if po.expected_date:
        lines.append(tr(ctx, "po.expected", date=fmt_date(po.expected_date, ctx.lang)))
    for ln in po.lines:
        lines.append(
            tr(
                ctx,
                "po.line",
                sku=ln.product.sku,
                name=ln.product.name,
                received=fmt_qty(Decimal(str(ln.received_quantity)), ctx.lang),
                quantity=fmt_qty(Decimal(str(ln.quantity)), ctx.lang),
            )
        )
    rows = []
    if po.status == POStatus.DRAFT:
        rows.append(
            [
                button(tr(ctx, "po.btn_send"), cb("po", "send", po.id)),
                button(tr(ctx, "po.btn_cancel"), cb("po", "cancel", po.id)),
            ]
        )
    elif po.status == POStatus.SENT:
        rows.append([button(tr(ctx, "po.btn_cancel"), cb("po", "cancel", po.id))])
    await reply(update, ctx, "\n".join(lines), keyboard(rows), edit=edit)


async def _send(update: Update, ctx: Ctx, po_id: int) -> None:
    now, today = _now(ctx)
    company = company_from_settings(ctx.settings)
    po = await send_po(
        ctx.actor,
        po_id,
        today,
        now,
        company_name=company.name,
        company_email=company.email,
        mail_domain=company.mail_domain,
    )
    await reply(update, ctx, tr(ctx, "po.sent", id=po.id, supplier=po.supplier.name))


async def po(update: Update, ctx: Ctx) -> None:
    """`/po` lists open orders; `/po ID` shows the card; `/po ID send|cancel`."""
    parts = args_text(ctx).split()
    if not parts:
        orders = await list_pos(ctx.actor)
        if not orders:
            await reply(update, ctx, tr(ctx, "po.none"))
            return
        lines = [
            tr(ctx, "po.row", id=o.id, supplier=o.supplier.name, status=_status(ctx, o), lines=len(o.lines))
            for o in orders
        ]
        rows = [[button(f"PO{o.id} {o.supplier.name}", cb("po", "open", o.id))] for o in orders]
        await send_list(update, ctx, "", lines, rows)
        return
    po_id = parse_id(parts[0], "PO")
    action = parts[1].lower() if len(parts) > 1 else ""
    if action in ("send", "envoyer"):
        await _send(update, ctx, po_id)
    elif action in ("cancel", "annuler"):
        await cancel_po(ctx.actor, po_id, datetime.now(UTC))
        await reply(update, ctx, tr(ctx, "po.cancelled", id=po_id))
    elif not action:
        await _card(update, ctx, po_id)
    else:
        raise InvalidInput("usage", usage="/po PO7 [send|cancel]")


def _pairs(words: list[str]) -> dict[str, Decimal] | None:
    if not words:
        return None
    if len(words) % 2:
        raise InvalidInput("usage", usage="/receive PO7 [SKU qty ...]")
    out: dict[str, Decimal] = {}
    for sku, qty in zip(words[::2], words[1::2], strict=True):
        out[sku] = out.get(sku, Decimal(0)) + parse_quantity(qty)
    return out


async def receive_command(update: Update, ctx: Ctx) -> None:
    """`/receive PO7 [SKU qty ...]`: a warehouse entry (everything expected when no lines)."""
    parts = args_text(ctx).split()
    if not parts:
        raise InvalidInput("usage", usage="/receive PO7 [SKU qty ...]")
    po_id = parse_id(parts[0], "PO")
    order = await receive(ctx.actor, po_id, _pairs(parts[1:]), datetime.now(UTC))
    await reply(update, ctx, tr(ctx, "po.received", id=order.id, status=_status(ctx, order)))


async def adjust_command(update: Update, ctx: Ctx) -> None:
    """`/adjust SKU ±qty reason` (managers)."""
    parts = args_text(ctx).split(maxsplit=2)
    if len(parts) < 3:
        raise InvalidInput("usage", usage="/adjust BOLT -2 broken in transit")
    sku, raw, reason = parts
    sign = -1 if raw.startswith("-") else 1
    qty = parse_quantity(raw.lstrip("+-")) * sign
    on_hand = await adjust(ctx.actor, sku, qty, reason, datetime.now(UTC))
    await reply(update, ctx, tr(ctx, "stock.adjusted", sku=sku.upper(), on_hand=fmt_qty(on_hand, ctx.lang)))


async def deliver(update: Update, ctx: Ctx) -> None:
    """`/deliver D34`: the won deal's goods leave the stock; its reservation is released."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/deliver D34")
    deal = await deliver_deal(ctx.actor, parse_id(text, "D"), datetime.now(UTC))
    await reply(update, ctx, tr(ctx, "po.delivered", id=deal.id))


async def on_button(update: Update, ctx: Ctx) -> None:
    """Order card buttons (open, send, cancel) and the goods-received alert's Delivered."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    (raw,) = parse_cb(query.data, "po", 1)
    if action == "open":
        await _card(update, ctx, parse_id(raw, "PO"))
    elif action == "send":
        await _send(update, ctx, parse_id(raw, "PO"))
    elif action == "cancel":
        await cancel_po(ctx.actor, parse_id(raw, "PO"), datetime.now(UTC))
        await _card(update, ctx, parse_id(raw, "PO"), edit=True)
    elif action == "deliver":
        deal = await deliver_deal(ctx.actor, parse_id(raw, "D"), datetime.now(UTC))
        await reply(update, ctx, tr(ctx, "po.delivered", id=deal.id))
    else:
        raise InvalidInput("callback")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("stock", stock))
    app.add_handler(CommandHandler(["po", "commande"], po))
    app.add_handler(CommandHandler(["receive", "reception"], receive_command))
    app.add_handler(CommandHandler(["adjust", "ajuster"], adjust_command))
    app.add_handler(CommandHandler(["deliver", "livrer"], deliver))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^po:"))
