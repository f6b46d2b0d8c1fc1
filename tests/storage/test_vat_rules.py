"""VAT categories, buyer VAT numbers, discounts, references and periods: the pure rules, and
the use-cases on SQLite and PostgreSQL (categories fixed at issue, refusals write nothing)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.contacts import NewContact, create_contact, set_billing
from storage.errors import Conflict, InvalidInput
from storage.invoice_details import (
    Discount,
    adopt_billing_email,
    billing_email_offer,
    check_reference,
    parse_discount,
    set_invoice_discount,
    set_line_discount,
    set_period,
    set_references,
)
from storage.invoicing import (
    add_invoice_line,
    compute_totals,
    credit_invoice,
    draft_for_contact,
    draft_from_deal,
    issue_invoice,
    line_discount,
    line_net,
    treated_lines,
)
from storage.models import (
    AuditLog,
    Contact,
    ContactKind,
    DealLine,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    NumberCounter,
    OutboxEmail,
    SupplyNature,
    VatCategory,
)
from storage.products import create_product, parse_nature
from storage.vat import BuyerTax, check_country, check_exemption, check_vat_number, vat_treatment
from tests.billing_data import RENDER, SELLER, make_billing

TODAY = date(2026, 11, 20)
GOODS, SERVICES = SupplyNature.GOODS, SupplyNature.SERVICES
S, K, AE, G, E, OUT = (
    VatCategory.STANDARD,
    VatCategory.INTRA_COMMUNITY,
    VatCategory.REVERSE_CHARGE,
    VatCategory.EXPORT,
    VatCategory.EXEMPT,
    VatCategory.OUTSIDE_SCOPE,
)


# ---------------------------------------------------------------- the category rule


@pytest.mark.parametrize(
    ("buyer", "nature", "rate", "exemption", "expected"),
    [
        (BuyerTax("FR", "FR40303265045"), GOODS, 2000, None, (S, 2000, None)),
        (BuyerTax("FR", "", business=False), SERVICES, 550, None, (S, 550, None)),
        (BuyerTax("DE", "DE136695976"), GOODS, 2000, None, (K, 0, "VATEX-EU-IC")),
        (BuyerTax("DE", ""), GOODS, 2000, None, (K, 0, "VATEX-EU-IC")),  # refused at issue
        (BuyerTax("BE", "BE0403019261"), SERVICES, 2000, None, (AE, 0, "VATEX-EU-AE")),
        (BuyerTax("DE", "", business=False), GOODS, 2000, None, (S, 2000, None)),
        (BuyerTax("IT", "", business=False), SERVICES, 1000, None, (S, 1000, None)),
        (BuyerTax("US"), GOODS, 2000, None, (G, 0, "VATEX-EU-G")),
        (BuyerTax("US", "", business=False), GOODS, 550, None, (G, 0, "VATEX-EU-G")),
        (BuyerTax("CH"), SERVICES, 2000, None, (OUT, 0, "FR-259-1")),
        (BuyerTax("CH", "", business=False), SERVICES, 2000, None, (S, 2000, None)),
        (BuyerTax("FR"), SERVICES, 0, "VATEX-FR-CGI261-4", (E, 0, "VATEX-FR-CGI261-4")),
        (BuyerTax("DE", "DE136695976"), SERVICES, 0, "VATEX-FR-FRANCHISE", (E, 0, "VATEX-FR-FRANCHISE")),
        (BuyerTax("FR"), SERVICES, 0, "VATEX-EU-O", (OUT, 0, "VATEX-EU-O")),
        (BuyerTax("FR"), GOODS, 0, None, (E, 0, "ZERO")),  # a 0 % rate without a stated reason
    ],
)
def test_the_category_follows_buyer_and_nature(
    buyer: BuyerTax,
    nature: SupplyNature,
    rate: int,
    exemption: str | None,
    expected: tuple[VatCategory, int, str | None],
) -> None:
    t = vat_treatment("FR", buyer, nature, rate, exemption)
    assert (t.category, t.rate_bp, t.reason) == expected


def test_buyer_vat_numbers_are_checked_for_format_and_country() -> None:
    assert check_vat_number("de 136 695 976") == "DE136695976"
    assert check_vat_number("EL094259216", "GR") == "EL094259216"
    assert check_vat_number("CHE-116.281.710 MWST", "CH") == "CHE116281710MWST"
    for bad, country in (
        ("DE136695977", None),
        ("FR12345", "FR"),
        ("hello", None),
        ("CHE-113.747.210 MWST", "CH"),
    ):
        with pytest.raises(InvalidInput) as caught:
            check_vat_number(bad, country)
        assert caught.value.code == "vat_number"
    with pytest.raises(InvalidInput) as caught:
        check_vat_number("DE136695976", "BE")
    assert caught.value.code == "vat_country"
    assert check_country(" de ") == "DE"
    with pytest.raises(InvalidInput):
        check_country("XX")
    assert check_exemption("vatex-eu-132") == "VATEX-EU-132" and check_exemption("") is None
    with pytest.raises(InvalidInput):
        check_exemption("VATEX-EU-IC")  # follows from the buyer, never set on a product
    assert parse_nature("prestation") == SERVICES and parse_nature("") == GOODS


def test_discounts_references_parse_or_say_why() -> None:
    assert parse_discount("10%") == Discount(percent_bp=1000)
    assert parse_discount("2,5 %") == Discount(percent_bp=250)
    assert parse_discount("12,50") == Discount(amount_cents=12_50)
    assert parse_discount("0").none
    for bad in ("101%", "-5", "abc", "1.234%", "%"):
        with pytest.raises(InvalidInput):
            parse_discount(bad)
    assert check_reference("  PO  4471 ") == "PO 4471" and check_reference("") is None
    with pytest.raises(InvalidInput):
        check_reference("x" * 101)
    with pytest.raises(InvalidInput):
        check_reference("PO\x074471")


def test_line_discounts_round_half_up_and_never_exceed_the_line() -> None:
    assert line_discount(Decimal(3), 12_34, 1000) == 3_70  # 3.702 → 3.70
    assert line_discount(Decimal(1), 5, 1000) == 1  # 0.5 → 1
    assert line_net(Decimal(3), 12_34, 1000) == 33_32
    assert line_net(Decimal(1), 10_00, 0, 25_00) == 0  # capped at the line


_rows = st.lists(
    st.tuples(st.integers(min_value=0, max_value=10**8), st.sampled_from(SELLER.vat_rates_bp)), max_size=20
)


@given(_rows, st.integers(min_value=0, max_value=10000), st.integers(min_value=0, max_value=10**9))
def test_document_discount_is_shared_out_to_the_cent(
    lines: list[tuple[int, int]], bp: int, amount: int
) -> None:
    for totals in (
        compute_totals(lines, discount_bp=bp, discount_reason="r"),
        compute_totals(lines, discount_cents=amount, discount_reason="r"),
    ):
        line_total = sum(net for net, _ in lines)
        # BR-CO-13: tax basis = line total − allowances; BR-CO-15: gross = basis + VAT.
        assert totals.line_total_cents == line_total
        assert totals.net_cents == line_total - totals.allowance_cents
        assert sum(r.allowance_cents for r in totals.breakdown) == totals.allowance_cents
        assert 0 <= totals.allowance_cents <= line_total
        assert totals.gross_cents == totals.net_cents + totals.vat_cents
        for row in totals.breakdown:
            base = sum(net for net, rate in lines if rate == row.rate_bp)
            assert 0 <= row.allowance_cents <= base and row.base_cents == base - row.allowance_cents
            if totals.allowance_cents and line_total:  # pro rata, within one cent
                share = Decimal(totals.allowance_cents) * base / line_total
                assert abs(row.allowance_cents - share) < 1
            exact = Decimal(row.base_cents) * row.rate_bp / 10000
            assert abs(row.vat_cents - exact) <= Decimal("0.5")


# ---------------------------------------------------------------- use-cases, both databases


async def test_categories_are_fixed_at_issue_and_drafts_follow_the_client(any_db: str) -> None:
    b = await make_billing()
    await set_billing(b.alice, b.client.id, country="DE", vat_number="DE136695976")
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    _, treatments, _ = await treated_lines(draft, SELLER.country)
    assert {t.category for t in treatments} == {K}
    assert [ln.nature for ln in await DealLine.filter(deal_id=b.deal.id)] == [GOODS] * 3
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    assert inv.total_vat_cents == 0 and inv.total_gross_cents == inv.total_net_cents == 531_33
    stored = await InvoiceLine.filter(invoice_id=inv.id)
    assert {(ln.vat_category, ln.vat_rate_bp, ln.vat_exemption) for ln in stored} == {(K, 0, "VATEX-EU-IC")}
    # The client moves back to France: the issued invoice does not change, a new draft does.
    await set_billing(b.alice, b.client.id, country="FR", vat_number="FR40303265045")
    _, treatments, _ = await treated_lines(await Invoice.get(id=inv.id), SELLER.country)
    assert {t.category for t in treatments} == {K}
    fresh = await draft_for_contact(b.alice, b.client.id, SELLER)
    await add_invoice_line(b.alice, fresh.id, "WIDGET", Decimal(1), SELLER)
    _, treatments, _ = await treated_lines(fresh, SELLER.country)
    assert [(t.category, t.rate_bp) for t in treatments] == [(S, 2000)]


async def test_intra_community_without_buyer_vat_is_refused_and_writes_nothing(any_db: str) -> None:
    b = await make_billing()
    await set_billing(b.alice, b.client.id, country="DE", vat_number=None)
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    audits = await AuditLog.all().count()
    with pytest.raises(InvalidInput) as caught:
        await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    assert (caught.value.code, caught.value.params) == (
        "invoice_needs_vat_goods",
        {"country": "DE", "contact": f"C{b.client.id}"},
    )
    assert (await Invoice.get(id=draft.id)).status == InvoiceStatus.DRAFT
    assert await AuditLog.all().count() == audits
    assert not await NumberCounter.filter(last_value__gt=0).exists()
    assert not await OutboxEmail.exists()
    assert {ln.vat_category for ln in await InvoiceLine.filter(invoice_id=draft.id)} == {None}
    # Without our own VAT number, no exempt EU invoice either.
    await set_billing(b.alice, b.client.id, vat_number="DE136695976")
    from dataclasses import replace

    with pytest.raises(InvalidInput) as caught:
        await issue_invoice(b.alice, draft.id, replace(SELLER, vat=""), TODAY, render=RENDER)
    assert caught.value.code == "invoice_needs_seller_vat"


async def test_a_vat_number_of_another_country_is_refused(any_db: str) -> None:
    b = await make_billing()
    await set_billing(b.alice, b.client.id, country="BE", vat_number="BE0403019261")
    with pytest.raises(InvalidInput) as caught:
        await set_billing(b.alice, b.client.id, vat_number="DE136695976")
    assert caught.value.code == "vat_country"
    with pytest.raises(InvalidInput):
        await set_billing(b.alice, b.client.id, country="DE")  # the stored number is Belgian
    client = await Contact.get(id=b.client.id)
    assert (client.country, client.vat_number) == ("BE", "BE0403019261")


async def test_outside_scope_lines_stand_alone(any_db: str) -> None:
    b = await make_billing()
    await create_product(
        b.boss,
        sku="FEES",
        name="Débours",
        unit_price_cents=39_42,
        vat_rate_bp=0,
        allowed_vat_bp=list(SELLER.vat_rates_bp),
        nature=SERVICES,
        vat_exemption="VATEX-EU-O",
    )
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    await add_invoice_line(b.alice, draft.id, "FEES", Decimal(1), SELLER)
    with pytest.raises(InvalidInput) as caught:
        await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)
    assert caught.value.code == "invoice_outside_scope_mixed"


async def test_details_change_drafts_only_and_credit_notes_repeat_them(any_db: str) -> None:
    b = await make_billing()
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    await set_references(b.alice, draft.id, purchase_order="PO-4471", buyer_reference="ACHATS")
    await set_period(b.alice, draft.id, date(2026, 10, 1), date(2026, 10, 31))
    await set_line_discount(b.alice, draft.id, 3, parse_discount("33,33"), "Geste", "FR")
    with pytest.raises(InvalidInput):
        await set_line_discount(b.alice, draft.id, 2, parse_discount("5%"), "", "FR")
    with pytest.raises(InvalidInput):
        await set_invoice_discount(b.alice, draft.id, parse_discount("100000"), "Trop", "FR")
    with pytest.raises(InvalidInput):
        await set_period(b.alice, draft.id, date(2026, 10, 31), date(2026, 10, 1))
    inv = await set_invoice_discount(b.alice, draft.id, parse_discount("10%"), "Fidélité", "FR")
    # Lines 37.02 + 49.98 (5.5 %) + (444.33 − 33.33 = 411.00): 498.00; 10 % = 49.80,
    # shared 44.80 (20 %: 448.02) and 5.00 (5.5 %: 49.98).
    assert (inv.total_allowance_cents, inv.total_net_cents) == (49_80, 448_20)
    assert inv.total_vat_cents == round(Decimal("403.22") * 20) + 2_47  # 80.64 + 2.47
    issued = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    for change in (
        set_references(b.alice, issued.id, purchase_order="X"),
        set_period(b.alice, issued.id, None, None),
        set_invoice_discount(b.alice, issued.id, Discount(), None, "FR"),
    ):
        with pytest.raises(Conflict):
            await change
    credit = await credit_invoice(b.alice, issued.number or "", "Erreur", SELLER, TODAY, render=RENDER)
    assert (credit.total_gross_cents, credit.total_allowance_cents) == (issued.total_gross_cents, 49_80)
    assert (credit.purchase_order, credit.buyer_reference, credit.period_end) == (
        "PO-4471",
        "ACHATS",
        date(2026, 10, 31),
    )
    lines = await InvoiceLine.filter(invoice_id=credit.id).order_by("position")
    assert [(ln.discount_cents, ln.discount_reason, ln.vat_category) for ln in lines] == [
        (0, None, S),
        (0, None, S),
        (33_33, "Geste", S),
    ]


async def test_billing_email_offer_and_confirmation(any_db: str) -> None:
    b = await make_billing(email=None)
    assert await billing_email_offer(b.alice, b.client.id) is None  # nobody has an email
    await create_contact(
        b.alice, NewContact("Ann Martin", email="ann@acme.example", company="ACME SA"), region="FR"
    )
    assert await billing_email_offer(b.alice, b.client.id) == "ann@acme.example"
    draft = await draft_from_deal(b.alice, b.deal.id, SELLER)
    inv = (await issue_invoice(b.alice, draft.id, SELLER, TODAY, render=RENDER)).invoice
    assert not await OutboxEmail.exists()
    # Both or neither: without a billing address the email is not adopted either.
    await set_billing(b.alice, b.client.id, billing_address=None)
    with pytest.raises(InvalidInput):
        await adopt_billing_email(b.alice, b.client.id, SELLER, inv.id)
    assert (await Contact.get(id=b.client.id)).billing_email is None
    await set_billing(b.alice, b.client.id, billing_address="3 rue Neuve\n69001 Lyon")
    contact, email = await adopt_billing_email(b.alice, b.client.id, SELLER, inv.id)
    assert contact.billing_email == "ann@acme.example" and email is not None
    assert email.to_addrs == ["ann@acme.example"]
    assert await billing_email_offer(b.alice, b.client.id) is None
    with pytest.raises(Conflict):
        await adopt_billing_email(b.alice, b.client.id, SELLER)


async def test_products_carry_their_nature_to_deal_and_invoice_lines(any_db: str) -> None:
    b = await make_billing()
    await create_product(
        b.boss,
        sku="AUDIT",
        name="Audit",
        unit_price_cents=800_00,
        vat_rate_bp=2000,
        allowed_vat_bp=list(SELLER.vat_rates_bp),
        nature=SERVICES,
    )
    company = await Contact.get(id=b.client.id)
    assert company.kind == ContactKind.COMPANY
    draft = await draft_for_contact(b.alice, b.client.id, SELLER)
    await add_invoice_line(b.alice, draft.id, "AUDIT", Decimal(1), SELLER)
    await add_invoice_line(b.alice, draft.id, "WIDGET", Decimal(1), SELLER)
    natures = [ln.nature for ln in await InvoiceLine.filter(invoice_id=draft.id).order_by("position")]
    assert natures == [SERVICES, GOODS]
