"""The client's e-invoicing address from the PA's directory: looked up, cached, on the card."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mail.pa.client import PaClient
from mail.pa.worker import flush_submissions, lookup_addressing
from storage.einvoicing.directory import set_also_email
from storage.models import PaAddressing
from tests.billing_data import make_billing
from tests.harness import ChatHarness, Person
from tests.pa.conftest import PA_SELLER
from tests.pa.fake_pa import FakePA
from tests.pa.test_sending import NOW, issue_won_deal

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

ACME_LINE = {
    "addressingIdentifier": "552100554_ACME",
    "siren": "552100554",
    "siret": "55210055400013",
    "platformType": "WK",
    "directoryLineStatus": "Enabled",
}


async def test_client_is_looked_up_once_before_its_invoice_goes_then_cached(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    fake_pa.directory["552100554"] = ACME_LINE
    b, _ = await issue_won_deal()
    await flush_submissions(pa, PA_SELLER, NOW)
    row = await PaAddressing.get(contact_id=b.client.id)
    assert (row.found, row.address_id, row.siret) == (True, "552100554_ACME", "55210055400013")
    await lookup_addressing(pa, b.client.id, NOW + timedelta(days=1))
    assert fake_pa.directory_requests == 1  # cached
    await lookup_addressing(pa, b.client.id, NOW + timedelta(days=31))
    assert fake_pa.directory_requests == 2  # stale after a month


async def test_directory_outage_does_not_hold_the_invoice_back(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    fake_pa.directory_down = True
    await issue_won_deal()
    assert (await flush_submissions(pa, PA_SELLER, NOW)).submitted == 1
    assert not await PaAddressing.exists()


async def test_the_card_shows_the_address_and_the_pdf_wish(
    chat: ChatHarness, fake_pa: FakePA, pa: PaClient
) -> None:
    b = await make_billing(telegram_base=700, win=False)
    alice = Person(chat, 701, "alice", "fr")  # make_billing's alice speaks French
    await alice.says(f"/contact C{b.client.id}")
    assert "facturation électronique" not in alice.last_text
    fake_pa.directory["552100554"] = ACME_LINE
    await lookup_addressing(pa, b.client.id, NOW)
    await set_also_email(b.alice, b.client.id, True)
    await alice.says(f"/contact C{b.client.id}")
    assert (
        "Adresse de facturation électronique : 552100554_ACME (plateforme WK)" in (alice.last_text)
        and "PDF aussi par e-mail" in alice.last_text
    )


async def test_the_pdf_by_email_wish_is_set_in_chat_by_the_owner_only(chat: ChatHarness) -> None:
    from storage.models import Role

    b = await make_billing(telegram_base=800, win=False)
    alice = Person(chat, 801, "alice", "fr")
    await alice.says(f"/pdfbyemail C{b.client.id} on")
    assert "recevra aussi le PDF" in alice.last_text
    assert (await PaAddressing.get(contact_id=b.client.id)).also_email
    bob = await chat.user("bob", Role.SALES)
    await bob.says(f"/pdfbyemail C{b.client.id} off")
    assert "No contact" in bob.last_text
    assert (await PaAddressing.get(contact_id=b.client.id)).also_email
    await alice.says("/pdfbyemail maybe")
    assert "/pdfbyemail C12 on|off" in alice.last_text
