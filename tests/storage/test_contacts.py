"""Contacts: search over what a user may read, duplicates, cards."""

from __future__ import annotations

import pytest

from storage.contacts import (
    DuplicateContact,
    NewContact,
    add_note,
    contact_card,
    create_contact,
    search_contacts,
)
from storage.errors import NotFound
from storage.models import Contact, ContactKind, Role
from storage.pipeline import create_deal
from storage.tasks import create_task
from storage.users import create_user


async def test_search_finds_own_and_shared_contacts_by_any_field(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    boss = await create_user("boss", Role.MANAGER)
    await create_contact(
        alice,
        NewContact("Zoé Martin", phone="06 12 34 56 78", email="zoe@acme.fr", company="ACME"),
        region="FR",
    )
    await create_contact(alice, NewContact("Ann Martin", shared=True), region="FR")
    await create_contact(bob, NewContact("Bob Martin"), region="FR")
    names = [c.name for c in await search_contacts(alice, "martin")]
    assert names == ["Ann Martin", "Zoé Martin"]  # Bob's is not shared; sorted by name
    assert [c.name for c in await search_contacts(bob, "MARTIN")] == ["Ann Martin", "Bob Martin"]
    assert len(await search_contacts(boss, "martin")) == 3
    assert [c.name for c in await search_contacts(bob, "acme")] == ["ACME"]  # shared company
    for needle in ("0612345678", "06 12 34", "+33 6 12 34 56 78", "612345678", "zoe@acme", "zoé"):
        assert [c.name for c in await search_contacts(alice, needle)] == ["Zoé Martin"], needle
    assert await search_contacts(bob, "0612345678") == []
    assert await search_contacts(alice, "100%") == []  # LIKE wildcards are literal
    assert await search_contacts(alice, "o_e") == []


async def test_search_limit_keeps_the_first_names_across_own_and_shared(db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    for i in range(6):
        await create_contact(alice, NewContact(f"Own {i}"), region="FR")
        await create_contact(bob, NewContact(f"Shared {i}", shared=True), region="FR")
    found = await search_contacts(alice, "", limit=8)
    assert [c.name for c in found] == [f"Own {i}" for i in range(6)] + ["Shared 0", "Shared 1"]


async def test_duplicate_by_phone_or_email_is_detected_unless_forced(db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    first = await create_contact(alice, NewContact("Ann", phone="+33612345678"), region="FR")
    with pytest.raises(DuplicateContact) as dup:
        await create_contact(alice, NewContact("Annie", phone="06 12 34 56 78"), region="FR")
    assert dup.value.existing_id == first.id
    await create_contact(alice, NewContact("Annie", phone="06 12 34 56 78"), region="FR", force=True)
    assert await Contact.filter(phone="+33612345678").count() == 2


async def test_a_shared_card_shows_a_salesperson_only_their_own_deals_and_tasks(
    any_db: str,
) -> None:
    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    boss = await create_user("boss", Role.MANAGER)
    acme = await create_contact(alice, NewContact("ACME", kind=ContactKind.COMPANY, shared=True), region="FR")
    ann = await create_contact(alice, NewContact("Ann", company="ACME"), region="FR")
    await create_deal(alice, acme.id, "Alice's deal", 1000, "EUR")
    await create_deal(bob, acme.id, "Bob's deal", 2000, "EUR")
    await create_task(alice, "Alice's call", None, contact_id=acme.id)
    await create_task(bob, "Bob's call", None, contact_id=acme.id)
    await add_note(alice, acme.id, "Met at the fair")
    card = await contact_card(bob, acme.id)
    assert [d.title for d in card.deals] == ["Bob's deal"] and card.deals[0].stage.name == "Lead"
    assert [t.text for t in card.tasks] == ["Bob's call"]
    assert [(n.text, n.author.name) for n in card.notes] == [("Met at the fair", "alice")]
    full = await contact_card(boss, acme.id)
    assert [d.title for d in full.deals] == ["Bob's deal", "Alice's deal"]
    assert sorted(t.text for t in full.tasks) == ["Alice's call", "Bob's call"]
    own = await contact_card(alice, ann.id)
    assert own.company is not None and own.company.id == acme.id
    private = await create_contact(alice, NewContact("Private"), region="FR")
    with pytest.raises(NotFound):
        await contact_card(bob, private.id)


async def test_a_phone_number_typed_with_its_leading_zero_is_found_and_short_numbers_stay_exact(
    db: str,
) -> None:
    boss = await create_user("boss2", Role.MANAGER, telegram_id=77)
    await create_contact(boss, NewContact("Ann", phone="+33612345678"), region="FR")
    await create_contact(boss, NewContact("Agent 7", email="seven@example.com"), region="FR")
    assert [c.name for c in await search_contacts(boss, "0612345678")] == ["Ann"]
    assert [c.name for c in await search_contacts(boss, "612345")] == ["Ann"]
    assert [c.name for c in await search_contacts(boss, "007")] == []


async def test_a_colleagues_duplicate_is_refused_without_naming_it(db: str) -> None:
    from storage.errors import Conflict

    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    boss = await create_user("boss", Role.MANAGER)
    await create_contact(
        alice, NewContact("Secret Client", phone="+33612345678", email="vip@secret.example"), region="FR"
    )
    for data in (
        NewContact("Probe", phone="06 12 34 56 78"),
        NewContact("Probe", email="vip@secret.example"),
    ):
        for force in (False, True):
            with pytest.raises(Conflict) as err:
                await create_contact(bob, data, region="FR", force=force)
            assert not isinstance(err.value, DuplicateContact)
            assert err.value.code == "duplicate_colleague" and err.value.params == {}
            assert "Secret" not in str(err.value)
    assert await Contact.filter(name="Probe").count() == 0
    with pytest.raises(DuplicateContact):  # a manager sees it: the "open existing" path
        await create_contact(boss, NewContact("Probe", phone="06 12 34 56 78"), region="FR")


async def test_a_visible_duplicate_is_offered_before_a_hidden_one(db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    await create_contact(alice, NewContact("Alice's", phone="+33612345678"), region="FR")
    mine = await create_contact(bob, NewContact("Bob's", phone="+33699999999"), region="FR")
    await Contact.filter(id=mine.id).update(phone="+33612345678")
    with pytest.raises(DuplicateContact) as dup:
        await create_contact(bob, NewContact("Again", phone="+33612345678"), region="FR")
    assert dup.value.existing_id == mine.id


async def test_card_hides_a_company_the_reader_may_not_see(db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    await create_contact(alice, NewContact("Hidden Corp", kind=ContactKind.COMPANY), region="FR")
    await create_contact(bob, NewContact("Hidden Corp", kind=ContactKind.COMPANY), region="FR")
    ann = await create_contact(alice, NewContact("Ann", shared=True), region="FR")
    hidden = await Contact.get(name="Hidden Corp", owner_id=alice.id)
    await Contact.filter(id=ann.id).update(company_id=hidden.id)
    assert (await contact_card(alice, ann.id)).company is not None
    assert (await contact_card(bob, ann.id)).company is None


async def test_invoice_language_can_be_cleared_back_to_french(db: str) -> None:
    from storage.contacts import set_billing

    alice = await create_user("alice", Role.SALES)
    acme = await create_contact(alice, NewContact("ACME", kind=ContactKind.COMPANY), region="FR")
    await set_billing(alice, acme.id, invoice_language="en")
    assert (await Contact.get(id=acme.id)).invoice_language == "en"
    await set_billing(alice, acme.id, invoice_language="")
    assert (await Contact.get(id=acme.id)).invoice_language == "fr"
