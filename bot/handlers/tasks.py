"""Tasks: /task ID | text | due, /tasks with a Done button on each."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.i18n import Safe, fmt_datetime
from bot.ui import args_text, button, cb, parse_cb, reply, send_list, split_fields, tr
from storage.errors import InvalidInput
from storage.ids import parse_id
from storage.models import Task
from storage.tasks import complete_task, create_task, list_tasks, parse_due


def parse_target(text: str) -> tuple[int | None, int | None]:
    """`D34` → (deal 34, None); `C12` → (None, contact 12); anything else is invalid."""
    raw = (text or "").strip().upper()
    if raw.startswith("D"):
        return parse_id(raw, "D"), None
    if raw.startswith("C"):
        return None, parse_id(raw, "C")
    raise InvalidInput("task_target", value=text)


def _check_target(ctx: Ctx, value: str) -> None:
    parse_target(value)


def _check_due(ctx: Ctx, value: str) -> None:
    parse_due(value, datetime.now(UTC), ctx.settings.zone)


async def _create(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    deal_id, contact_id = parse_target(values["target"])
    due = parse_due(values.get("due", ""), datetime.now(UTC), ctx.settings.zone)
    task = await create_task(ctx.actor, values.get("text", ""), due, deal_id=deal_id, contact_id=contact_id)
    when = fmt_datetime(due, ctx.lang, ctx.settings.zone) if due else tr(ctx, "tasks.no_due")
    await reply(update, ctx, tr(ctx, "tasks.created", id=task.id, text=task.text, due=when))


NEW_TASK = register_form(
    Form(
        "task",
        (
            Step("target", "tasks.ask_target", check=_check_target),
            Step("text", "tasks.ask_text"),
            Step("due", "tasks.ask_due", optional=True, check=_check_due),
        ),
        _create,
    )
)


async def task(update: Update, ctx: Ctx) -> None:
    """`/task D34|C12 | text | due`, or step by step."""
    text = args_text(ctx)
    if not text:
        await start_form(update, ctx, NEW_TASK)
        return
    target, body, due = split_fields(text, 3)
    if not body:
        parse_target(target)
        await start_form(update, ctx, NEW_TASK, target=target)
        return
    await _create(update, ctx, {"target": target, "text": body, "due": due})


def _line(ctx: Ctx, t: Task) -> str:
    due = fmt_datetime(t.due_at, ctx.lang, ctx.settings.zone) if t.due_at else ""
    link = f" (D{t.deal_id})" if t.deal_id else f" (C{t.contact_id})" if t.contact_id else ""
    return f"<b>T{t.id}</b> {escape(t.text)}{link}" + (f" — {due}" if due else "")


async def _render(update: Update, ctx: Ctx, header: str = "", *, edit: bool = False) -> None:
    open_tasks = await list_tasks(ctx.actor)
    title = tr(ctx, "tasks.title", count=len(open_tasks)) if open_tasks else tr(ctx, "tasks.none")
    # Button labels are plain text, not HTML: the task's text goes in unescaped.
    rows = [
        [button(tr(ctx, "tasks.btn_done", id=t.id, text=Safe(t.text[:40])), cb("task", "done", t.id))]
        for t in open_tasks
    ]
    await send_list(
        update,
        ctx,
        "\n".join(filter(None, [header, title])),
        [_line(ctx, t) for t in open_tasks],
        rows,
        edit=edit,
    )


async def tasks(update: Update, ctx: Ctx) -> None:
    """`/tasks`: my open tasks, soonest first, each with a Done button."""
    await _render(update, ctx)


async def on_button(update: Update, ctx: Ctx) -> None:
    """`task:done:ID`: the permission is re-checked on the task at press time."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    (raw,) = parse_cb(query.data, "task", 1)
    if not (query.data or "").startswith("task:done:"):
        raise InvalidInput("callback")
    done = await complete_task(ctx.actor, parse_id(raw, "T"))
    await _render(update, ctx, tr(ctx, "tasks.done", id=done.id, text=done.text), edit=True)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["task", "tache"], task))
    app.add_handler(CommandHandler(["tasks", "taches"], tasks))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^task:"))
