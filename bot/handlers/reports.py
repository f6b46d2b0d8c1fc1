"""Manager overview: /dashboard (PNG charts), /report sales|receivables|purchases [period]."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.charts import dashboard_charts, xlsx
from bot.context import Ctx
from bot.jobs.loop import local_day
from bot.ui import args_text, reply, tr
from storage.errors import InvalidInput
from storage.reports import (
    aging,
    cash_by_week,
    forecast_by_month,
    funnel,
    purchases_pending,
    report_rows,
)


async def dashboard(update: Update, ctx: Ctx) -> None:
    """`/dashboard`: funnel, forecast, aging, expected cash, purchases pending, as one album."""
    now = datetime.now(UTC)
    today = local_day(now, ctx.settings)[0]
    cur = ctx.settings.default_currency
    rows = await funnel(ctx.actor, cur)
    forecast = await forecast_by_month(ctx.actor, cur, today)
    buckets = await aging(ctx.actor, cur, today)
    cash = await cash_by_week(ctx.actor, cur, today)
    pending = await purchases_pending(ctx.actor)
    charts = await asyncio.to_thread(  # matplotlib is CPU-bound: off the event loop
        dashboard_charts, ctx.lang, cur, rows, forecast, buckets, cash, pending
    )
    chat = update.effective_chat
    assert chat is not None
    await reply(update, ctx, tr(ctx, "report.dashboard"))
    for name, png in charts:  # one photo per chart (an album would lose the per-chart caption)
        await ctx.bot.send_photo(chat.id, png, filename=name)


async def report(update: Update, ctx: Ctx) -> None:
    """`/report sales|receivables|purchases [period]`: an XLSX of the rows."""
    parts = args_text(ctx).split()
    if not parts:
        raise InvalidInput("usage", usage="/report sales|receivables|purchases [2026-11]")
    today = local_day(datetime.now(UTC), ctx.settings)[0]
    period = parts[1] if len(parts) > 1 else ""
    header, rows = await report_rows(
        ctx.actor, parts[0], today, period, ctx.settings.default_currency, ctx.settings.timezone
    )
    kind = parts[0].lower()
    data = await asyncio.to_thread(xlsx, kind, header, rows)  # off the event loop
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id,
        data,
        filename=f"{kind}-{period or today.isoformat()}.xlsx",
        caption=tr(ctx, "report.sent", kind=kind, rows=len(rows)),
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["dashboard", "tableau"], dashboard))
    app.add_handler(CommandHandler(["report", "rapport"], report))
