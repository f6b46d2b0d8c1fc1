"""Dialogs shared by every area: forms re-ask after a bad value, /lang buttons, /cancel,
and invitation errors in the newcomer's own language."""

from __future__ import annotations

from storage.models import Contact, Deal, Role, User
from storage.users import create_invite
from tests.harness import ChatHarness


async def test_a_bad_value_in_a_form_is_explained_and_the_question_asked_again(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact")
    await alice.says("Ann")
    await alice.says("12")
    assert len(alice.replies) == 1  # one message: the sentence, then the same question
    assert "not a valid phone number" in alice.last_text
    assert "Phone number?" in alice.last_text
    await alice.says("")
    await alice.says("+33612345678")
    assert "Email address?" in alice.last_text
    await alice.says("-")
    await alice.says("-")
    assert await Contact.filter(name="Ann", phone="+33612345678").count() == 1


async def test_an_empty_answer_to_a_required_step_asks_again(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newdeal")
    await alice.says("-")  # the contact is required: "-" does not skip it
    assert "Please send a value" in alice.last_text
    assert "For which contact" in alice.last_text
    assert await Deal.all().count() == 0


async def test_lang_without_argument_offers_buttons(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="en")
    await alice.says("/lang")
    assert "Which language?" in alice.last_text
    assert "Français" in alice.buttons()
    await alice.presses("Français")
    assert "Je vous parlerai en français" in alice.last_text
    assert (await User.get(name="alice")).language == "fr"
    await alice.says("/lang de")
    assert "Choisissez en ou fr" in alice.last_text
    assert (await User.get(name="alice")).language == "fr"


async def test_cancel_drops_a_pending_duplicate_choice(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    await alice.says("/newcontact Annie | 0612345678")
    assert "already exists" in alice.last_text
    await alice.says("/cancel")
    assert "Cancelled" in alice.last_text
    await alice.presses("Create it anyway")
    assert "expired" in alice.last_text
    assert await Contact.all().count() == 1


async def test_a_bad_invitation_is_refused_in_the_newcomers_language(chat: ChatHarness) -> None:
    newcomer = chat.stranger(lang="fr")
    await newcomer.says("/start code-inventé")
    assert "Ce code d'invitation n'est pas valide" in newcomer.last_text
    assert not await User.filter(telegram_id=newcomer.telegram_id).exists()
    invite = await create_invite(None, Role.SALES)
    await newcomer.says(f"/start {invite.code}")
    assert "Bienvenue" in newcomer.last_text
    registered = await User.get(telegram_id=newcomer.telegram_id)
    assert registered.role == Role.SALES and registered.language == "fr"


async def test_help_lists_every_area_in_the_users_language(chat: ChatHarness) -> None:
    boss = await chat.user("boss", Role.MANAGER, lang="fr")
    await boss.says("/help")
    for command in (
        "/newcontact",
        "/invoice",
        "/payments",
        "/collections",
        "/stock",
        "/dashboard",
        "/export",
        "/users",
    ):
        assert command in boss.last_text
    assert "Factures" in boss.last_text
