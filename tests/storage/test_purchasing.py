"""Purchasing: reservations, shortfall, one draft per supplier, send, receive, adjust."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from storage.errors import Conflict, Forbidden, InvalidInput
from storage.models import (
    Alert,
    Contact,
    DealLine,
    OutboxAttachment,
    OutboxEmail,
    POStatus,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    Role,
    StockLevel,
    StockMove,
    User,
    Warehouse,
)
from storage.pipeline import create_deal, find_stage, lose_deal, move_deal, win_deal
from storage.purchasing import (
    adjust,
    cancel_po,
    deliver_deal,
    purchasing_check,
    receive,
    send_po,
    shortfall,
    stock_rows,
)
from storage.users import create_user

NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)
TODAY = date(2026, 3, 2)
D = Decimal


def test_shortfall_brings_projected_stock_back_to_the_reorder_point() -> None:
    assert shortfall(D(10), D(4), D(0), D(0)) == 0
    assert shortfall(D(2), D(5), D(0), D(0)) == 3
    assert shortfall(D(2), D(5), D(1), D(0)) == 2
    assert shortfall(D(10), D(4), D(0), D(10)) == 4
    assert shortfall(D(10), D(0), D(0), D(10)) == 0


async def _setup() -> tuple[User, User, Contact, Product, Product]:
    buyer = await create_user("paula", Role.PURCHASING, telegram_id=5)
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    supplier = await Contact.create(name="Acier SARL", owner=buyer, email="ventes@acier.example")
    bolt = await Product.create(
        sku="BOLT", name="Bolt", unit_price_cents=100, supplier=supplier, lead_time_days=10
    )
    nut = await Product.create(
        sku="NUT", name="Nut", unit_price_cents=50, supplier=supplier, reorder_point=D(20)
    )
    await StockLevel.create(product=bolt, warehouse_id=1, on_hand=D(4))
    await StockLevel.create(product=nut, warehouse_id=1, on_hand=D(30))
    return buyer, alice, supplier, bolt, nut


async def _won_deal(owner: User, product: Product, qty: str) -> int:
    client = await Contact.create(name="Client", owner=owner)
    deal = await create_deal(owner, client.id, "Order", 1000, "EUR")
    await DealLine.create(deal=deal, product=product, quantity=D(qty), unit_price_cents=100, vat_rate_bp=2000)
    await win_deal(owner, deal.id)
    return deal.id


async def test_won_deal_short_of_stock_drafts_one_order_and_alerts(db: str) -> None:
    buyer, alice, supplier, bolt, nut = await _setup()
    deal_id = await _won_deal(alice, bolt, "10")
    assert await Reservation.filter(deal_id=deal_id, released=False).count() == 1
    result = await purchasing_check(NOW)
    assert str(result).startswith("1 product short")
    po = await PurchaseOrder.get(supplier=supplier, status=POStatus.DRAFT)
    lines = await PurchaseOrderLine.filter(order=po)
    assert [(ln.product_id, ln.quantity) for ln in lines] == [(bolt.id, D(6))]
    alerted = {a.user_id for a in await Alert.filter(kind="stock_short")}
    assert alerted == {buyer.id, alice.id}
    # Running again changes nothing; a second won deal updates the same draft.
    await purchasing_check(NOW)
    assert await Alert.filter(kind="stock_short").count() == 2
    await _won_deal(alice, bolt, "3")
    await _won_deal(alice, nut, "15")  # 30 - 15 = 15 < reorder point 20
    await purchasing_check(NOW)
    assert await PurchaseOrder.all().count() == 1
    qty = {ln.product_id: ln.quantity for ln in await PurchaseOrderLine.filter(order=po)}
    assert qty == {bolt.id: D(9), nut.id: D(5)}


async def test_send_receive_partly_then_fully_and_owner_told(db: str) -> None:
    buyer, alice, _, bolt, _ = await _setup()
    deal_id = await _won_deal(alice, bolt, "10")
    await purchasing_check(NOW)
    po = await PurchaseOrder.get()
    with pytest.raises(Conflict):
        await receive(buyer, po.id, {"BOLT": D(1)}, NOW)
    await send_po(buyer, po.id, TODAY, NOW, company_name="Entonnoir", company_email="a@b.example")
    po = await PurchaseOrder.get()
    assert po.status == POStatus.SENT and po.expected_date == date(2026, 3, 12)
    email = await OutboxEmail.get(purpose="purchase_order")
    assert email.to_addrs == ["ventes@acier.example"] and "PO" in email.subject
    att = await OutboxAttachment.get(email=email)
    assert att.purchase_order_id == po.id and att.mimetype == "application/pdf"
    # Sent quantities count as incoming: no new draft.
    await purchasing_check(NOW)
    assert await PurchaseOrder.all().count() == 1
    with pytest.raises(InvalidInput):
        await receive(buyer, po.id, {"BOLT": D(7)}, NOW)
    with pytest.raises(InvalidInput):
        await receive(buyer, po.id, {"NUT": D(1)}, NOW)
    assert await StockMove.all().count() == 0
    await receive(buyer, po.id, {"bolt": D(2)}, NOW)
    assert (await PurchaseOrder.get()).status == POStatus.PARTIAL
    assert not await Alert.filter(kind="goods_received").exists()
    await receive(buyer, po.id, None, NOW)
    po = await PurchaseOrder.get()
    assert po.status == POStatus.RECEIVED and po.closed_at is not None
    assert (await StockLevel.get(product=bolt)).on_hand == D(10)
    told = await Alert.filter(kind="goods_received")
    assert [(a.user_id, a.params["deal"]) for a in told] == [(alice.id, f"D{deal_id}")]
    await deliver_deal(alice, deal_id, NOW)
    assert (await StockLevel.get(product=bolt)).on_hand == D(0)
    assert not await Reservation.filter(released=False).exists()
    with pytest.raises(Conflict):
        await deliver_deal(alice, deal_id, NOW)


async def test_delivery_cannot_make_stock_negative(db: str) -> None:
    _, alice, _, bolt, _ = await _setup()
    deal_id = await _won_deal(alice, bolt, "10")
    with pytest.raises(Conflict) as err:
        await deliver_deal(alice, deal_id, NOW)
    assert err.value.code == "negative_stock"
    assert (await StockLevel.get(product=bolt)).on_hand == D(4)
    assert await Reservation.filter(released=False).count() == 1


async def test_adjust_is_for_managers_with_a_reason(db: str) -> None:
    buyer, *_ = await _setup()
    boss = await create_user("boss", Role.MANAGER, telegram_id=9)
    with pytest.raises(Forbidden):
        await adjust(buyer, "BOLT", D(5), "found", NOW)
    with pytest.raises(InvalidInput):
        await adjust(boss, "BOLT", D(5), "  ", NOW)
    with pytest.raises(Conflict):
        await adjust(boss, "BOLT", D(-5), "broken", NOW)
    assert await adjust(boss, "BOLT", D(-3), "broken", NOW) == D(1)
    assert await StockMove.filter(reason="adjustment: broken").count() == 1


async def test_cancel_and_stock_view(db: str) -> None:
    buyer, alice, _, bolt, _ = await _setup()
    await _won_deal(alice, bolt, "10")
    await purchasing_check(NOW)
    po = await PurchaseOrder.get()
    rows = await stock_rows(buyer, "bolt")
    assert (rows[0].on_hand, rows[0].reserved, rows[0].available) == (D(4), D(10), D(-6))
    with pytest.raises(Forbidden):
        await cancel_po(alice, po.id, NOW)
    await cancel_po(buyer, po.id, NOW)
    with pytest.raises(Conflict):
        await cancel_po(buyer, po.id, NOW)
    await purchasing_check(NOW)
    assert await PurchaseOrder.filter(status=POStatus.DRAFT).count() == 1


async def test_a_won_deal_reopened_or_lost_gives_its_reservation_back(db: str) -> None:
    _buyer, alice, _supplier, bolt, _nut = await _setup()
    deal_id = await _won_deal(alice, bolt, "10")
    assert await Reservation.filter(deal_id=deal_id, released=False).count() == 1
    await move_deal(alice, deal_id, await find_stage("Negotiation"))
    assert await Reservation.filter(deal_id=deal_id).count() == 0
    await win_deal(alice, deal_id)  # won again: reserved again, once
    assert await Reservation.filter(deal_id=deal_id, released=False).count() == 1
    await lose_deal(alice, deal_id, "went elsewhere")
    assert await Reservation.filter(deal_id=deal_id).count() == 0


async def _lines() -> dict[int, list[tuple[int, int, Decimal]]]:
    """Every draft order's lines as (line id, product id, quantity), by supplier."""
    drafts: dict[int, list[tuple[int, int, Decimal]]] = {}
    for po in await PurchaseOrder.filter(status=POStatus.DRAFT).order_by("id"):
        drafts[po.supplier_id] = [
            (ln.id, ln.product_id, ln.quantity)  # type: ignore[attr-defined]
            for ln in await PurchaseOrderLine.filter(order=po).order_by("id")
        ]
    return drafts


