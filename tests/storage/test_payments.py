"""Matching and settling payments read from the bank, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.errors import Conflict, Forbidden
from storage.models import (
    Alert,
    CollectionStatus,
    CollectionTask,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    PayerAccount,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Role,
)
from storage.payments import (
    account_problem,
    ingest_message,
    invoice_numbers_in,
    likely_invoices,
    list_payments,
    match_payment,
    quarantine_message,
    record_notices,
    settle_amounts,
)
from storage.payments.notices import Direction
from tests.payment_fixtures import NOW, OTHER_IBAN, OUR_IBAN, client, credit, issued, owner, rf


async def _source(message_id: str = "<m1@bank>") -> InboxMessage:
    return await InboxMessage.create(message_id=message_id, folder="INBOX", status=InboxStatus.PROCESSED)


async def test_rf_reference_settles_the_invoice_and_alerts_its_owner(any_db: str) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    inv = await issued(42, acme, alice, 1_200_00)
    outcome = await record_notices(
        [credit(1_200_00, ref=rf(42), entry="E1")], source=await _source(), now=NOW
    )
    assert (outcome.settled, outcome.unmatched) == (1, 0)
    inv = await Invoice.get(id=inv.id)
    assert (inv.status, inv.paid_cents) == (InvoiceStatus.PAID, 1_200_00)
    alert = await Alert.get(kind="payment_received", user_id=alice.id)
    assert alert.params == {
        "number": "F2026-00042",
        "payer": "ACME SA",
        "amount_cents": 1_200_00,
        "balance_cents": 0,
        "currency": "EUR",
    }
    payment = await Payment.get(entry_ref=f"bank:{OUR_IBAN}:E1")
    assert (payment.matched_by, payment.invoice_id) == ("rf", inv.id)


async def test_two_batched_credits_settle_two_invoices_once_however_often_read(any_db: str) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    a = await issued(1, acme, alice, 100_00)
    b = await issued(2, acme, alice, 250_50)
    notices = [credit(100_00, ref=rf(1)), credit(250_50, remittance="Facture f 2026 - 2")]
    first = await record_notices(notices, source=await _source(), now=NOW)
    again = await record_notices(notices, source=await InboxMessage.get(message_id="<m1@bank>"), now=NOW)
    assert (first.settled, again.settled, again.duplicates) == (2, 0, 2)
    assert await Payment.all().count() == 2
    assert (await Invoice.get(id=a.id)).paid_cents == 100_00
    assert (await Invoice.get(id=b.id)).paid_cents == 250_50
    assert (await Payment.get(invoice_id=b.id)).matched_by == "number"
    assert await Alert.filter(kind="payment_received").count() == 2


async def test_partial_then_final_payment(any_db: str) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    inv = await issued(7, acme, alice, 1_000_00)
    await record_notices(
        [credit(400_00, remittance="F2026-00007 acompte", entry="P1")], source=await _source("<a@b>"), now=NOW
    )
    mid = await Invoice.get(id=inv.id)
    assert (mid.status, mid.paid_cents) == (InvoiceStatus.PARTIALLY_PAID, 400_00)
    alert = await Alert.get(kind="payment_received")
    assert alert.params["balance_cents"] == 600_00
    await record_notices(
        [credit(600_00, remittance="solde F2026-00007", entry="P2")], source=await _source("<c@d>"), now=NOW
    )
    end = await Invoice.get(id=inv.id)
    assert (end.status, end.paid_cents) == (InvoiceStatus.PAID, 1_000_00)


async def test_overpayment_pays_and_flags_the_surplus(any_db: str) -> None:
    alice = await owner()
    inv = await issued(3, await client("ACME SA", alice), alice, 100_00)
    await record_notices([credit(130_00, ref=rf(3))], source=await _source(), now=NOW)
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.PAID
    surplus = await Alert.get(kind="payment_surplus")
    assert surplus.params["surplus_cents"] == 30_00
    assert (await Payment.get()).surplus_cents == 30_00


async def test_debits_are_recorded_and_never_settle_nor_does_a_return_of_an_open_invoice(
    any_db: str,
) -> None:
    alice = await owner()
    inv = await issued(4, await client("ACME SA", alice), alice, 100_00)
    notices = [
        credit(100_00, ref=rf(4), direction=Direction.DEBIT, entry="D"),
        credit(100_00, ref=rf(4), direction=Direction.REVERSAL, entry="R"),
    ]
    outcome = await record_notices(notices, source=await _source(), now=NOW)
    assert (outcome.ignored, outcome.settled, outcome.unmatched) == (1, 0, 1)
    assert (await Invoice.get(id=inv.id)).paid_cents == 0
    assert await Payment.filter(status=PaymentStatus.IGNORED).count() == 1
    # the return names an invoice that was never paid: a person looks at it
    assert (
        await Payment.filter(status=PaymentStatus.UNMATCHED, direction=PaymentDirection.REVERSAL).count() == 1
    )


async def test_payer_iban_seen_before_finds_the_one_invoice_with_that_balance(any_db: str) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    await issued(10, acme, alice, 500_00)
    later = await issued(11, acme, alice, 320_00)
    iban = "FR76 3000 6000 0112 3456 7890 189"
    await record_notices(
        [credit(500_00, ref=rf(10), iban=iban, payer="A.C.M.E.")], source=await _source("<1@b>"), now=NOW
    )
    assert await PayerAccount.filter(iban="FR7630006000011234567890189", contact_id=acme.id).exists()
    await record_notices(
        [credit(320_00, iban=iban, payer="Someone else", remittance="merci")],
        source=await _source("<2@b>"),
        now=NOW,
    )
    payment = await Payment.get(invoice_id=later.id)
    assert payment.matched_by == "payer"


async def test_ambiguous_payer_match_stays_unmatched_until_a_person_matches(any_db: str) -> None:
    alice = await owner()
    boss = await owner("boss", Role.MANAGER)
    acme = await client("ACME SA", alice)
    a = await issued(20, acme, alice, 99_00)
    await issued(21, acme, alice, 99_00)
    await record_notices([credit(99_00, remittance="virement")], source=await _source(), now=NOW)
    (payment,) = await list_payments(boss, "unmatched")
    assert payment.invoice_id is None
    assert await Alert.filter(kind="payment_unmatched", user_id=boss.id).exists()
    likely = await likely_invoices(boss, payment.id)
    assert {i.number for i in likely} == {"F2026-00020", "F2026-00021"}
    with pytest.raises(Forbidden):
        await match_payment(alice, payment.id, a.id, now=NOW)
    await match_payment(boss, payment.id, a.id, now=NOW)
    assert (await Invoice.get(id=a.id)).status == InvoiceStatus.PAID
    with pytest.raises(Conflict):
        await match_payment(boss, payment.id, a.id, now=NOW)


async def test_settling_closes_the_open_collection_task_and_tells_its_assignee(any_db: str) -> None:
    alice = await owner()
    carl = await owner("carl", Role.COLLECTIONS)
    inv = await issued(30, await client("ACME SA", alice), alice, 50_00, status=InvoiceStatus.SENT)
    task = await CollectionTask.create(invoice=inv, assignee=carl, opened_at=NOW)
    await record_notices([credit(50_00, ref=rf(30))], source=await _source(), now=NOW)
    task = await CollectionTask.get(id=task.id)
    assert (task.status, task.closed_at) == (CollectionStatus.CLOSED, NOW)
    assert await Alert.filter(kind="collection_closed", user_id=carl.id).exists()


async def test_partial_payment_keeps_the_collection_task_open(any_db: str) -> None:
    alice = await owner()
    carl = await owner("carl", Role.COLLECTIONS)
    inv = await issued(31, await client("ACME SA", alice), alice, 50_00)
    await CollectionTask.create(invoice=inv, assignee=carl, opened_at=NOW)
    await record_notices([credit(10_00, ref=rf(31))], source=await _source(), now=NOW)
    assert (await CollectionTask.get(invoice_id=inv.id)).status == CollectionStatus.OPEN


async def test_quarantine_alerts_admins_and_managers_once_and_settles_nothing(any_db: str) -> None:
    alice = await owner()
    admin = await owner("root", Role.ADMIN)
    boss = await owner("boss", Role.MANAGER)
    inv = await issued(5, await client("ACME SA", alice), alice, 10_00)
    for _ in range(2):
        await quarantine_message(
            message_id="<evil@x>",
            folder="INBOX",
            uid=3,
            sender="bank@evil.example",
            subject="Paid",
            raw=b"raw",
            reason="sender not allowed",
            now=NOW,
        )
    assert await InboxMessage.filter(status=InboxStatus.QUARANTINED).count() == 1
    assert {a.user_id for a in await Alert.filter(kind="quarantined")} == {admin.id, boss.id}
    assert (await Invoice.get(id=inv.id)).paid_cents == 0


async def test_ingest_reuses_the_message_row_on_a_second_read(any_db: str) -> None:
    alice = await owner()
    await issued(6, await client("ACME SA", alice), alice, 10_00)
    for _ in range(2):
        await ingest_message(
            [credit(10_00, remittance="F2026-00006")],
            message_id="<x@y>",
            folder="INBOX",
            uid=1,
            sender="bank@b",
            subject="s",
            now=NOW,
        )
    assert await InboxMessage.all().count() == 1
    assert await Payment.all().count() == 1


async def test_other_currency_is_not_settled(any_db: str) -> None:
    alice = await owner()
    inv = await issued(8, await client("ACME SA", alice), alice, 10_00, currency="CHF")
    out = await record_notices([credit(10_00, ref=rf(8))], source=await _source(), now=NOW)
    assert out.unmatched == 1 and (await Invoice.get(id=inv.id)).paid_cents == 0


@given(
    series=st.sampled_from(["F", "f"]),
    seq=st.integers(1, 99999),
    sep1=st.sampled_from(["", " ", "-", " - "]),
    sep2=st.sampled_from(["", " ", "-", "/"]),
)
def test_invoice_numbers_are_found_whatever_the_separators(
    series: str, seq: int, sep1: str, sep2: str
) -> None:
    text = f"Paiement {series}{sep1}2026{sep2}{seq:05d} merci"
    assert invoice_numbers_in(text) == [f"F2026-{seq:05d}"]


@given(gross=st.integers(0, 10**9), paid=st.integers(0, 10**9), amount=st.integers(1, 10**9))
def test_settle_amounts_conserve_money(gross: int, paid: int, amount: int) -> None:
    paid = min(paid, gross)
    new_paid, balance, surplus = settle_amounts(gross, paid, amount)
    assert new_paid - paid + surplus == amount
    assert new_paid <= gross and balance == gross - new_paid and surplus >= 0


# ---------------------------------------------------------------- whose account?

OURS = ("FR76 3000 6000 0112 3456 7890 189",)


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        ("FR7630006000011234567890189", None),
        ("fr76 3000 6000 0112 3456 7890 189", None),
        ("30006/00001/12345678901", None),  # MT940 national form of our account
        ("FR7630004000031234567890143", "statement for another account FR7630004000031234567890143"),
        ("10020030/1234567890", "statement for another account 10020030/1234567890"),
        ("30006/1", "statement for another account 30006/1"),  # too little to tell: not ours
        (None, "the message names no account: left for a human"),
    ],
)
def test_account_problem(account: str | None, problem: str | None) -> None:
    assert account_problem(account, OURS) == problem


async def test_with_our_accounts_only_a_credit_to_our_account_settles(any_db: str) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    a, b, c = [await issued(n, acme, alice, 10_00) for n in (51, 52, 53)]
    notices = [
        credit(10_00, ref=rf(51), entry="A"),
        credit(10_00, ref=rf(52), entry="B", account=OTHER_IBAN),
        credit(10_00, ref=rf(53), entry="C", account=None),
    ]
    outcome = await record_notices(notices, source=await _source(), now=NOW, our_accounts=OURS)
    assert (outcome.settled, outcome.unmatched) == (1, 2)
    statuses = [(await Invoice.get(id=i.id)).status for i in (a, b, c)]
    assert statuses == [InvoiceStatus.PAID, InvoiceStatus.ISSUED, InvoiceStatus.ISSUED]
    held = await Payment.filter(status=PaymentStatus.UNMATCHED).order_by("entry_ref")
    assert sorted(p.entry_ref for p in held) == ["bank:C", f"bank:{OTHER_IBAN}:B"]


def test_payments_has_no_public_permissionless_find_invoice() -> None:
    import storage.payments as payments

    assert not hasattr(payments, "find_invoice")
    assert "find_invoice" not in payments.__all__


async def test_an_entry_recorded_under_the_old_key_is_not_recorded_again(any_db: str) -> None:
    alice = await owner()
    inv = await issued(61, await client("ACME SA", alice), alice, 10_00)
    source = await _source()
    await Payment.create(
        entry_ref="bank:OLD-1",
        direction=PaymentDirection.CREDIT,
        status=PaymentStatus.MATCHED,
        amount_cents=10_00,
        currency="EUR",
        invoice=inv,
        inbox_message=source,
    )
    outcome = await record_notices([credit(10_00, ref=rf(61), entry="OLD-1")], source=source, now=NOW)
    assert (outcome.recorded, outcome.duplicates) == (0, 1)


async def test_the_same_bank_id_on_two_accounts_is_two_entries(any_db: str) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    a = await issued(62, acme, alice, 10_00)
    await issued(63, acme, alice, 10_00)
    outcome = await record_notices(
        [
            credit(10_00, ref=rf(62), entry="2026112600001"),
            credit(10_00, ref=rf(63), entry="2026112600001", account=OTHER_IBAN),
        ],
        source=await _source(),
        now=NOW,
    )
    assert (outcome.recorded, outcome.duplicates) == (2, 0)
    assert (await Invoice.get(id=a.id)).status == InvoiceStatus.PAID


async def test_a_unique_constraint_keeps_one_entry_once_even_past_the_check(any_db: str) -> None:
    from tortoise.exceptions import IntegrityError

    source = await _source()
    row = {
        "direction": PaymentDirection.CREDIT,
        "status": PaymentStatus.UNMATCHED,
        "amount_cents": 1,
        "currency": "EUR",
        "inbox_message": source,
    }
    await Payment.create(entry_ref="fp:abc", **row)
    with pytest.raises(IntegrityError):
        await Payment.create(entry_ref="fp:abc", **row)


async def test_a_return_without_reference_reopens_the_invoice_its_credit_settled(any_db: str) -> None:
    alice = await owner()
    inv = await issued(64, await client("ACME SA", alice), alice, 250_00)
    await record_notices(
        [credit(250_00, ref=rf(64), iban=OTHER_IBAN, entry="CR-20261126-1")], source=await _source(), now=NOW
    )
    outcome = await record_notices(
        [
            credit(
                250_00,
                remittance="RETOUR AC04",
                iban=OTHER_IBAN,
                entry="RT-20261128-1",
                direction=Direction.REVERSAL,
            )
        ],
        source=await _source("<m2@bank>"),
        now=NOW,
    )
    assert (outcome.returned, outcome.unmatched) == (1, 0)
    fresh = await Invoice.get(id=inv.id)
    assert (fresh.status, fresh.paid_cents) == (InvoiceStatus.ISSUED, 0)


async def test_a_return_mirroring_credits_of_two_invoices_waits_for_a_person(any_db: str) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    a, b = await issued(65, acme, alice, 250_00), await issued(66, acme, alice, 250_00)
    await record_notices(
        [
            credit(250_00, ref=rf(65), iban=OTHER_IBAN, entry="CR-1-000001"),
            credit(250_00, ref=rf(66), iban=OTHER_IBAN, entry="CR-1-000002"),
        ],
        source=await _source(),
        now=NOW,
    )
    outcome = await record_notices(
        [credit(250_00, iban=OTHER_IBAN, entry="RT-1-000001", direction=Direction.REVERSAL)],
        source=await _source("<m2@bank>"),
        now=NOW,
    )
    assert (outcome.returned, outcome.unmatched) == (0, 1)
    assert [(await Invoice.get(id=i.id)).status for i in (a, b)] == [InvoiceStatus.PAID] * 2


async def test_an_entry_naming_invoices_that_do_not_add_up_waits_with_amounts_written_for_people(
    any_db: str,
) -> None:
    alice = await owner()
    acme = await client("ACME SA", alice)
    a, b = await issued(81, acme, alice, 1_200_00), await issued(82, acme, alice, 350_00)
    notice = credit(1_500_00, remittance="Factures F2026-00081 et F2026-00082", entry="B1")
    outcome = await record_notices([notice], source=await _source(), now=NOW)
    assert (outcome.settled, outcome.unmatched) == (0, 1)
    assert [(await Invoice.get(id=i.id)).paid_cents for i in (a, b)] == [0, 0]
    payment = await Payment.get()
    assert payment.status == PaymentStatus.UNMATCHED
    assert payment.note == (
        "names 2 invoices whose open amounts do not add up to the entry's €1,500.00: candidates "
        "F2026-00081 (issued, open €1,200.00), F2026-00082 (issued, open €350.00)"
    )
