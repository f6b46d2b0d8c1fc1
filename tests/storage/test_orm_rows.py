"""storage.orm's bulk writes of plain rows: what they store reads back through the ORM as
if the ORM had written it (defaults, enums, JSON, dates), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

from storage import orm
from storage.models import (
    Alert,
    AlertStatus,
    Contact,
    ContactKind,
    InboxMessage,
    InboxStatus,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Role,
    User,
)

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


async def _alert_rows(user: User, keys: list[str]) -> list[dict[str, object]]:
    return [
        {"user_id": user.id, "kind": "payment_received", "dedupe_key": k, "params": {"n": i, "é": "à"}}
        for i, k in enumerate(keys)
    ]


async def test_inserted_rows_read_back_with_the_models_defaults(any_db: str) -> None:
    alice = await User.create(name="alice", role=Role.SALES, telegram_id=1)
    await orm.insert_rows(Alert, await _alert_rows(alice, ["a", "b"]))
    alerts = await Alert.all().order_by("dedupe_key")
    assert [(a.dedupe_key, a.params, a.user_id) for a in alerts] == [
        ("a", {"n": 0, "é": "à"}, alice.id),
        ("b", {"n": 1, "é": "à"}, alice.id),
    ]
    first = alerts[0]
    assert (first.status, first.attempts, first.buttons, first.urgent) == (AlertStatus.PENDING, 0, [], False)
    assert first.created_at is not None and first.delivered_at is None


async def test_ignore_conflicts_skips_a_repeated_unique_key_and_keeps_the_first(any_db: str) -> None:
    alice = await User.create(name="alice", role=Role.SALES, telegram_id=1)
    await orm.insert_rows(Alert, await _alert_rows(alice, ["a"]))
    again = [{**row, "params": {"second": True}} for row in await _alert_rows(alice, ["a", "c"])]
    await orm.insert_rows(Alert, again, ignore_conflicts=True)
    stored = {a.dedupe_key: a.params for a in await Alert.all()}
    assert stored == {"a": {"n": 0, "é": "à"}, "c": {"second": True}}


async def test_enums_dates_and_nulls_are_converted_as_the_orm_converts_them(any_db: str) -> None:
    source = await InboxMessage.create(message_id="<m@bank>", folder="INBOX", status=InboxStatus.PROCESSED)
    rows = [
        {
            "entry_ref": f"bank:{i}",
            "direction": PaymentDirection.CREDIT,
            "status": PaymentStatus.UNMATCHED,
            "amount_cents": 12_000_00 + i,
            "currency": "EUR",
            "booking_date": date(2026, 11, 26) if i else None,
            "payer_name": None,
            "payer_iban": "FR7630006000011234567890189",
            "reference": None,
            "remittance": "Facture F2026-00001",
            "inbox_message_id": source.id,
            "created_at": NOW,
        }
        for i in range(2_500)  # more than one prepared statement's worth of rows
    ]
    await orm.insert_rows(Payment, rows)
    assert await Payment.all().count() == 2_500
    last = await Payment.get(entry_ref="bank:2499")
    assert (last.direction, last.status, last.amount_cents) == (
        PaymentDirection.CREDIT,
        PaymentStatus.UNMATCHED,
        12_024_99,
    )
    assert (last.booking_date, last.created_at, last.surplus_cents, last.note) == (
        date(2026, 11, 26),
        NOW,
        0,
        None,
    )
    assert (await Payment.get(entry_ref="bank:0")).booking_date is None


async def test_update_rows_sets_only_the_named_fields_of_the_rows_named(any_db: str) -> None:
    alice = await User.create(name="alice", role=Role.SALES, telegram_id=1)
    acme = await Contact.create(name="ACME", kind=ContactKind.COMPANY, owner=alice, search_key="acme")
    made = []
    for seq in (1, 2, 3):
        made.append(
            await Invoice.create(
                series="F",
                year=2026,
                seq=seq,
                number=f"F2026-{seq:05d}",
                status=InvoiceStatus.ISSUED,
                contact=acme,
                owner=alice,
                currency="EUR",
                issue_date=date(2026, 10, 1),
                due_date=date(2026, 10, 31),
                total_net_cents=100_00,
                total_gross_cents=120_00,
            )
        )
    rows = [
        {"id": made[0].id, "paid_cents": 120_00, "status": InvoiceStatus.PAID, "updated_at": NOW},
        {"id": made[2].id, "paid_cents": 20_00, "status": InvoiceStatus.PARTIALLY_PAID, "updated_at": NOW},
    ]
    await orm.update_rows(Invoice, ["paid_cents", "status", "updated_at"], rows)
    after = {i.id: i for i in await Invoice.all()}
    assert (after[made[0].id].status, after[made[0].id].paid_cents) == (InvoiceStatus.PAID, 120_00)
    assert (after[made[2].id].status, after[made[2].id].paid_cents) == (InvoiceStatus.PARTIALLY_PAID, 20_00)
    assert after[made[0].id].updated_at == NOW
    untouched = after[made[1].id]
    assert (untouched.status, untouched.paid_cents, untouched.number) == (
        InvoiceStatus.ISSUED,
        0,
        "F2026-00002",
    )
    assert untouched.updated_at != NOW
    assert after[made[2].id].total_gross_cents == 120_00


async def test_nothing_to_write_runs_no_statement(any_db: str) -> None:
    await orm.insert_rows(Alert, [])
    await orm.update_rows(Invoice, ["paid_cents"], [])
    assert await Alert.all().count() == 0
