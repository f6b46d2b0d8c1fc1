"""Deals: /newdeal, /deals, /deal, /move, /won, /lost, /pipeline."""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.i18n import fmt_date, fmt_money, stage_name
from bot.ui import args_text, button, cb, keyboard, parse_cb, reply, send_list, split_fields, tr
from storage.contacts import search_contacts
from storage.errors import InvalidInput, NotFound
from storage.ids import parse_id
from storage.models import Deal
from storage.parsing import parse_amount, parse_currency, to_cents
from storage.pipeline import (
    PipelineRow,
    create_deal,
    find_stage,
    funnel,
    get_deal,
    list_deals,
    lose_deal,
    move_deal,
    stages,
    win_deal,
)


def _split_amount(text: str, default_currency: str) -> tuple[int, str]:
    """`1 200,50`, `1200 EUR`, `12k USD`, `99€` → (cents, currency)."""
    raw, currency = (text or "").strip(), ""
    if raw[-1:] in ("€", "$", "£"):
        raw, currency = raw[:-1], raw[-1]
    else:
        head, _, tail = raw.rpartition(" ")
        if head and tail.isalpha() and tail.lower() not in ("k", "m"):
            raw, currency = head, tail
    return to_cents(parse_amount(raw)), parse_currency(currency, default_currency)


def _check_amount(ctx: Ctx, value: str) -> None:
    _split_amount(value, ctx.settings.default_currency)


async def _resolve_contact(update: Update, ctx: Ctx, text: str, values: dict[str, str]) -> int | None:
    """An id or search text; several matches → buttons to pick one (None returned)."""
    try:
        return parse_id(text, "C")
    except InvalidInput:
        pass
    found = await search_contacts(ctx.actor, text, limit=8)
    if not found:
        raise NotFound("contact_search", value=text)
    if len(found) == 1:
        return found[0].id
    assert ctx.user_data is not None
    ctx.user_data["pending_deal"] = values
    rows = [[button(f"C{c.id} {c.name}"[:60], cb("deal", "pick", c.id))] for c in found]
    await reply(update, ctx, tr(ctx, "deals.pick_contact"), keyboard(rows))
    return None


async def _create(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    amount_cents, currency = _split_amount(values["amount"], ctx.settings.default_currency)
    if not values.get("title"):
        raise InvalidInput("title", value="")
    contact_id = await _resolve_contact(update, ctx, values["contact"], values)
    if contact_id is None:
        return
    deal = await create_deal(ctx.actor, contact_id, values["title"], amount_cents, currency)
    await _show(update, ctx, deal.id, created=True)


NEW_DEAL = register_form(
    Form(
        "newdeal",
        (
            Step("contact", "deals.ask_contact"),
            Step("title", "deals.ask_title"),
            Step("amount", "deals.ask_amount", check=_check_amount),
        ),
        _create,
    )
)


async def new_deal(update: Update, ctx: Ctx) -> None:
    """`/newdeal CONTACT | title | amount [currency]`, or step by step."""
    text = args_text(ctx)
    if not text:
        await start_form(update, ctx, NEW_DEAL)
        return
    contact, title, amount = split_fields(text, 3)
    if not amount:
        raise InvalidInput("usage", usage="/newdeal C12 | title | 1 200,00 EUR")
    await _create(update, ctx, {"contact": contact, "title": title, "amount": amount})


LIST_LIMIT = 200  # the most recent deals, paged; a narrower scope shows the others


async def deals(update: Update, ctx: Ctx) -> None:
    """`/deals [mine|all|STAGE]`."""
    found = await list_deals(ctx.actor, args_text(ctx) or "mine", limit=LIST_LIMIT)
    if not found:
        await reply(update, ctx, tr(ctx, "deals.none"))
        return
    lines = [_line(ctx, d) for d in found]
    rows = [[button(f"D{d.id} {d.title}", cb("deal", "open", d.id))] for d in found]
    await send_list(update, ctx, tr(ctx, "deals.title", count=len(found)), lines, rows)


def _line(ctx: Ctx, deal: Deal) -> str:
    return (
        f"<b>D{deal.id}</b> {escape(deal.title)} — {escape(deal.contact.name)} — "
        f"{fmt_money(deal.amount_cents, deal.currency, ctx.lang)} "
        f"({escape(stage_name(deal.stage.name, ctx.lang, deal.stage.labels))})"
    )


async def deal(update: Update, ctx: Ctx) -> None:
    """`/deal ID`: the card with stage buttons, Won and Lost."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/deal D34")
    await _show(update, ctx, parse_id(text, "D"))


async def _show(update: Update, ctx: Ctx, deal_id: int, *, created: bool = False, edit: bool = False) -> None:
    d = await get_deal(ctx.actor, deal_id)
    lang = ctx.lang
    lines = [tr(ctx, "deals.created")] if created else []
    lines += [
        f"<b>D{d.id} {escape(d.title)}</b>",
        tr(
            ctx,
            "deals.card",
            contact=f"C{d.contact.id} {d.contact.name}",
            amount=fmt_money(d.amount_cents, d.currency, lang),
            stage=stage_name(d.stage.name, lang, d.stage.labels),
            owner=d.owner.name,
        ),
    ]
    if d.expected_close:
        lines.append(tr(ctx, "deals.expected", date=fmt_date(d.expected_close, lang)))
    if d.lost_reason:
        lines.append(tr(ctx, "deals.lost_reason", reason=d.lost_reason))
    open_stages = [s for s in await stages() if not (s.is_won or s.is_lost) and s.id != d.stage_id]
    outcome = []
    if not d.stage.is_won:
        outcome.append(button(tr(ctx, "deals.btn_won"), cb("deal", "won", d.id)))
    if not d.stage.is_lost:
        outcome.append(button(tr(ctx, "deals.btn_lost"), cb("deal", "lost", d.id)))
    moves = [button(stage_name(s.name, lang, s.labels), cb("deal", "move", d.id, s.id)) for s in open_stages]
    rows = [moves, outcome]
    await reply(update, ctx, "\n".join(lines), keyboard(rows), edit=edit)


async def move(update: Update, ctx: Ctx) -> None:
    """`/move ID [STAGE]`; without a stage, buttons offer them."""
    parts = args_text(ctx).split(maxsplit=1)
    if not parts:
        raise InvalidInput("usage", usage="/move D34 Proposal")
    deal_id = parse_id(parts[0], "D")
    if len(parts) == 1:
        await _show(update, ctx, deal_id)
        return
    stage = await find_stage(parts[1])
    if stage.is_lost:
        raise InvalidInput("usage", usage="/lost D34 reason")
    moved = await move_deal(ctx.actor, deal_id, stage)
    await reply(
        update, ctx, tr(ctx, "deals.moved", id=moved.id, stage=stage_name(stage.name, ctx.lang, stage.labels))
    )


async def won(update: Update, ctx: Ctx) -> None:
    """`/won ID`."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/won D34")
    d = await win_deal(ctx.actor, parse_id(text, "D"))
    await reply(update, ctx, tr(ctx, "deals.won", id=d.id, title=d.title))


