"""Bad input never reaches the database as an error, on SQLite as on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.collections import log_call
from storage.contacts import NewContact, add_note, create_contact, get_contact
from storage.errors import InvalidInput, NotFound, UserError
from storage.ids import parse_id
from storage.invoicing import find_invoice
from storage.models import Contact, Deal, Note, Role, User
from storage.pipeline import create_deal, find_stage, lose_deal, move_deal
from storage.products import create_product, get_product
from storage.tasks import create_task
from storage.text import MAX_DB_INT, clean_name, clean_text
from storage.users import create_user, find_user, redeem_invite


async def _sales(name: str = "alice") -> User:
    return await create_user(name, Role.SALES, telegram_id=abs(hash(name)) % 10**9)


@pytest.mark.parametrize("text", ["C2147483648", "C999999999999", "D" + "9" * 12, "C0"])
def test_ids_beyond_the_databases_integers_are_no_such_record(text: str) -> None:
    with pytest.raises(NotFound):
        parse_id(text, text[0])
    assert parse_id(f"{text[0]}{MAX_DB_INT}", text[0]) == MAX_DB_INT


async def test_huge_references_are_not_found_without_a_database_error(any_db: str) -> None:
    alice = await _sales()
    manager = await create_user("boss", Role.MANAGER)
    for ref in ("I999999999999", "I2147483648", "F2026-" + "0" * 500):
        with pytest.raises(NotFound):
            await find_invoice(manager, ref)
    for text in ("9" * 30, "U" + "9" * 30, "x" * 5000, "U2147483648", "٣٤"):
        with pytest.raises(NotFound):
            await find_user(text)
    with pytest.raises(NotFound):
        await get_product("SKU" * 300)
    with pytest.raises(NotFound):
        await redeem_invite("c" * 5000, 77, "Newcomer", "en")
    with pytest.raises(NotFound):
        await get_contact(alice, MAX_DB_INT)
    assert await User.filter(telegram_id=77).count() == 0


async def test_controls_and_nul_are_stripped_from_names_and_texts(any_db: str) -> None:
    alice = await _sales()
    contact = await create_contact(
        alice, NewContact(name="Ann\x00 Mar\x07tin\u200b", company="Acme\x00"), region="FR"
    )
    stored = await Contact.get(id=contact.id)
    assert stored.name == "Ann Martin\u200b"
    note = await add_note(alice, contact.id, "line one\x00\nline\x1b two\ttab")
    assert (await Note.get(id=note.id)).text == "line one\nline two\ttab"
    deal = await create_deal(alice, contact.id, "Boiler\x00\x01", 100, "EUR")
    assert (await Deal.get(id=deal.id)).title == "Boiler"
    task = await create_task(alice, "Call\x00 back", None, contact_id=contact.id)
    assert task.text == "Call back"
    lost = await lose_deal(alice, deal.id, "too\x00 expensive")
    assert lost.lost_reason == "too expensive"


@pytest.mark.parametrize(
    "name", ["\u200b\u200d", "\u3164\u3164", " \t ", "\x00\x00", "\u2800", "\u0301\u0301"]
)
async def test_names_of_only_invisible_characters_are_refused(any_db: str, name: str) -> None:
    alice = await _sales()
    with pytest.raises(InvalidInput):
        await create_contact(alice, NewContact(name=name), region="FR")
    assert await Contact.all().count() == 0


async def test_every_length_limit_is_a_sentence_before_the_database(any_db: str) -> None:
    alice = await _sales()
    boss = await create_user("boss", Role.MANAGER)
    contact = await create_contact(alice, NewContact(name="Ann"), region="FR")
    deal = await create_deal(alice, contact.id, "Boiler", 100, "EUR")
    attempts = [
        create_contact(alice, NewContact(name="N" * 201), region="FR"),
        create_contact(alice, NewContact(name="Ann", company="C" * 201), region="FR"),
        add_note(alice, contact.id, "n" * 4001),
        create_deal(alice, contact.id, "T" * 201, 100, "EUR"),
        create_task(alice, "t" * 2001, None, contact_id=contact.id),
        move_deal(alice, deal.id, await find_stage("lost"), reason="r" * 1001),
        create_product(
            boss, sku="S" * 65, name="Widget", unit_price_cents=100, vat_rate_bp=2000, allowed_vat_bp=[2000]
        ),
        create_product(
            boss, sku="W1", name="W" * 201, unit_price_cents=100, vat_rate_bp=2000, allowed_vat_bp=[2000]
        ),
        create_product(
            boss,
            sku="W2",
            name="Widget",
            unit_price_cents=100,
            vat_rate_bp=2000,
            allowed_vat_bp=[2000],
            unit="u" * 17,
        ),
        create_user("U" * 129, Role.SALES),
        log_call(boss, 1, "c" * 2001, datetime.now(UTC)),
    ]
    for attempt in attempts:
        with pytest.raises(UserError) as caught:
            await attempt
        assert caught.value.code in ("too_long", "sku"), caught.value
    assert await Note.all().count() == 0 and await Deal.all().count() == 1
    assert (await Deal.get(id=deal.id)).lost_reason is None


def test_clean_helpers() -> None:
    assert clean_name("  Zoé \x00 Martin ", 20) == "Zoé Martin"
    assert clean_text("a\x00b\r\nc", 10) == "ab\nc"
    with pytest.raises(InvalidInput, match="too_long"):
        clean_name("x" * 21, 20)
    with pytest.raises(InvalidInput, match="invisible_name"):
        clean_name("\u200b", 20)
    assert clean_name("\ud800Ann", 20) == "Ann"  # a lone surrogate no database can store
