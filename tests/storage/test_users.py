"""Users: invitations (one-time, expiring), roles, deactivation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.errors import Conflict, Forbidden, NotFound
from storage.models import AuditLog, Invite, Role, User
from storage.users import (
    create_invite,
    create_user,
    deactivate,
    redeem_invite,
    set_role,
    user_for_telegram,
)


async def test_an_invite_registers_once_with_its_role(any_db: str) -> None:
    admin = await create_user("root", Role.ADMIN)
    invite = await create_invite(admin, Role.SALES)
    user = await redeem_invite(invite.code, 555, "Ann", "fr-FR")
    assert (user.role, user.language, user.telegram_id) == (Role.SALES, "fr", 555)
    with pytest.raises(NotFound):
        await redeem_invite(invite.code, 556, "Eve", "en")
    assert await User.filter(telegram_id=556).count() == 0
    used = await Invite.get(id=invite.id)
    assert used.used_at is not None and used.used_by_id == user.id


async def test_expired_invites_and_taken_names(db: str) -> None:
    invite = await create_invite(None, Role.MANAGER)
    await Invite.filter(id=invite.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    with pytest.raises(NotFound):
        await redeem_invite(invite.code, 1, "Ann", "en")
    await create_user("Ann", Role.SALES)
    fresh = await create_invite(None, Role.SALES)
    newcomer = await redeem_invite(fresh.code, 2, "Ann", "en")
    assert newcomer.name == "Ann 2"


async def test_only_admins_manage_users_and_one_admin_always_remains(db: str) -> None:
    root = await create_user("root", Role.ADMIN)
    alice = await create_user("alice", Role.SALES, telegram_id=10)
    with pytest.raises(Forbidden):
        await create_invite(alice, Role.ADMIN)
    with pytest.raises(Forbidden):
        await set_role(alice, alice, Role.MANAGER)
    with pytest.raises(Conflict):
        await set_role(root, root, Role.SALES)
    with pytest.raises(Conflict):
        await deactivate(root, root)
    await deactivate(root, alice)
    assert await user_for_telegram(10) is None
    assert await AuditLog.filter(entity="user", action="deactivate").count() == 1
