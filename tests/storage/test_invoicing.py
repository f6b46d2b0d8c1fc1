"""Products, deal lines, invoices, numbering and credit notes, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649

from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.invoicing import (
    compute_totals,
    credit_invoice,
    draft_for_contact,
    draft_from_deal,
    due_date_for,
    issue_invoice,
    list_invoices,
    mark_invoice_sent,
    rf_reference,
    send_invoice,
    set_terms,
)
from storage.models import (
    Deal,
    DealLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NumberCounter,
    OutboxAttachment,
    OutboxEmail,
    Product,
)
from storage.products import add_deal_line, create_product, parse_vat_rate, remove_deal_line
from tests.billing_data import RENDER, SELLER, make_billing

TODAY = date(2026, 11, 20)


def test_totals_round_each_line_then_vat_per_rate() -> None:
    totals = compute_totals([(37_02, 2000), (49_98, 550), (444_33, 2000)])
    assert [(r.rate_bp, r.base_cents, r.vat_cents) for r in totals.breakdown] == [
        (2000, 481_35, 96_27),
        (550, 49_98, 2_75),
    ]
    assert (totals.net_cents, totals.vat_cents, totals.gross_cents) == (531_33, 99_02, 630_35)


def test_half_cent_vat_rounds_up() -> None:
    assert compute_totals([(2_50, 2000), (10, 550)]).breakdown[1].vat_cents == 1  # 0.55 → 1


def test_due_date_is_capped_at_sixty_days() -> None:
    assert due_date_for(TODAY, 30) == date(2026, 12, 20)
    assert due_date_for(TODAY, 60) == date(2027, 1, 19)
    with pytest.raises(InvalidInput):
        due_date_for(TODAY, 61)


def test_rf_reference_is_valid_iso11649_and_carries_the_number() -> None:
    ref = rf_reference("F2026-00042")
    assert iso11649.is_valid(ref) and ref.endswith("F202600042")
    assert rf_reference("F2026-00043") != ref


def test_vat_rate_must_be_configured() -> None:
    assert parse_vat_rate("5,5", SELLER.vat_rates_bp) == 550
    assert parse_vat_rate("20 %", SELLER.vat_rates_bp) == 2000
    with pytest.raises(InvalidInput) as err:
        parse_vat_rate("19.6", SELLER.vat_rates_bp)
    assert err.value.code == "vat_rate"


async def test_deal_amount_follows_its_lines(any_db: str) -> None:
    b = await make_billing(win=False)
    assert b.deal.amount_cents == 37_02 + 49_98 + 444_33
    line = await DealLine.filter(deal_id=b.deal.id).order_by("id").first()
    assert line is not None
    await remove_deal_line(b.alice, line.id)
    assert (await Deal.get(id=b.deal.id)).amount_cents == 49_98 + 444_33


async def test_bad_lines_write_nothing(db: str) -> None:
    b = await make_billing(win=False)
    before = await DealLine.all().count()
    with pytest.raises(NotFound) as err:
        await add_deal_line(b.alice, b.deal.id, "NOPE", Decimal(1))
    assert err.value.code == "product" and err.value.params["sku"] == "NOPE"
    for qty in (Decimal(0), Decimal(-2)):
        with pytest.raises(InvalidInput):
            await add_deal_line(b.alice, b.deal.id, "WIDGET", qty)
    with pytest.raises(InvalidInput) as err2:
        await create_product(
            b.boss,
            sku="X1",
            name="X",
            unit_price_cents=100,
            vat_rate_bp=1960,
            allowed_vat_bp=list(SELLER.vat_rates_bp),
        )
    assert err2.value.code == "vat_rate"
    with pytest.raises(Forbidden):
        await create_product(
            b.alice,
            sku="X2",
            name="X",
            unit_price_cents=100,
            vat_rate_bp=2000,
            allowed_vat_bp=list(SELLER.vat_rates_bp),
        )
    assert await DealLine.all().count() == before
    assert not await Product.filter(sku__in=["X1", "X2"]).exists()


async def test_invoice_needs_a_won_deal(db: str) -> None:
    b = await make_billing(win=False)
    with pytest.raises(Conflict) as err:
        await draft_from_deal(b.alice, b.deal.id, SELLER)
    assert err.value.code == "deal_not_won"
    assert await Invoice.all().count() == 0


async def test_issue_numbers_dates_rf_and_queues_the_email(any_db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    assert draft.status == InvoiceStatus.DRAFT and draft.number is None
    assert (draft.total_net_cents, draft.total_vat_cents, draft.total_gross_cents) == (531_33, 99_02, 630_35)
    assert await draft_from_deal(b.alice, b.deal.id, SELLER) == draft  # same draft again
    await set_terms(b.alice, draft.id, 45)
    result = await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    inv = result.invoice
    assert inv.number == "F2026-00001" and inv.status == InvoiceStatus.ISSUED
    assert inv.issue_date == TODAY and inv.due_date == date(2027, 1, 4)
    assert inv.rf_reference == rf_reference("F2026-00001")
    assert result.queued
    email = await OutboxEmail.get(invoice_id=inv.id)
    assert email.to_addrs == ["compta@acme.example"]
    assert "F2026-00001" in email.subject and "Facture" in email.subject
    assert email.reply_to == "alice@entonnoir.example"
    assert email.message_id.startswith(f"<invoice-{inv.id}-") and "@entonnoir.example>" in email.message_id
    assert "630,35" in email.body_text and email.body_html and "<p>" in email.body_html
    att = await OutboxAttachment.get(email_id=email.id)
    assert (att.filename, att.mimetype, att.invoice_id, att.content) == (
        "F2026-00001.pdf",
        "application/pdf",
        inv.id,
        None,
    )
    with pytest.raises(Conflict):
        await issue_invoice(b.alice, inv.id, SELLER, TODAY, render=RENDER)
    with pytest.raises(Conflict):
        await set_terms(b.alice, inv.id, 10)  # issued invoices are never edited
    assert await mark_invoice_sent(inv.id)
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.SENT


async def test_english_client_gets_an_english_email(db: str) -> None:
    b = await make_billing(lang="en")
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    email = await OutboxEmail.get(invoice_id=inv.id)
    assert email.subject.startswith("Invoice F2026-00001")
    assert "€630.35" in email.body_text


async def test_issue_without_billing_address_names_it_and_writes_nothing(db: str) -> None:
    b = await make_billing(address=None)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    with pytest.raises(InvalidInput) as err:
        await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    assert err.value.code == "invoice_no_billing_address" and err.value.params["field"] == "billing_address"
    assert (await Invoice.get(id=draft.id)).status == InvoiceStatus.DRAFT
    assert await NumberCounter.filter(last_value__gt=0).count() == 0


async def test_send_without_billing_email_names_it_and_queues_nothing(db: str) -> None:
    b = await make_billing(email=None)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    result = await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    assert not result.queued
    with pytest.raises(InvalidInput) as err:
        await send_invoice(b.alice, "F2026-00001", SELLER)
    assert err.value.params["field"] == "billing_email"
    assert await OutboxEmail.all().count() == 0


async def test_send_queues_once_while_pending(db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    with pytest.raises(Conflict) as err:
        await send_invoice(b.alice, "F2026-00001", SELLER)
    assert err.value.code == "invoice_queued"
    await OutboxEmail.all().update(status="sent")
    again = await send_invoice(b.alice, "f2026-00001", SELLER)
    first = await OutboxEmail.filter(id__not=again.id).first()
    assert first is not None and again.message_id != first.message_id


async def test_credit_note_cancels_and_has_its_own_series(any_db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    with pytest.raises(InvalidInput):
        await credit_invoice(b.alice, "F2026-00001", "  ", SELLER, TODAY, render=RENDER)
    credit = await credit_invoice(b.alice, "F2026-00001", "Erreur de prix", SELLER, TODAY, render=RENDER)
    assert credit.number == "A2026-00001" and credit.credit_of_id == inv.id
    assert credit.total_gross_cents == inv.total_gross_cents
    assert await InvoiceLine.filter(invoice_id=credit.id).count() == 3
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.CANCELLED
    with pytest.raises(Conflict):
        await credit_invoice(b.alice, "F2026-00001", "again", SELLER, TODAY, render=RENDER)
    mail = await OutboxEmail.get(invoice_id=credit.id)
    assert "Avoir A2026-00001" in mail.subject and "F2026-00001" in mail.body_text
    # A new draft for the deal is possible once the first invoice is cancelled.
    assert (await draft_from_deal(b.alice, b.deal.id, SELLER)).status == InvoiceStatus.DRAFT


async def test_other_salesperson_cannot_see_the_invoice(db: str) -> None:
    from storage.models import Role
    from storage.users import create_user

    b = await make_billing()
    bob = await create_user("bob", Role.SALES, telegram_id=99)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    with pytest.raises(NotFound):
        await issue_invoice(bob, draft.id, SELLER, TODAY, render=RENDER)
    assert (await issue_invoice(b.boss, draft.id, SELLER, TODAY, render=RENDER)).invoice.number


async def test_list_open_and_overdue_with_totals(db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    listed = await list_invoices(b.alice, "open", TODAY)
    assert len(listed.rows) == 1 and listed.totals == {"EUR": 630_35}
    assert (await list_invoices(b.alice, "overdue", TODAY)).rows == []
    late = await list_invoices(b.alice, "overdue", date(2027, 1, 1))
    assert len(late.rows) == 1 and late.scope == "overdue"
    with pytest.raises(InvalidInput):
        await list_invoices(b.alice, "bogus", TODAY)


async def test_fifty_concurrent_issues_get_exactly_one_to_fifty(any_db: str) -> None:
    b = await make_billing()
    drafts = []
    for _ in range(50):
        d = await draft_for_contact(b.alice, b.client.id, SELLER)
        from storage.invoicing import add_invoice_line

        await add_invoice_line(b.alice, d.id, "WIDGET", Decimal(1), SELLER)
        drafts.append(d)
    results = await asyncio.gather(
        *(issue_invoice(b.alice, d.id, SELLER, TODAY, render=RENDER) for d in drafts)
    )
    seqs = sorted(r.invoice.seq or 0 for r in results)
    assert seqs == list(range(1, 51))
    stored = sorted(await Invoice.filter(number__isnull=False).values_list("number", flat=True))
    assert stored == [f"F2026-{n:05d}" for n in range(1, 51)]
    counter = await NumberCounter.get(series="F", year=2026)
    assert counter.last_value == 50


# ---------------------------------------------------------------- properties

_lines = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**9), st.sampled_from(SELLER.vat_rates_bp)),
    max_size=30,
)


@given(_lines)
def test_totals_add_up_and_vat_is_within_half_a_cent_per_category(lines: list[tuple[int, int]]) -> None:
    totals = compute_totals(lines)
    assert totals.net_cents == sum(net for net, _ in lines)
    assert totals.gross_cents == totals.net_cents + totals.vat_cents
    assert totals.vat_cents == sum(r.vat_cents for r in totals.breakdown)
    for row in totals.breakdown:
        assert row.base_cents == sum(net for net, rate in lines if rate == row.rate_bp)
        exact = Decimal(row.base_cents) * row.rate_bp / 10000
        assert abs(row.vat_cents - exact) <= Decimal("0.5")
    assert len({r.rate_bp for r in totals.breakdown}) == len(totals.breakdown)


@given(
    st.integers(min_value=1, max_value=99999),
    st.integers(min_value=2000, max_value=2999),
    st.sampled_from("FA"),
)
def test_every_number_has_a_valid_distinct_rf_reference(seq: int, year: int, series: str) -> None:
    from storage.invoicing import format_number

    number = format_number(series, year, seq)
    ref = rf_reference(number)
    assert iso11649.is_valid(ref)
    assert ref[4:] == number.replace("-", "")


async def test_collections_read_invoices_but_change_none(db: str) -> None:
    from storage.invoicing import add_invoice_line, cancel_draft, get_invoice, remove_invoice_line
    from storage.models import Role
    from storage.users import create_user

    b = await make_billing()
    carl = await create_user("carl", Role.COLLECTIONS, telegram_id=77)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    assert (await get_invoice(carl, draft.id)).id == draft.id  # reading stays allowed
    line = await InvoiceLine.filter(invoice_id=draft.id).order_by("id").first()
    assert line is not None
    attempts = [
        set_terms(carl, draft.id, 10),
        issue_invoice(carl, draft.id, SELLER, TODAY, render=RENDER),
        cancel_draft(carl, draft.id),
        add_invoice_line(carl, draft.id, "BOOK", Decimal(1), SELLER),
        remove_invoice_line(carl, line.id),
    ]
    for attempt in attempts:
        with pytest.raises(Forbidden) as err:
            await attempt
        assert err.value.code == "invoice_write"
    after = await Invoice.get(id=draft.id)
    assert (after.status, after.payment_terms_days, after.number) == (
        InvoiceStatus.DRAFT,
        draft.payment_terms_days,
        None,
    )
    assert await InvoiceLine.filter(invoice_id=draft.id).count() == 3
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    with pytest.raises(Forbidden):
        await credit_invoice(carl, inv.number or "", "erreur", SELLER, TODAY, render=RENDER)
    assert (await Invoice.get(id=inv.id)).status == InvoiceStatus.ISSUED
    assert await Invoice.all().count() == 1


async def test_sale_date_is_the_company_local_date(db: str) -> None:
    from datetime import UTC, datetime

    b = await make_billing()
    # 00:30 in Paris on 1 January is still 31 December in UTC.
    await Deal.filter(id=b.deal.id).update(won_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    assert draft.sale_date == date(2027, 1, 1)


async def test_removing_the_last_line_zeroes_the_amount(db: str) -> None:
    b = await make_billing(win=False)
    for line in await DealLine.filter(deal_id=b.deal.id):
        await remove_deal_line(b.alice, line.id)
    assert (await Deal.get(id=b.deal.id)).amount_cents == 0
