"""Administration in the chat: /users, /role, /deactivate, /invite (admins only)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.i18n import Safe
from bot.ui import args_text, button, cb, parse_cb, reply, send_list, tr
from storage.access import can_manage_users
from storage.errors import Forbidden, InvalidInput
from storage.ids import parse_id
from storage.models import Role, User
from storage.users import create_invite, deactivate, find_user, list_users, parse_role, set_role


def _require_admin(ctx: Ctx) -> None:
    """Refuse before looking anything up, so non-admins learn nothing about users."""
    if not can_manage_users(ctx.actor):
        raise Forbidden("admin_only")


def _check_role(ctx: Ctx, value: str) -> None:
    parse_role(value)


async def _user_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(f"{u.name} ({u.role.value})", f"U{u.id}") for u in await list_users(ctx.actor) if u.active]


async def _role_choices(ctx: Ctx) -> list[tuple[str, str]]:
    return [(r.value, r.value) for r in Role]


async def users(update: Update, ctx: Ctx) -> None:
    """`/users`: everyone with their role and state; a Deactivate button per active user."""
    found = await list_users(ctx.actor)
    lines = [
        tr(
            ctx,
            "admin.user_line",
            id=u.id,
            name=u.name,
            role=u.role.value,
            state=tr(ctx, "admin.active" if u.active else "admin.inactive"),
        )
        for u in found
    ]
    # Button labels are plain text, not HTML: the name goes in unescaped.
    rows = [
        [button(tr(ctx, "admin.btn_deactivate", name=Safe(u.name[:40])), cb("user", "off", u.id))]
        if u.active and u.id != ctx.actor.id
        else []
        for u in found
    ]
    await send_list(update, ctx, tr(ctx, "admin.users_title"), lines, rows)


async def _role_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    _require_admin(ctx)
    target = await set_role(ctx.actor, await find_user(values["user"]), parse_role(values["role"]))
    await reply(update, ctx, tr(ctx, "admin.role_set", name=target.name, role=target.role.value))


ROLE = register_form(
    Form(
        "role",
        (
            Step("user", "admin.ask_user", choices=_user_choices),
            Step("role", "admin.ask_role", choices=_role_choices, check=_check_role),
        ),
        _role_done,
    )
)


async def role(update: Update, ctx: Ctx) -> None:
    """`/role USER ROLE`, or step by step with buttons."""
    _require_admin(ctx)
    parts = args_text(ctx).rsplit(maxsplit=1)
    if len(parts) < 2:
        await start_form(update, ctx, ROLE, **({"user": parts[0]} if parts else {}))
        return
    await _role_done(update, ctx, {"user": parts[0], "role": parts[1]})


async def _deactivate(update: Update, ctx: Ctx, target: User) -> None:
    done = await deactivate(ctx.actor, target)
    await reply(update, ctx, tr(ctx, "admin.deactivated", name=done.name))


async def _deactivate_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    _require_admin(ctx)
    await _deactivate(update, ctx, await find_user(values["user"]))


DEACTIVATE = register_form(
    Form("deactivate", (Step("user", "admin.ask_user", choices=_user_choices),), _deactivate_done)
)


async def deactivate_command(update: Update, ctx: Ctx) -> None:
    """`/deactivate USER`: take a user's access away."""
    _require_admin(ctx)
    text = args_text(ctx)
    if not text:
        await start_form(update, ctx, DEACTIVATE)
        return
    await _deactivate_done(update, ctx, {"user": text})


async def _invite_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    invite = await create_invite(ctx.actor, parse_role(values["role"]))
    link = f"https://t.me/{ctx.settings.bot_username}?start={invite.code}"
    await reply(update, ctx, tr(ctx, "admin.invite", role=invite.role.value, code=invite.code, link=link))


INVITE = register_form(
    Form("invite", (Step("role", "admin.ask_role", choices=_role_choices, check=_check_role),), _invite_done)
)


async def invite(update: Update, ctx: Ctx) -> None:
    """`/invite ROLE`: a one-time code and its t.me deep link."""
    _require_admin(ctx)
    text = args_text(ctx)
    if not text:
        await start_form(update, ctx, INVITE)
        return
    await _invite_done(update, ctx, {"role": text})


async def on_button(update: Update, ctx: Ctx) -> None:
    """The Deactivate button of /users (admin right re-checked at press time)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if not (query.data or "").startswith("user:off:"):
        raise InvalidInput("callback")
    (raw,) = parse_cb(query.data, "user", 1)
    _require_admin(ctx)
    await _deactivate(update, ctx, await find_user(f"U{parse_id(raw, 'U')}"))


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["users", "utilisateurs"], users))
    app.add_handler(CommandHandler("role", role))
    app.add_handler(CommandHandler(["deactivate", "desactiver"], deactivate_command))
    app.add_handler(CommandHandler(["invite", "inviter"], invite))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^user:"))
