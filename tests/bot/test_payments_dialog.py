"""Payments in chat: lists, matching by command and by button, permissions at press time."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.delivery import Pacer, deliver_alerts
from bot.settings import Settings
from mail.parsers.camt import parse_camt
from storage.models import (
    Alert,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentStatus,
    Role,
    User,
)
from storage.payments import quarantine_message, record_notices
from tests.harness import ChatHarness, Person
from tests.mail.camt_builder import Entry, Tx, camt
from tests.payment_fixtures import client, credit, issued

NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


async def _unmatched(seller: User) -> tuple[Invoice, Invoice, Payment]:
    acme = await client("ACME SA", seller)
    a = await issued(42, acme, seller, 1_200_00)
    b = await issued(43, acme, seller, 1_200_00)
    source = await InboxMessage.create(message_id="<m@bank>", folder="INBOX", status=InboxStatus.PROCESSED)
    await record_notices([credit(1_200_00, remittance="virement ACME")], source=source, now=NOW)
    return a, b, await Payment.get()


async def _people(chat: ChatHarness) -> tuple[Person, Person]:
    return await chat.user("sam", Role.SALES), await chat.user("mia", Role.MANAGER, lang="fr")


async def test_manager_picks_the_invoice_of_an_unmatched_payment_by_button(chat: ChatHarness) -> None:
    sam, mia = await _people(chat)
    assert sam.user is not None
    a, _, payment = await _unmatched(sam.user)
    await mia.says("/payments unmatched")
    assert f"P{payment.id}" in mia.last_text and "non rapproché" in mia.last_text
    await mia.presses(f"P{payment.id}")
    assert "F2026-00042" in " ".join(mia.buttons()) and "F2026-00043" in " ".join(mia.buttons())
    await mia.presses("F2026-00042")
    assert "rapproché de <b>F2026-00042</b>" in mia.last_text
    assert (await Invoice.get(id=a.id)).status == InvoiceStatus.PAID
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.MATCHED


async def test_match_command_tolerates_a_loosely_typed_number(chat: ChatHarness) -> None:
    sam, mia = await _people(chat)
    assert sam.user is not None
    _, b, payment = await _unmatched(sam.user)
    await mia.says(f"/match P{payment.id} f2026 43")
    assert "F2026-00043" in mia.last_text
    assert (await Invoice.get(id=b.id)).paid_cents == 1_200_00
    await mia.says(f"/match P{payment.id} F2026-00042")
    assert "n'attend pas de rapprochement" in mia.last_text


async def test_salesperson_may_neither_list_nor_press_a_match_button(chat: ChatHarness) -> None:
    sam, _ = await _people(chat)
    assert sam.user is not None
    a, _, payment = await _unmatched(sam.user)
    await sam.says("/payments")
    assert "Only managers" in sam.last_text
    await sam.presses_data(f"pay:match:{payment.id}:{a.id}")
    assert "Only managers" in sam.last_text
    assert (await Invoice.get(id=a.id)).paid_cents == 0


async def test_demoted_manager_is_refused_at_press_time(chat: ChatHarness) -> None:
    sam, mia = await _people(chat)
    assert sam.user is not None and mia.user is not None
    _, _, payment = await _unmatched(sam.user)
    await mia.says("/payments unmatched")
    await mia.presses(f"P{payment.id}")
    await User.filter(id=mia.user.id).update(role=Role.SALES)
    await mia.presses("F2026-00042")
    assert "Seuls les responsables" in mia.last_text
    assert (await Payment.get(id=payment.id)).status == PaymentStatus.UNMATCHED


async def test_bad_match_input_gets_one_sentence_and_writes_nothing(chat: ChatHarness) -> None:
    sam, mia = await _people(chat)
    assert sam.user is not None
    _, _, payment = await _unmatched(sam.user)
    await mia.says(f"/match P{payment.id} F2026-09999")
    assert "Aucune facture" in mia.last_text
    await mia.says("/match P999 F2026-00042")
    assert "Aucun paiement P999" in mia.last_text
    await mia.presses_data("pay:match:oops")
    assert "plus valide" in mia.last_text
    assert await Payment.filter(status=PaymentStatus.MATCHED).count() == 0


async def test_quarantine_list_shows_the_reason_escaped(chat: ChatHarness) -> None:
    _, mia = await _people(chat)
    await quarantine_message(
        message_id="<q@x>",
        folder="INBOX",
        uid=1,
        sender="bank@evil.example",
        subject="<b>Paid</b>",
        raw=b"x",
        reason="sender bank@evil.example is not allowed",
        now=NOW,
    )
    await mia.says("/payments quarantine")
    assert "bank@evil.example" in mia.last_text and "&lt;b&gt;Paid&lt;/b&gt;" in mia.last_text
    assert "not allowed" in mia.last_text


async def test_payment_alert_reads_like_the_issue_says(chat: ChatHarness) -> None:
    from bot.delivery import render_alert
    from storage.models import Alert

    sam, _ = await _people(chat)
    assert sam.user is not None
    acme = await client("ACME SA", sam.user)
    await issued(42, acme, sam.user, 1_200_00)
    source = await InboxMessage.create(message_id="<r@bank>", folder="INBOX", status=InboxStatus.PROCESSED)
    await record_notices([credit(1_200_00, remittance="F2026-00042")], source=source, now=NOW)
    alert = await Alert.get(kind="payment_received").prefetch_related("rerouted_from")
    text, _ = render_alert(alert, "fr")
    assert "F2026-00042</b> payée par ACME SA : 1\u202f200,00\xa0€, reste dû 0,00\xa0€" in text


async def test_quarantine_reasons_read_in_the_readers_language(chat: ChatHarness) -> None:
    _, mia = await _people(chat)  # mia reads French
    await quarantine_message(
        message_id="<f@x>",
        folder="INBOX",
        uid=2,
        sender="alertes@bank.fr",
        subject="Avis",
        raw=b"x",
        reason="forged Authentication-Results: ...",
        now=NOW,
        reasons=[["trust.ar_forged", {"domain": "bank.fr"}]],
    )
    await mia.says("/payments quarantine")
    assert "Falsifié" in mia.last_text and "forged" not in mia.last_text


async def test_the_payment_card_shows_what_the_matcher_must_know(chat: ChatHarness) -> None:
    sam, mia = await _people(chat)
    assert sam.user is not None
    _, _, payment = await _unmatched(sam.user)
    payment.note = "entry B-1 batches 3 transactions without their amounts: read as one payment"
    await payment.save(update_fields=["note"])
    await mia.presses_data(f"pay:show:{payment.id}")
    assert "3 transactions without their amounts" in mia.last_text


async def test_a_return_tied_to_no_invoice_is_tied_by_a_person_and_reopens_it(
    chat: ChatHarness,
) -> None:
    from mail.notices import Direction

    sam, mia = await _people(chat)
    assert sam.user is not None
    acme = await client("ACME SA", sam.user)
    inv = await issued(44, acme, sam.user, 300_00)
    source = await InboxMessage.create(message_id="<r@bank>", folder="INBOX", status=InboxStatus.PROCESSED)
    await record_notices(
        [
            credit(
                300_00, remittance="F2026-00044", iban="FR7630004000031234567890143", entry="PAY-20261126-1"
            )
        ],
        source=source,
        now=NOW,
    )
    await record_notices(
        [
            credit(
                300_00, remittance="retour", payer="X", entry="RET-20261127-1", direction=Direction.REVERSAL
            )
        ],
        source=source,
        now=NOW,
    )
    returned = await Payment.get(direction="reversal")
    assert returned.status == PaymentStatus.UNMATCHED
    await mia.says("/payments unmatched")
    assert f"P{returned.id}" in mia.last_text
    await mia.says(f"/match P{returned.id} F2026-00044")
    assert "de nouveau dus" in mia.last_text
    fresh = await Invoice.get(id=inv.id)
    assert (fresh.status, fresh.paid_cents) == (InvoiceStatus.ISSUED, 0)


async def _doubtful_statement(seller: User) -> tuple[Payment, Payment]:
    """One camt entry of 1,600.00 whose two transactions add up to 1,550.00; the first
    (1,500.00) names two invoices whose open amounts (1,200.00 + 350.00) do not add up to it."""
    acme = await client("ACME SA", seller)
    await issued(81, acme, seller, 1_200_00)
    await issued(82, acme, seller, 350_00)
    doc = camt(
        "054",
        [
            Entry(
                "1600.00",
                ref="BATCH-7",
                txs=[
                    Tx("1500.00", name="ACME SA", ustrd=["Factures F2026-00081 et F2026-00082"]),
                    Tx("50.00", name="ACME SA", ustrd=["acompte"]),
                ],
            )
        ],
    )
    source = await InboxMessage.create(message_id="<c@bank>", folder="INBOX", status=InboxStatus.PROCESSED)
    outcome = await record_notices(parse_camt(doc).notices, source=source, now=NOW)
    assert (outcome.recorded, outcome.unmatched) == (2, 2)
    return await Payment.get(amount_cents=1_500_00), await Payment.get(amount_cents=50_00)


async def test_a_doubtful_bank_entry_is_explained_to_each_reader_in_their_language(
    chat: ChatHarness, settings: Settings
) -> None:
    sam = await chat.user("sam", Role.SALES)
    mia = await chat.user("mia", Role.MANAGER, lang="fr")
    colin = await chat.user("colin", Role.COLLECTIONS, lang="en")
    assert sam.user is not None
    named, other = await _doubtful_statement(sam.user)
    # Stored raw: keys and parameters (cents, currency, references), never formatted text.
    assert [n["key"] for n in named.notes] == ["paynote.amounts_disagree", "paynote.invoices_do_not_add_up"]
    assert named.notes[0]["params"] == {
        "entry": "BATCH-7",
        "total_cents": 1_550_00,
        "amount_cents": 1_600_00,
        "currency": "EUR",
    }
    assert [n["key"] for n in other.notes] == ["paynote.amounts_disagree"]
    assert named.note == (  # the English text, for logs and exports
        "entry BATCH-7: its transactions add up to €1,550.00, the entry says €1,600.00; "
        "names 2 invoices whose open amounts do not add up to the entry's €1,500.00: candidates "
        "F2026-00081 (issued, open €1,200.00), F2026-00082 (issued, open €350.00)"
    )
    [alert] = [a for a in await Alert.filter(kind="payment_unmatched") if a.params["id"] == named.id][:1]
    assert alert.params["note_msgs"] == named.notes and alert.params["note"] == ""  # said at delivery

    result = await deliver_alerts(chat.app.bot, settings, Pacer(), clock=lambda: NOW)
    assert result.delivered == 4 and not result.errors
    [sent] = [s for s in chat.sent_to(mia) if f"P{named.id} " in s.text]
    french = sent.text
    assert (
        f"Le paiement P{named.id} de 1\u202f500,00\xa0€ de ACME SA ne correspond à aucune facture." in french
    )
    assert (
        "écriture BATCH-7 : ses opérations totalisent 1\u202f550,00\xa0€, l'écriture indique 1\u202f600,00\xa0€"
        in french
    )
    assert (
        "cite 2 factures dont les restes dus ne totalisent pas les 1\u202f500,00\xa0€ de l'écriture : "
        "candidates F2026-00081 (émise, reste dû 1\u202f200,00\xa0€), F2026-00082 (émise, reste dû 350,00\xa0€)"
    ) in french
    assert "names" not in french and "EUR" not in french
    english = next(s.text for s in chat.sent_to(colin) if f"P{named.id} " in s.text)
    assert f"Payment P{named.id} of €1,500.00 from ACME SA matches no invoice by itself." in english
    assert "entry BATCH-7: its transactions add up to €1,550.00, the entry says €1,600.00" in english
    assert "candidates F2026-00081 (issued, open €1,200.00), F2026-00082 (issued, open €350.00)" in english

    # The payment's card, reached from the alert's button, says the same to each reader.
    [[(label, data)]] = sent.buttons
    assert label == "Choisir la facture"
    await mia.presses_data(data, sent.message_id or 1)
    card = mia.last_text
    assert f"<b>P{named.id}</b>" in card
    assert "⚠️ écriture BATCH-7 : ses opérations totalisent 1\u202f550,00\xa0€" in card
    assert "⚠️ cite 2 factures" in card and "(émise, reste dû 350,00\xa0€)" in card
    assert "F2026-00081" in " ".join(mia.buttons())
    await colin.says("/payments unmatched")
    await colin.presses(f"P{other.id}")
    assert (
        "⚠️ entry BATCH-7: its transactions add up to €1,550.00, the entry says €1,600.00" in colin.last_text
    )
    assert "candidates" not in colin.last_text
