"""Users, invitations and roles."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from functools import cache

from tortoise.transactions import in_transaction

from storage import audit
from storage.access import can_manage_users
from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.models import Invite, Role, User
from storage.sql import columns, fetch, model_from
from storage.text import MAX_DB_INT, clean_name, fits

__all__ = [
    "INVITE_TTL",
    "create_invite",
    "create_user",
    "deactivate",
    "ensure_first_admin",
    "find_user",
    "list_users",
    "parse_role",
    "redeem_invite",
    "set_language",
    "set_role",
    "user_for_telegram",
]

INVITE_TTL = timedelta(days=7)
LANGUAGES = ("en", "fr")


def parse_role(text: str) -> Role:
    """A role name (`sales`, `manager`...) or an InvalidInput naming the choices."""
    try:
        return Role((text or "").strip().lower())
    except ValueError as exc:
        raise InvalidInput("role", value=text, choices=", ".join(r.value for r in Role)) from exc


async def create_user(
    name: str,
    role: Role,
    *,
    telegram_id: int | None = None,
    language: str = "fr",
    actor: User | None = None,
) -> User:
    """Register a user; the name and the Telegram id must be unused."""
    if not (name or "").strip():
        raise InvalidInput("name", value="")
    name = clean_name(name, 128)
    if await User.filter(name=name).exists():
        raise Conflict("user_exists", name=name)
    if telegram_id is not None and await User.filter(telegram_id=telegram_id).exists():
        raise Conflict("telegram_taken", telegram_id=telegram_id)
    async with in_transaction():
        user = await User.create(name=name, role=role, telegram_id=telegram_id, language=_lang(language))
        await audit.record(actor, "user", user.id, "create", None, {"name": name, "role": role})
    return user


def _lang(code: str | None) -> str:
    code = (code or "fr")[:2].lower()
    return code if code in LANGUAGES else "en"


async def ensure_first_admin(
    name: str = "admin", telegram_id: int | None = None, language: str = "fr"
) -> User | None:
    """On an empty database create and return a first admin; otherwise None."""
    if await User.exists():
        return None
    return await create_user(name, Role.ADMIN, telegram_id=telegram_id, language=language)


async def create_invite(actor: User | None, role: Role) -> Invite:
    """A one-time code registering whoever sends `/start CODE` with the role."""
    if actor is not None and not can_manage_users(actor):
        raise Forbidden("admin_only")
    now = datetime.now(UTC)
    async with in_transaction():
        invite = await Invite.create(
            code=secrets.token_urlsafe(12),
            role=role,
            created_by=actor,
            expires_at=now + INVITE_TTL,
        )
        await audit.record(actor, "invite", invite.id, "create", None, {"role": role})
    return invite


async def redeem_invite(code: str, telegram_id: int, name: str, language: str | None) -> User:
    """Register the sender with the invite's role; the code works once, before it expires."""
    now = datetime.now(UTC)
    code = (code or "").strip()
    if not fits(code, 64):  # no invitation has such a code: the database is not asked
        raise NotFound("invite")
    async with in_transaction():
        invite = await Invite.filter(code=code).select_for_update().first()
        if invite is None or invite.used_at is not None or invite.expires_at < now:
            raise NotFound("invite")
        if await User.filter(telegram_id=telegram_id).exists():
            raise Conflict("already_registered")
        unique_name = await _free_name(name or f"user{telegram_id}")
        user = await User.create(
            name=unique_name, role=invite.role, telegram_id=telegram_id, language=_lang(language)
        )
        updated = await Invite.filter(id=invite.id, used_at__isnull=True).update(
            used_at=now, used_by_id=user.id
        )
        if updated != 1:
            raise NotFound("invite")
        await audit.record(user, "user", user.id, "register", None, {"invite": invite.id})
    return user


async def _free_name(name: str) -> str:
    try:  # the Telegram profile name, made safe (it is not typed as a command)
        base = clean_name(name[:120], 120)
    except InvalidInput:
        base = "user"
    candidate, n = base, 1
    while await User.filter(name=candidate).exists():
        n += 1
        candidate = f"{base} {n}"
    return candidate


@cache
def _by_telegram_sql() -> str:
    return (  # column names from the model only; the id is a parameter
        f"SELECT {columns(User, 'u')} FROM users u "  # noqa: S608
        "WHERE u.telegram_id = ? AND u.active = ?"
    )


async def user_for_telegram(telegram_id: int) -> User | None:
    """The active user behind a Telegram id, or None for strangers and deactivated users.

    Read from the database on every update (never cached: a deactivation or a role change
    applies to the very next message), by one hand-written query since it runs every time.
    """
    rows = await fetch(_by_telegram_sql(), telegram_id, True)
    return model_from(User, rows[0]) if rows else None


async def find_user(text: str) -> User:
    """A user by Telegram id, by `@name`/name (case-insensitive) or by `U12`."""
    raw = (text or "").strip().lstrip("@")
    if not fits(raw, 128):  # longer than any name: nobody has it
        raise NotFound("user", value=text)
    user = None
    plain = raw[:1].upper() != "U"  # `U12` is an id; a bare number is a Telegram id first
    digits = raw if plain else raw[1:]
    number = int(digits) if digits.isascii() and digits.isdigit() else None
    if number is not None and plain and number <= 2**63 - 1:
        user = await User.get_or_none(telegram_id=number)
    if user is None and number is not None and 0 < number <= MAX_DB_INT:
        user = await User.get_or_none(id=number)
    if user is None and raw:
        user = await User.get_or_none(name__iexact=raw)
    if user is None:
        raise NotFound("user", value=text)
    return user


async def list_users(actor: User) -> list[User]:
    """Every user, for admins."""
    if not can_manage_users(actor):
        raise Forbidden("admin_only")
    return await User.all().order_by("name")


async def set_role(actor: User, target: User, role: Role) -> User:
    """Change a user's role (admins only; the last active admin keeps the role)."""
    if not can_manage_users(actor):
        raise Forbidden("admin_only")
    if target.role == Role.ADMIN and role != Role.ADMIN:
        await _keep_one_admin(target)
    async with in_transaction():
        before = target.role
        target.role = role
        await target.save(update_fields=["role"])
        await audit.record(actor, "user", target.id, "role", {"role": before}, {"role": role})
    return target


async def deactivate(actor: User, target: User) -> User:
    """Take a user's access away (admins only; never the last active admin)."""
    if not can_manage_users(actor):
        raise Forbidden("admin_only")
    if target.role == Role.ADMIN:
        await _keep_one_admin(target)
    async with in_transaction():
        target.active = False
        await target.save(update_fields=["active"])
        await audit.record(actor, "user", target.id, "deactivate", {"active": True}, {"active": False})
    return target


async def _keep_one_admin(target: User) -> None:
    others = await User.filter(role=Role.ADMIN, active=True).exclude(id=target.id).count()
    if others == 0:
        raise Conflict("last_admin")


async def set_language(user: User, language: str) -> User:
    """Set the user's language (`en` or `fr`)."""
    code = (language or "").strip().lower()
    if code not in LANGUAGES:
        raise InvalidInput("language", value=language)
    user.language = code
    await user.save(update_fields=["language"])
    return user
