"""/status (admins): every background job's last run, duration and outcome, in the admin's
language (a job's summary is stored as catalogue messages; an error as its plain text)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import Ctx
from bot.i18n import catalogue, fmt_datetime
from bot.ui import reply, tr
from storage.access import can_manage_users
from storage.errors import Forbidden
from storage.i18n import Phrase
from storage.jobs import job_runs


def _outcome(ctx: Ctx, outcome: str) -> str:
    """ok / error / raced in the reader's language (an unknown one as recorded)."""
    key = f"status.outcome_{outcome}"
    return tr(ctx, key) if key in catalogue() else outcome


async def status(update: Update, ctx: Ctx) -> None:
    """`/status`: one line per job."""
    if not can_manage_users(ctx.actor):
        raise Forbidden("admin_only")
    runs = await job_runs()
    if not runs:
        await reply(update, ctx, tr(ctx, "status.none"))
        return
    lines = [tr(ctx, "status.title")]
    for run in runs:
        at = fmt_datetime(run.last_started_at, ctx.lang, ctx.settings.zone)
        summary = Phrase.from_json(run.summary) if run.outcome == "ok" else None
        said = summary.in_lang(ctx.lang) if summary is not None else run.detail  # else plain text
        detail = f" — {said[:200]}" if said else ""
        lines.append(
            tr(
                ctx,
                "status.row",
                job=run.name,
                outcome=_outcome(ctx, run.outcome),
                at=at or tr(ctx, "status.never"),
                ms=run.duration_ms,
                detail=detail,
            )
        )
    await reply(update, ctx, "\n".join(lines))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["status", "etat"], status))
