"""Rights that match the README: collections staff read every contact but add only to what
they own or what is shared; /report writes texts as typed, never as formulas."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from storage.models import Contact, Deal, Invoice, Note, Role
from tests.harness import ChatHarness


async def test_collections_reads_every_contact_but_adds_only_to_its_own_or_shared(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES)
    cora = await chat.user("cora", Role.COLLECTIONS)
    await alice.says("/newcontact Ann Private | +33612345678")
    ann = await Contact.get(name="Ann Private")
    await cora.says(f"/contact C{ann.id}")
    assert "Ann Private" in cora.last_text  # reads every contact
    refusal = f"You may read C{ann.id} but not add to it"
    await cora.says(f"/note C{ann.id} called about the invoice")
    assert cora.last_text.startswith(refusal)
    await cora.says(f"/newdeal C{ann.id} | Upsell | 100")
    assert cora.last_text.startswith(refusal)
    await cora.says(f"/newinvoice C{ann.id}")
    assert cora.last_text.startswith(refusal)
    assert await Note.all().count() == 0 and await Deal.all().count() == 0
    assert await Invoice.all().count() == 0
    # A shared contact, or one of hers, takes her notes and deals.
    await Contact.filter(id=ann.id).update(shared=True)
    await cora.says(f"/note C{ann.id} called about the invoice")
    assert "added" in cora.last_text.lower()
    await cora.says("/newcontact Own Client | +33612345679")
    own = await Contact.get(name="Own Client")
    await cora.says(f"/newdeal C{own.id} | Deal | 100")
    assert await Deal.filter(contact=own).count() == 1


async def test_report_writes_texts_as_typed_never_as_formulas(chat: ChatHarness) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    await boss.says("/newcontact Evil | +33612345678")
    evil = await Contact.get(name="Evil")
    await Contact.filter(id=evil.id).update(name="=cmd|' /C calc'!A0\x01\x1f")
    await boss.says(f"/newdeal C{evil.id} | @SUM(A1:A9) | 100")
    await boss.says("/report sales")
    doc = next(s for s in boss.replies if s.method == "sendDocument")
    _, data = next(iter(doc.files.values()))
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    row = list(sheet.iter_rows(values_only=True))[1]
    assert row[1] == "'@SUM(A1:A9)"
    assert row[2] == "'=cmd|' /C calc'!A0"
    assert all(cell.data_type != "f" for cells in sheet.iter_rows() for cell in cells)
