"""Step-by-step input: a command given no arguments asks for each field in turn.

A `Form` is a list of `Step`s and a `done` coroutine taking the collected values. Each
step may check its value with a pure parser (a bad value is answered with the parser's
sentence and the same question again), offer buttons for finite choices, or be skipped
with `-` when optional. `/cancel` leaves the form. State lives in `user_data["form"]`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.context import Ctx
from bot.ui import button, cb, error_text, keyboard, parse_cb, reply, tr
from storage.errors import InvalidInput, UserError

__all__ = ["FORMS", "Form", "Step", "cancel_form", "feed_choice", "feed_text", "start_form"]

Choices = Callable[[Ctx], Awaitable[list[tuple[str, str]]]]
Check = Callable[[Ctx, str], Any]
Done = Callable[[Update, Ctx, dict[str, str]], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    key: str
    prompt: str
    optional: bool = False
    choices: Choices | None = None
    check: Check | None = None


@dataclass(frozen=True)
class Form:
    name: str
    steps: tuple[Step, ...]
    done: Done


FORMS: dict[str, Form] = {}


def register_form(form: Form) -> Form:
    """Make a form resumable by name (state keeps only the name)."""
    FORMS[form.name] = form
    return form


async def start_form(update: Update, ctx: Ctx, form: Form, **preset: str) -> None:
    """Begin a form (values already known may be preset) and ask the first question."""
    assert ctx.user_data is not None
    ctx.user_data["form"] = {"name": form.name, "values": dict(preset)}
    await _ask(update, ctx, form)


async def cancel_form(ctx: Ctx) -> bool:
    """Leave the current form; True if there was one."""
    assert ctx.user_data is not None
    return ctx.user_data.pop("form", None) is not None


def _state(ctx: Ctx) -> tuple[Form, dict[str, str]] | None:
    state = (ctx.user_data or {}).get("form")
    if not state or state.get("name") not in FORMS:
        return None
    return FORMS[state["name"]], state["values"]


def _next_step(form: Form, values: dict[str, str]) -> Step | None:
    return next((s for s in form.steps if s.key not in values), None)


async def _ask(update: Update, ctx: Ctx, form: Form, error: str = "") -> None:
    state = _state(ctx)
    assert state is not None
    step = _next_step(form, state[1])
    if step is None:
        await _finish(update, ctx, form, state[1])
        return
    rows = []
    if step.choices is not None:
        options = await step.choices(ctx)
        rows = [[button(label, cb("form", "pick", i))] for i, (label, _) in enumerate(options[:20])]
        ctx.user_data["form"]["options"] = [value for _, value in options[:20]]  # type: ignore[index]
    text = (error + "\n\n" if error else "") + tr(ctx, step.prompt)
    if step.optional:
        text += "\n" + tr(ctx, "form.skip_hint")
    text += "\n" + tr(ctx, "form.cancel_hint")
    await reply(update, ctx, text, keyboard(rows))


async def _finish(update: Update, ctx: Ctx, form: Form, values: dict[str, str]) -> None:
    assert ctx.user_data is not None
    ctx.user_data.pop("form", None)
    await form.done(update, ctx, values)


async def _accept(update: Update, ctx: Ctx, value: str) -> bool:
    state = _state(ctx)
    if state is None:
        return False
    form, values = state
    step = _next_step(form, values)
    if step is None:
        return False
    value = value.strip()
    try:
        if value == "-" and step.optional:
            value = ""
        elif not value or value == "-":  # "-" skips optional steps only
            raise InvalidInput("empty")
        elif step.check is not None:
            step.check(ctx, value)
    except UserError as err:  # one sentence, then the same question: the form is kept
        await _ask(update, ctx, form, error=error_text(ctx.lang, err.code, err.params))
        return True
    values[step.key] = value
    await _ask(update, ctx, form)
    return True


async def feed_text(update: Update, ctx: Ctx) -> bool:
    """Give a typed line to the pending form; False when no form is pending."""
    message = update.effective_message
    if message is None or message.text is None:
        return False
    return await _accept(update, ctx, message.text)


async def feed_choice(update: Update, ctx: Ctx) -> None:
    """A choice button of the pending form was pressed."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    (index,) = parse_cb(query.data, "form", 1)
    options = ((ctx.user_data or {}).get("form") or {}).get("options") or []
    if not index.isdigit() or int(index) >= len(options):
        raise InvalidInput("callback")
    await _accept(update, ctx, options[int(index)])
