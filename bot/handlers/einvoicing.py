"""E-invoicing buttons: resubmit a rejected invoice; approve, dispute, refuse a supplier's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.i18n import fmt_date
from bot.seller import renderer_from_settings
from bot.ui import args_text, parse_cb, reply, tr
from storage.einvoicing.directory import addressing_of, set_also_email
from storage.einvoicing.lifecycle import invoice_statuses, resubmit_invoice
from storage.einvoicing.statuses import label
from storage.einvoicing.suppliers import REFUSAL_CODES, Decision, decide_supplier_invoice
from storage.errors import InvalidInput
from storage.ids import parse_id
from storage.models import Invoice


async def _decide(
    update: Update, ctx: Ctx, si: str, decision: Decision, code: str = "", reason: str = ""
) -> None:
    done = await decide_supplier_invoice(
        ctx.actor, parse_id(si, "S"), decision, datetime.now(UTC), reason_code=code, reason=reason
    )
    await reply(
        update,
        ctx,
        tr(ctx, "pa.si_done", number=done.number, decision=tr(ctx, f"pa.decision.{decision.value}")),
    )


async def _dispute_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    await _decide(update, ctx, values["si"], Decision.DISPUTE, values["code"], values["reason"])


async def _refuse_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    await _decide(update, ctx, values["si"], Decision.REFUSE, values["code"], values.get("reason", ""))


async def _codes(ctx: Ctx) -> list[tuple[str, str]]:
    return [(code, code) for code in REFUSAL_CODES]


DISPUTE = register_form(
    Form(
        "si_dispute",
        (
            Step("si", "pa.ask_code"),
            Step("code", "pa.ask_code", choices=_codes),
            Step("reason", "pa.ask_reason"),
        ),
        _dispute_done,
    )
)
REFUSE = register_form(
    Form(
        "si_refuse",
        (
            Step("si", "pa.ask_code"),
            Step("code", "pa.ask_code", choices=_codes),
            Step("reason", "pa.ask_reason_optional", optional=True),
        ),
        _refuse_done,
    )
)


async def on_supplier_button(update: Update, ctx: Ctx) -> None:
    """Approve at once; dispute and refuse ask for the reason first."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    action = (query.data or "").split(":")[1:2]
    (raw,) = parse_cb(query.data, "si", 1)
    if action == ["ok"]:
        await _decide(update, ctx, raw, Decision.APPROVE)
    elif action == ["dispute"]:
        await start_form(update, ctx, DISPUTE, si=raw)
    elif action == ["refuse"]:
        await start_form(update, ctx, REFUSE, si=raw)
    else:
        raise InvalidInput("callback")


async def addressing_line(ctx: Ctx, contact_id: int) -> str:
    """The client's e-invoicing address on their card ("" when never looked up)."""
    row = await addressing_of(contact_id)
    if row is None or row.looked_up_at is None:
        return ""
    if not row.found:
        return "\n" + tr(ctx, "pa.card_not_found", siren=row.siren)
    line = "\n" + tr(
        ctx, "pa.card_address", address=row.address_id or row.siren, platform=row.platform or "-"
    )
    return line + (tr(ctx, "pa.card_also_email") if row.also_email else "")


async def pa_status_lines(ctx: Ctx, invoice_id: int, limit: int = 8) -> list[str]:
    """The invoice's life at the platform, for its card: each status with its date."""
    pa, events = await invoice_statuses(invoice_id)
    if pa is None:
        return []
    zone = ctx.settings.zone
    lines = [tr(ctx, "pa.card_title", tracking=pa.tracking_id)]
    for event in events[-limit:]:
        day = fmt_date(event.at.astimezone(zone).date(), ctx.lang)
        key = "pa.card_sent" if event.outgoing else "pa.card_status"
        lines.append(
            tr(
                ctx,
                key,
                date=day,
                status=label(event.code, ctx.lang),
                reason=f" — {event.reason}" if event.reason else "",
            )
        )
    if pa.status_code is None:
        lines.append(tr(ctx, "pa.card_queued"))
    return lines


async def on_resubmit(update: Update, ctx: Ctx) -> None:
    """The rejection alert's button: the fixed invoice goes to the platform again."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    (raw,) = parse_cb(query.data, "pa", 1)
    done = await resubmit_invoice(
        ctx.actor, parse_id(raw, "I"), datetime.now(UTC), render=renderer_from_settings(ctx.settings)
    )
    invoice = await Invoice.get(id=done.pa.invoice_id)
    key = "pa.resubmitted" if done.refrozen else "pa.resubmitted_same"
    await reply(update, ctx, tr(ctx, key, number=invoice.number or ""))


async def pdf_by_email(update: Update, ctx: Ctx) -> None:
    """`/pdfbyemail C12 on|off`: the client also gets the PDF by email besides the platform."""
    parts = args_text(ctx).split()
    if len(parts) != 2 or parts[1].lower() not in ("on", "off", "oui", "non"):
        raise InvalidInput("usage", usage="/pdfbyemail C12 on|off")
    wanted = parts[1].lower() in ("on", "oui")
    await set_also_email(ctx.actor, parse_id(parts[0], "C"), wanted)
    await reply(update, ctx, tr(ctx, "pa.pdf_on" if wanted else "pa.pdf_off", contact=parts[0]))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["pdfbyemail", "pdfparmail"], pdf_by_email))
    app.add_handler(CallbackQueryHandler(on_supplier_button, pattern=r"^si:(ok|dispute|refuse):"))
    app.add_handler(CallbackQueryHandler(on_resubmit, pattern=r"^pa:resubmit:"))
