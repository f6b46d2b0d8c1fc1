"""Dialogs about contacts, driven through the real Application."""

from __future__ import annotations

from storage.models import Contact, Role
from tests.harness import ChatHarness


async def test_new_contact_in_one_line_is_normalised_and_listed(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann Martin | 06 12 34 56 78 | Ann@Example.com | ACME SA")
    assert "Contact" in alice.last_text and "Ann Martin" in alice.last_text
    ann = await Contact.get(name="Ann Martin")
    assert ann.phone == "+33612345678"
    assert ann.email == "ann@example.com"
    await alice.says("/contacts 0612345678")
    assert "Ann Martin" in alice.all_text


async def test_bad_phone_gets_one_sentence_and_writes_nothing(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | 12")
    assert "not a valid phone number" in alice.last_text
    assert await Contact.all().count() == 0


async def test_step_by_step_contact_reasks_after_a_bad_email(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="fr")
    await alice.says("/newcontact")
    assert "Nom du contact" in alice.last_text
    await alice.says("Bob <b>Dupont</b>")
    await alice.says("-")
    await alice.says("bob@")
    assert "adresse e-mail valide" in alice.last_text
    await alice.says("bob@example.com")
    await alice.says("-")
    assert "Bob &lt;b&gt;Dupont&lt;/b&gt;" in alice.last_text
    assert await Contact.filter(email="bob@example.com").count() == 1


async def test_duplicate_by_phone_offers_the_existing_contact(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    await alice.says("/newcontact Annie | 0612345678")
    assert "already exists" in alice.last_text
    assert await Contact.all().count() == 1
    await alice.presses("Open the existing contact")
    assert "Ann" in alice.last_text
    await alice.says("/newcontact Annie | 0612345678")
    await alice.presses("Create it anyway")
    assert await Contact.all().count() == 2


async def test_shared_telegram_contact_creates_a_contact(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.shares_contact("33612345678", "Zoé", "Durand")
    assert await Contact.filter(name="Zoé Durand", phone="+33612345678").exists()


async def test_stranger_is_refused_politely_and_nothing_is_revealed(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    stranger = chat.stranger()
    for command in ("/contacts", "/contacts Ann", "/contact C1", "/deals all", "/pipeline"):
        await stranger.says(command)
        assert stranger.last_text.startswith("Sorry, this bot is private")
        assert "Ann" not in stranger.all_text
    await stranger.presses_data("contact:open:1")
    assert all("Ann" not in s.text for s in stranger.replies)


async def test_notes_on_the_card_are_dated_in_the_company_zone(chat: ChatHarness) -> None:
    from datetime import UTC, datetime

    from storage.models import Note

    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    contact = await Contact.get(name="Ann")
    assert alice.user
    # 00:30 in Paris on 1 January is still 31 December in UTC.
    await Note.create(
        contact=contact,
        author_id=alice.user.id,
        text="Happy new year",
        created_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC),
    )
    await alice.says(f"/contact C{contact.id}")
    assert "1 Jan 2027 alice: Happy new year" in alice.last_text
