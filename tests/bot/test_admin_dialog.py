"""Dialogs about users: /users, /role, /deactivate, /invite, /start CODE, /lang."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from storage.models import AuditLog, Invite, Role, User
from tests.harness import ChatHarness


def _code(text: str) -> str:
    m = re.search(r"start=([\w-]+)", text)
    assert m, text
    return m.group(1)


async def test_users_lists_roles_and_the_button_deactivates(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    alice = await chat.user("alice", Role.SALES)
    await root.says("/users")
    assert "alice — sales — active" in root.last_text
    assert "root — admin — active" in root.last_text
    assert "Deactivate root" not in " ".join(root.buttons())  # never yourself
    await root.presses("Deactivate alice")
    assert "alice is deactivated" in root.last_text
    assert not (await User.get(name="alice")).active
    await alice.says("/deals")
    assert alice.last_text.startswith("Sorry, this bot is private")
    await root.says("/users")
    assert "alice — sales — deactivated" in root.last_text


async def test_role_changes_a_role_and_refuses_bad_input(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    await chat.user("alice", Role.SALES)
    await root.says("/role alice manager")
    assert "alice is now manager" in root.last_text
    assert (await User.get(name="alice")).role == Role.MANAGER
    await root.says("/role alice boss")
    assert "“boss” is not a role" in root.last_text
    await root.says("/role nobody sales")
    assert "No user “nobody”" in root.last_text
    await root.says("/role root sales")
    assert "last active administrator" in root.last_text
    assert (await User.get(name="root")).role == Role.ADMIN
    assert await AuditLog.filter(entity="user", action="role").count() == 1


async def test_role_step_by_step_offers_buttons(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    await chat.user("alice", Role.SALES)
    await root.says("/role")
    await root.presses("alice (sales)")
    assert "Which role" in root.last_text
    await root.presses("collections")
    assert "alice is now collections" in root.last_text


async def test_deactivate_command_and_last_admin_protection(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    await chat.user("bob", Role.SALES)
    await root.says("/deactivate bob")
    assert "bob is deactivated" in root.last_text
    await root.says("/deactivate root")
    assert "last active administrator" in root.last_text
    assert (await User.get(name="root")).active


async def test_non_admins_cannot_manage_users_nor_learn_names(chat: ChatHarness) -> None:
    await chat.user("root", Role.ADMIN)
    boss = await chat.user("boss", Role.MANAGER)
    alice = await chat.user("alice", Role.SALES)
    for person in (boss, alice):
        for command in (
            "/users",
            "/role root sales",
            "/role ghost sales",
            "/deactivate root",
            "/deactivate",
            "/invite sales",
            "/invite",
            "/role",
        ):
            await person.says(command)
            assert person.last_text == "Only administrators may do this.", command
        root_user = await User.get(name="root")
        await person.presses_data(f"user:off:{root_user.id}")
        assert person.last_text == "Only administrators may do this."
    assert await User.filter(active=True).count() == 3
    assert (await User.get(name="root")).role == Role.ADMIN
    assert await Invite.all().count() == 0


async def test_invite_in_chat_then_start_code_registers_once(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    await root.says("/invite sales")
    assert "t.me/entonnoir_bot?start=" in root.last_text
    code = _code(root.last_text)
    newcomer = chat.stranger(lang="fr")
    await newcomer.says(f"/start {code}")
    assert "Bienvenue" in newcomer.last_text and "sales" in newcomer.last_text
    user = await User.get(telegram_id=newcomer.telegram_id)
    assert user.role == Role.SALES and user.language == "fr"
    await newcomer.says("/deals")
    assert "Aucune affaire" in newcomer.last_text
    other = chat.stranger()
    await other.says(f"/start {code}")
    assert "not valid" in other.last_text
    assert not await User.filter(telegram_id=other.telegram_id).exists()
    await other.says("/deals")
    assert other.last_text.startswith("Sorry, this bot is private")


async def test_expired_or_unknown_invite_is_refused(chat: ChatHarness) -> None:
    root = await chat.user("root", Role.ADMIN)
    await root.says("/invite")
    await root.presses("manager")
    code = _code(root.last_text)
    await Invite.filter(code=code).update(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    late = chat.stranger()
    await late.says(f"/start {code}")
    assert "not valid" in late.last_text
    await late.says("/start made-up-code")
    assert "not valid" in late.last_text
    assert await User.all().count() == 1


async def test_lang_fr_switches_replies_to_french(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="en")
    await alice.says("/deals")
    assert alice.last_text == "No deal."
    await alice.says("/lang fr")
    assert alice.last_text == "Je vous parlerai en français."
    await alice.says("/deals")
    assert alice.last_text == "Aucune affaire."
    await alice.says("/lang de")
    assert alice.last_text == "Choisissez en ou fr."
    assert (await User.get(name="alice")).language == "fr"
