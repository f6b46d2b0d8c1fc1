"""Manager overview: funnel conversion, forecast, aging, cash, digest, task reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from storage.errors import Forbidden, InvalidInput
from storage.models import (
    Alert,
    AppSetting,
    Contact,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Refund,
    RefundStatus,
    Role,
    Task,
    User,
)
from storage.pipeline import create_deal, find_stage, lose_deal, move_deal, win_deal
from storage.reports import (
    aging,
    aging_bucket,
    cash_by_week,
    forecast_by_month,
    funnel,
    parse_period,
    queue_digests,
    report_rows,
    task_reminders,
)
from storage.users import create_user

TODAY = date(2026, 5, 20)  # a Wednesday
NOW = datetime(2026, 5, 20, 6, tzinfo=UTC)


def test_aging_buckets_edges() -> None:
    days = [-3, 0, 1, 30, 31, 60, 61, 90, 91]
    assert [aging_bucket(TODAY - timedelta(days=d), TODAY) for d in days] == [
        "not due",
        "not due",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        ">90",
    ]


def test_periods() -> None:
    assert parse_period("", TODAY) == (date(2026, 5, 1), date(2026, 6, 1))
    assert parse_period("2026-12", TODAY) == (date(2026, 12, 1), date(2027, 1, 1))
    assert parse_period("2025", TODAY) == (date(2025, 1, 1), date(2026, 1, 1))
    assert parse_period("7d", TODAY) == (date(2026, 5, 14), date(2026, 5, 21))
    with pytest.raises(InvalidInput):
        parse_period("last week", TODAY)


async def _people() -> tuple[User, User, Contact]:
    boss = await create_user("boss", Role.MANAGER, telegram_id=1)
    alice = await create_user("alice", Role.SALES, telegram_id=2)
    client = await Contact.create(name="Client", owner=alice, billing_email="c@x.example")
    return boss, alice, client


async def test_funnel_counts_values_and_conversion(db: str) -> None:
    boss, alice, client = await _people()
    deals = [await create_deal(alice, client.id, f"D{i}", 100_00, "EUR") for i in range(4)]
    proposal = await find_stage("Proposal")
    await move_deal(alice, deals[0].id, proposal)
    await move_deal(alice, deals[1].id, proposal)
    await win_deal(alice, deals[0].id)
    await lose_deal(alice, deals[1].id, "price")
    rows = {r.stage: r for r in await funnel(boss, "EUR")}
    assert (rows["Lead"].count, rows["Lead"].value_cents, rows["Lead"].reached) == (2, 200_00, 4)
    assert rows["Proposal"].reached == 2
    assert rows["Lead"].conversion_pct == Decimal("50.0")  # 4 leads → 2 reached Qualified+
    assert rows["Negotiation"].conversion_pct == Decimal("100.0")
    assert rows["Won"].count == 1 and rows["Lost"].count == 1
    with pytest.raises(Forbidden):
        await funnel(alice, "EUR")


async def test_forecast_weighted_by_month(db: str) -> None:
    boss, alice, client = await _people()
    await create_deal(alice, client.id, "A", 1000_00, "EUR", expected_close=date(2026, 6, 3))
    d = await create_deal(alice, client.id, "B", 1000_00, "EUR", expected_close=date(2026, 1, 1))
    await move_deal(alice, d.id, await find_stage("Proposal"))
    assert await forecast_by_month(boss, "EUR", TODAY) == [("2026-05", 500_00), ("2026-06", 100_00)]


async def test_aging_and_cash_by_week(db: str) -> None:
    boss, alice, client = await _people()
    for n, (due, status, gross, paid) in enumerate(
        [
            (TODAY + timedelta(days=3), InvoiceStatus.ISSUED, 100_00, 0),
            (TODAY - timedelta(days=10), InvoiceStatus.PARTIALLY_PAID, 300_00, 100_00),
            (TODAY - timedelta(days=100), InvoiceStatus.SENT, 50_00, 0),
            (TODAY - timedelta(days=100), InvoiceStatus.PAID, 999_00, 999_00),
            (TODAY + timedelta(days=9), InvoiceStatus.ISSUED, 70_00, 0),
        ]
    ):
        await Invoice.create(
            contact=client,
            owner=alice,
            status=status,
            number=f"F{n}",
            due_date=due,
            total_gross_cents=gross,
            paid_cents=paid,
        )
    buckets = await aging(boss, "EUR", TODAY)
    assert buckets == {"not due": 170_00, "1-30": 200_00, "31-60": 0, "61-90": 0, ">90": 50_00}
    weeks = await cash_by_week(boss, "EUR", TODAY, weeks=3)
    assert weeks == [(date(2026, 5, 18), 350_00), (date(2026, 5, 25), 70_00), (date(2026, 6, 1), 0)]
    header, rows = await report_rows(boss, "receivables", TODAY, "", "EUR")
    assert header[0] == "Invoice" and [r[0] for r in rows] == ["F2", "F1", "F0", "F4"]
    with pytest.raises(InvalidInput):
        await report_rows(boss, "nonsense", TODAY, "", "EUR")


async def test_digest_once_a_day_with_payments_since_the_last(db: str) -> None:
    boss, alice, client = await _people()
    inv = await Invoice.create(
        contact=client,
        owner=alice,
        status=InvoiceStatus.ISSUED,
        number="F1",
        due_date=TODAY - timedelta(days=2),
        total_gross_cents=120_00,
    )
    await AppSetting.create(key="last_digest_at", value={"at": (NOW - timedelta(days=1)).isoformat()})
    pay = await Payment.create(
        entry_ref="e1",
        direction=PaymentDirection.CREDIT,
        status=PaymentStatus.MATCHED,
        amount_cents=40_00,
        currency="EUR",
        invoice=inv,
    )
    await Payment.filter(id=pay.id).update(created_at=NOW - timedelta(hours=2))
    await Task.create(assignee=alice, text="call", due_at=NOW + timedelta(hours=3))
    start = datetime(2026, 5, 19, 22, tzinfo=UTC)
    assert await queue_digests(NOW, TODAY, start, start + timedelta(days=1), "EUR") == 1
    assert await queue_digests(NOW, TODAY, start, start + timedelta(days=1), "EUR") == 0
    alert = await Alert.get(kind="digest")
    assert alert.user_id == boss.id
    assert alert.params["overdue_count"] == 1 and alert.params["overdue_cents"] == 120_00
    assert alert.params["payments_count"] == 1 and alert.params["tasks"] == 1
    # The next day: the old payment is no longer "since the last digest".
    later = NOW + timedelta(days=1)
    await queue_digests(later, TODAY + timedelta(days=1), start, start, "EUR")
    second = await Alert.filter(kind="digest").order_by("-id").first()
    assert second is not None and second.params["payments_count"] == 0


async def test_digest_counts_the_refunds_still_owed_and_says_them(db: str) -> None:
    from bot.delivery import render_alert

    boss, alice, client = await _people()
    assert boss.role is Role.MANAGER  # the digest goes to managers
    paid = await Invoice.create(
        contact=client, owner=alice, status=InvoiceStatus.PAID, number="F1", total_gross_cents=500_00
    )
    for n, (cents, status) in enumerate(
        [(200_00, RefundStatus.OWED), (50_00, RefundStatus.OWED), (70_00, RefundStatus.DONE)]
    ):
        credit = await Invoice.create(
            contact=client,
            owner=alice,
            kind=InvoiceKind.CREDIT_NOTE,
            status=InvoiceStatus.ISSUED,
            number=f"A{n}",
            total_gross_cents=cents,
        )
        await Refund.create(
            credit_note=credit,
            invoice=paid,
            contact=client,
            amount_cents=cents,
            currency="EUR",
            status=status,
            created_at=NOW,
        )
    start = datetime(2026, 5, 19, 22, tzinfo=UTC)
    assert await queue_digests(NOW, TODAY, start, start + timedelta(days=1), "EUR") == 1
    alert = await Alert.get(kind="digest").prefetch_related("rerouted_from")
    assert (alert.params["refunds_count"], alert.params["refunds_cents"]) == (2, 250_00)
    text, _ = render_alert(alert, "fr")
    assert "Remboursements dus aux clients : 2 (250,00\u00a0€)" in text
    text, _ = render_alert(alert, "en")
    assert "Refunds owed to clients: 2 (€250.00)" in text


async def test_task_reminder_once(db: str) -> None:
    _, alice, _ = await _people()
    soon = await Task.create(assignee=alice, text="call Ann", due_at=NOW + timedelta(minutes=10))
    await Task.create(assignee=alice, text="later", due_at=NOW + timedelta(days=1))
    await Task.create(assignee=alice, text="done", due_at=NOW, done=True)
    assert await task_reminders(NOW) == 1
    assert await task_reminders(NOW + timedelta(minutes=5)) == 0
    alert = await Alert.get(kind="task_due")
    assert alert.user_id == alice.id and alert.params["id"] == soon.id


async def test_created_column_is_the_company_local_date(db: str) -> None:
    boss = await User.create(name="boss", role=Role.MANAGER, telegram_id=1)
    client = await Contact.create(name="ACME", owner=boss, search_key="acme")
    deal = await create_deal(boss, client.id, "New year", 1000, "EUR")
    # 00:30 in Paris on 1 June is still 31 May in UTC.
    from storage.models import Deal

    await Deal.filter(id=deal.id).update(created_at=datetime(2026, 5, 31, 22, 30, tzinfo=UTC))
    _, rows = await report_rows(boss, "sales", TODAY, "2026", "EUR", "Europe/Paris")
    assert rows[0][-1] == date(2026, 6, 1)