async def _lost_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    d = await lose_deal(ctx.actor, parse_id(values["deal"], "D"), values["reason"])
    await reply(update, ctx, tr(ctx, "deals.lost", id=d.id, title=d.title))


LOST = register_form(
    Form("lost", (Step("deal", "deals.ask_deal"), Step("reason", "deals.ask_reason")), _lost_done)
)


async def lost(update: Update, ctx: Ctx) -> None:
    """`/lost ID reason`."""
    parts = args_text(ctx).split(maxsplit=1)
    if not parts:
        await start_form(update, ctx, LOST)
    elif len(parts) == 1:
        await get_deal(ctx.actor, parse_id(parts[0], "D"))
        await start_form(update, ctx, LOST, deal=parts[0])
    else:
        await _lost_done(update, ctx, {"deal": parts[0], "reason": parts[1]})


async def pipeline(update: Update, ctx: Ctx) -> None:
    """`/pipeline`: per stage count, total, weighted total; managers also per person."""
    total, team = await funnel(ctx.actor, ctx.settings.default_currency)
    # One block per person (only the stages where they have deals), paged with ◀ / ▶:
    # any team size and any number of stages fit Telegram's 4,096 characters.
    blocks = [_render_pipeline(ctx, total, header=False)]
    blocks += [
        f"\n<b>{escape(name)}</b>\n" + _render_pipeline(ctx, [r for r in rows if r.count], header=False)
        for name, rows in team.items()
    ]
    await send_list(update, ctx, tr(ctx, "pipeline.title"), blocks)


def _render_pipeline(ctx: Ctx, rows: list[PipelineRow], header: bool = True) -> str:
    lang = ctx.lang
    lines = [tr(ctx, "pipeline.title")] if header else []
    for r in rows:
        lines.append(
            tr(
                ctx,
                "pipeline.row",
                stage=stage_name(r.stage, lang, r.labels),
                count=r.count,
                total=fmt_money(r.total_cents, r.currency, lang),
                probability=r.probability,
                weighted=fmt_money(r.weighted_cents, r.currency, lang),
            )
        )
    return "\n".join(lines)


async def on_button(update: Update, ctx: Ctx) -> None:
    """Deal buttons; every press re-checks the user's right on the deal."""
    query = update.callback_query
    assert query is not None
    parts = (query.data or "").split(":")
    action = parts[1] if len(parts) > 1 else ""
    await query.answer()
    if action == "move":
        deal_id, stage_id = (parse_id(p, "D") for p in parse_cb(query.data, "deal", 2))
        await move_deal(ctx.actor, deal_id, await find_stage(str(stage_id)))
        await _show(update, ctx, deal_id, edit=True)
    elif action in ("open", "won", "lost", "pick"):
        (raw,) = parse_cb(query.data, "deal", 1)
        target = parse_id(raw, "D" if action != "pick" else "C")
        if action == "open":
            await _show(update, ctx, target)
        elif action == "won":
            await win_deal(ctx.actor, target)
            await _show(update, ctx, target, edit=True)
        elif action == "lost":
            await get_deal(ctx.actor, target)
            await start_form(update, ctx, LOST, deal=f"D{target}")
        else:
            assert ctx.user_data is not None
            values = ctx.user_data.pop("pending_deal", None)
            if not values:
                raise InvalidInput("expired")
            await _create(update, ctx, {**values, "contact": f"C{target}"})
    else:
        raise InvalidInput("callback")


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["newdeal", "nouvelleaffaire"], new_deal))
    app.add_handler(CommandHandler(["deals", "affaires"], deals))
    app.add_handler(CommandHandler(["deal", "affaire"], deal))
    app.add_handler(CommandHandler(["move", "etape"], move))
    app.add_handler(CommandHandler(["won", "gagne"], won))
    app.add_handler(CommandHandler(["lost", "perdu"], lost))
    app.add_handler(CommandHandler("pipeline", pipeline))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^deal:"))