async def test_the_check_sums_exactly_and_rewrites_only_the_drafts_that_differ(any_db: str) -> None:
    buyer = await create_user("paula", Role.PURCHASING, telegram_id=5)
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    acier = await Contact.create(name="Acier SARL", owner=buyer)
    bois = await Contact.create(name="Bois SA", owner=buyer)
    second = await Warehouse.create(name="north")
    # 0.1 + 0.2 reserved against 0.25 + 0.05 on hand: not short (a float sum would say 4e-17 short).
    exact = await Product.create(sku="EXACT", name="Exact", unit_price_cents=1, supplier=acier)
    await StockLevel.create(product=exact, warehouse_id=1, on_hand=D("0.25"))
    await StockLevel.create(product=exact, warehouse=second, on_hand=D("0.05"))
    await _won_deal(alice, exact, "0.1")
    await _won_deal(alice, exact, "0.2")
    # 10 reserved, 4 on hand, 3 still to come on a partly received order: 3 to draft.
    bolt = await Product.create(sku="BOLT", name="Bolt", unit_price_cents=1, supplier=acier)
    await StockLevel.create(product=bolt, warehouse_id=1, on_hand=D(4))
    await _won_deal(alice, bolt, "10")
    sent = await PurchaseOrder.create(supplier=acier, status=POStatus.PARTIAL)
    await PurchaseOrderLine.create(order=sent, product=bolt, quantity=D(5), received_quantity=D(2))
    # Reorder point 20, 30 on hand, 15 reserved: 5 to draft from the other supplier.
    nut = await Product.create(
        sku="NUT", name="Nut", unit_price_cents=1, supplier=bois, reorder_point=D("20.5")
    )
    await StockLevel.create(product=nut, warehouse_id=1, on_hand=D(30))
    await _won_deal(alice, nut, "15")
    # No supplier: said, not drafted. Inactive: ignored.
    await Product.create(sku="LOOSE", name="Loose", unit_price_cents=1, reorder_point=D(1))
    await Product.create(
        sku="OLD", name="Old", unit_price_cents=1, supplier=bois, reorder_point=D(5), active=False
    )

    first = await purchasing_check(NOW)
    drafts = await _lines()
    assert first.short == 3 and first.no_supplier == ["LOOSE"]
    assert first.drafts == [po.id for po in await PurchaseOrder.filter(status=POStatus.DRAFT).order_by("id")]
    assert {s: [(p, q) for _, p, q in lines] for s, lines in drafts.items()} == {
        acier.id: [(bolt.id, D(3))],
        bois.id: [(nut.id, D("5.5"))],
    }
    alerts = await Alert.all().count()

    # Steady state: the same answer, not one row written.
    again = await purchasing_check(NOW)
    assert str(again) == str(first) and again.drafts == first.drafts
    assert await _lines() == drafts and await Alert.all().count() == alerts

    # The nut is no longer short: only its supplier's draft changes (and goes, empty).
    await StockLevel.filter(product=nut).update(on_hand=D("35.5"))
    third = await purchasing_check(NOW)
    assert third.short == 2 and third.drafts == first.drafts[:1]
    assert await _lines() == {acier.id: drafts[acier.id]}
