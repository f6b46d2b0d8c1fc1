"""Supplier invoices from the PA: parsed, three-way matched, decided, status sent back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from mail.pa.cdar import parse_cdar
from mail.pa.client import PaClient
from mail.pa.incoming import IncomingInvoiceError, parse_incoming_invoice
from mail.pa.worker import run_cycle
from storage.alerts import ActionKind, AlertAction, actions_of
from storage.einvoicing.suppliers import (
    Decision,
    IncomingInvoice,
    IncomingLine,
    OrderLine,
    decide_supplier_invoice,
    due_to_suppliers,
    three_way_match,
)
from storage.errors import Forbidden, InvalidInput
from storage.models import (
    Alert,
    Contact,
    ContactKind,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    SupplierInvoice,
    SupplierInvoiceStatus,
)
from storage.products import create_product
from storage.purchasing import receive
from storage.users import create_user
from tests.pa.conftest import PA_SELLER
from tests.pa.fake_pa import FakePA
from tests.pa.supplier_docs import SUPPLIER, cii_invoice, facturx_invoice, ubl_invoice
from tests.pa.test_sending import NOW, TODAY

# ---------------------------------------------------------------- the pure rule


def invoice(*lines: tuple[str, str, int], net: int | None = None) -> IncomingInvoice:
    rows = tuple(IncomingLine(sku, sku, Decimal(q), p, int(Decimal(q) * p)) for sku, q, p in lines)
    return IncomingInvoice(
        syntax="CII",
        number="S-1",
        type_code="380",
        issue_date=TODAY,
        due_date=None,
        currency="EUR",
        seller_name="X",
        seller_siren="542107651",
        seller_vat="",
        buyer_siren="",
        po_number="PO1",
        net_cents=sum(r.net_cents for r in rows) if net is None else net,
        vat_cents=0,
        gross_cents=0,
        lines=rows,
    )


ORDER = [OrderLine("WIDGET", Decimal(10), Decimal(10), 500), OrderLine("BOLT", Decimal(100), Decimal(40), 20)]


def test_invoice_matching_order_and_receipts_is_fully_matched() -> None:
    match = three_way_match(invoice(("WIDGET", "10", 500), ("BOLT", "40", 20)), ORDER, supplier_known=True)
    assert match.fully_matched and match.lines_matched == 2 and match.price_difference_cents == 0


def test_more_invoiced_than_received_and_price_differences_are_shown() -> None:
    match = three_way_match(invoice(("WIDGET", "10", 550), ("BOLT", "60", 20)), ORDER, supplier_known=True)
    widget, bolt = match.lines
    assert widget.problems == ("price",) and widget.ordered_price_cents == 500
    assert bolt.problems == ("not_received",) and (bolt.invoiced, bolt.received) == ("60", "40")
    assert match.price_difference_cents == 10 * 50 and not match.fully_matched


def test_earlier_invoices_use_up_the_received_quantity() -> None:
    order = [OrderLine("WIDGET", Decimal(10), Decimal(10), 500, already_invoiced=Decimal(6))]
    match = three_way_match(invoice(("WIDGET", "6", 500)), order, supplier_known=True)
    assert match.lines[0].problems == ("not_received",) and match.lines[0].received == "4"


def test_lines_off_the_order_totals_off_or_no_order_never_fully_match() -> None:
    assert three_way_match(invoice(("NUT", "1", 5)), ORDER, supplier_known=True).lines[0].problems == (
        "not_ordered",
    )
    assert not three_way_match(
        invoice(("WIDGET", "1", 500), net=999), ORDER, supplier_known=True
    ).fully_matched
    assert not three_way_match(invoice(("WIDGET", "1", 500)), None, supplier_known=True).fully_matched


def test_incoming_parsers_refuse_unsafe_or_invalid_files() -> None:
    with pytest.raises(IncomingInvoiceError, match="unsafe"):
        parse_incoming_invoice(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')
    broken = cii_invoice("S-9", "PO1", [("W", "W", "1", 100, 2000)]).replace(
        b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:Bogus>1</ram:Bogus>", 1
    )
    with pytest.raises(IncomingInvoiceError, match="XSD"):
        parse_incoming_invoice(broken)
    with pytest.raises(IncomingInvoiceError, match="neither"):
        parse_incoming_invoice(b"<Order/>")


# ---------------------------------------------------------------- through the fake PA


async def purchasing_setup(received: str = "10"):  # type: ignore[no-untyped-def]
    boss = await create_user("boss", Role.MANAGER, telegram_id=11)
    buyer = await create_user("paul", Role.PURCHASING, telegram_id=12)
    supplier = await Contact.create(
        name=SUPPLIER.name,
        kind=ContactKind.COMPANY,
        owner=boss,
        siren=SUPPLIER.siren,
        vat_number=SUPPLIER.vat,
        search_key="ressorts",
    )
    product = await create_product(
        boss, sku="WIDGET", name="Widget", unit_price_cents=500, vat_rate_bp=2000, allowed_vat_bp=[2000]
    )
    po = await PurchaseOrder.create(supplier=supplier, status=POStatus.SENT)
    await PurchaseOrderLine.create(order=po, product=product, quantity=Decimal(10), unit_price_cents=500)
    await receive(buyer, po.id, {"WIDGET": Decimal(received)}, NOW)
    return boss, buyer, supplier, po


async def test_matched_supplier_invoice_is_offered_then_approved_and_205_sent(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    _, buyer, supplier, po = await purchasing_setup()
    fake_pa.deliver(cii_invoice("RD-77", f"PO{po.id}", [("WIDGET", "Widget", "10", 500, 2000)]), "CII")
    await run_cycle(pa, PA_SELLER, NOW)
    si = await SupplierInvoice.get(number="RD-77")
    assert (si.supplier_id, si.purchase_order_id, si.fully_matched) == (supplier.id, po.id, True)
    assert si.status == SupplierInvoiceStatus.RECEIVED and si.total_gross_cents == 60_00
    alert = await Alert.get(kind="supplier_invoice")
    assert alert.user_id == buyer.id and alert.params["matched"] == 1
    assert actions_of(alert) == [
        AlertAction(ActionKind.APPROVE_SUPPLIER_INVOICE, si.id),
        AlertAction(ActionKind.DISPUTE_SUPPLIER_INVOICE, si.id),
        AlertAction(ActionKind.REFUSE_SUPPLIER_INVOICE, si.id),
    ]
    await decide_supplier_invoice(buyer, si.id, Decision.APPROVE, NOW)
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=1))
    [cdar] = [f for f in fake_pa.received if f.info["flowSyntax"] == "CDAR"]
    [status] = parse_cdar(cdar.content)
    assert (status.invoice_number, status.code, status.invoice_issuer) == ("RD-77", 205, SUPPLIER.siren)
    assert fake_pa.refused == []
    assert [r.number for r in await due_to_suppliers(TODAY)] == ["RD-77"]


async def test_fully_matched_invoice_is_approved_automatically_when_allowed(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    _, _, _, po = await purchasing_setup()
    fake_pa.deliver(cii_invoice("RD-78", f"PO{po.id}", [("WIDGET", "Widget", "10", 500, 2000)]), "CII")
    await run_cycle(pa, PA_SELLER, NOW, auto_approve=True)
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=1), auto_approve=True)
    si = await SupplierInvoice.get(number="RD-78")
    assert si.status == SupplierInvoiceStatus.APPROVED
    assert [parse_cdar(f.content)[0].code for f in fake_pa.received] == [205]
    assert await Alert.filter(kind="supplier_invoice_approved").count() == 1


async def test_partly_received_ubl_invoice_is_disputed_or_refused_with_a_reason(
    any_db: str, fake_pa: FakePA, pa: PaClient, webhook_url: str
) -> None:
    boss, buyer, _, po = await purchasing_setup(received="4")
    flow = fake_pa.deliver(ubl_invoice("RD-79", f"PO{po.id}", [("WIDGET", "Widget", "10", 520, 2000)]), "UBL")
    await fake_pa.push_webhook(flow, webhook_url, times=2)
    await run_cycle(pa, PA_SELLER, NOW, auto_approve=True)
    si = await SupplierInvoice.get(number="RD-79")
    assert await SupplierInvoice.all().count() == 1
    assert si.status == SupplierInvoiceStatus.RECEIVED and not si.fully_matched
    [line] = si.match["lines"]
    assert (line["invoiced"], line["received"], line["problems"]) == ("10", "4", ["not_received", "price"])
    assert si.match["price_difference_cents"] == 200
    with pytest.raises(InvalidInput):
        await decide_supplier_invoice(buyer, si.id, Decision.DISPUTE, NOW, reason_code="QTE_ERR", reason="  ")
    with pytest.raises(InvalidInput):
        await decide_supplier_invoice(buyer, si.id, Decision.DISPUTE, NOW, reason="no code")
    sales = await create_user("sam", Role.SALES, telegram_id=13)
    with pytest.raises(Forbidden):
        await decide_supplier_invoice(sales, si.id, Decision.APPROVE, NOW)
    await decide_supplier_invoice(
        buyer, si.id, Decision.DISPUTE, NOW, reason_code="QTE_ERR", reason="6 widgets not delivered"
    )
    with pytest.raises(InvalidInput):
        await decide_supplier_invoice(buyer, si.id, Decision.REFUSE, NOW, reason_code="NOPE")
    await decide_supplier_invoice(
        boss, si.id, Decision.REFUSE, NOW, reason_code="pu_err", reason="Prix unitaire 5,20 au lieu de 5,00"
    )
    await run_cycle(pa, PA_SELLER, NOW + timedelta(minutes=1))
    sent = [parse_cdar(f.content)[0] for f in fake_pa.received]
    assert [(s.code, s.reason_code) for s in sent] == [(207, "QTE_ERR"), (210, "PU_ERR")]
    assert fake_pa.refused == [] and await due_to_suppliers(TODAY) == []


async def test_factur_x_invoice_without_an_order_reference_is_not_matched(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    await purchasing_setup()
    fake_pa.deliver(facturx_invoice("RD-80", [("WIDGET", "Widget", "10", 500, 2000)]), "Factur-X")
    await run_cycle(pa, PA_SELLER, NOW, auto_approve=True)
    si = await SupplierInvoice.get(number="RD-80")
    assert si.syntax == "Factur-X" and si.purchase_order_id is None and not si.fully_matched
    assert si.status == SupplierInvoiceStatus.RECEIVED and fake_pa.received == []


async def test_approved_supplier_invoices_show_in_the_purchases_report_and_digest(
    db: str, fake_pa: FakePA, pa: PaClient
) -> None:
    from datetime import UTC, datetime

    from storage.reports import digest_for, report_rows

    boss, _, _, po = await purchasing_setup()
    fake_pa.deliver(cii_invoice("RD-90", f"PO{po.id}", [("WIDGET", "Widget", "10", 500, 2000)]), "CII")
    await run_cycle(pa, PA_SELLER, NOW, auto_approve=True)
    _, rows = await report_rows(boss, "purchases", TODAY, "", "EUR")
    block = rows[rows.index([]) + 1 :]
    assert block[0][0] == "Supplier invoice"
    assert block[1][:3] == ["RD-90", SUPPLIER.name, TODAY.replace(day=31)]
    assert block[1][4] == Decimal("60.00")
    start = datetime(2026, 12, 24, tzinfo=UTC)
    soon = await digest_for(start, start, TODAY.replace(day=24), start, start, "EUR")
    later = await digest_for(start, start, TODAY, start, start, "EUR")
    assert (soon.suppliers_due_count, soon.suppliers_due_cents) == (1, 60_00)
    assert later.suppliers_due_count == 0  # due in 30 days: not yet in the digest
