"""Stock, reservations and supplier purchase orders.

    available = on hand − active reservations (won deals not yet delivered)
    projected = available + still to receive on sent orders
    order     = reorder point − projected, when projected < reorder point (or < 0)

Winning a deal reserves its lines (`reserve_for_deal`, called by the pipeline);
`/deliver D34` (`deliver_deal`) takes the goods out of stock and releases the reservation.
`purchasing_check` (the 15-minute job) keeps ONE open draft order per supplier up to date
and alerts the purchasing role and the deal owners concerned. Stock never goes negative:
a delivery, a receipt or an adjustment that would make it so is refused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from storage import audit
from storage.access import sees_everything
from storage.alerts import ActionKind, AlertAction, alert_role, alert_user
from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.formatting import counted
from storage.i18n import text
from storage.models import (
    Alert,
    Contact,
    Deal,
    DealLine,
    POStatus,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Reservation,
    Role,
    StockLevel,
    StockMove,
    User,
)
from storage.outbox import Attachment, queue_email
from storage.purchasing_seed import seed_warehouse

__all__ = [
    "CheckResult",
    "StockRow",
    "adjust",
    "cancel_po",
    "deliver_deal",
    "get_po",
    "list_pos",
    "purchasing_check",
    "receive",
    "release_for_deal",
    "reserve_for_deal",
    "send_po",
    "shortfall",
    "stock_rows",
]

ZERO = Decimal("0.000")
OPEN_PO = (POStatus.DRAFT, POStatus.SENT, POStatus.PARTIAL)
INCOMING_PO = (POStatus.SENT, POStatus.PARTIAL)
_PURCHASERS = frozenset({Role.PURCHASING, Role.MANAGER, Role.ADMIN})


def shortfall(on_hand: Decimal, reserved: Decimal, incoming: Decimal, reorder_point: Decimal) -> Decimal:
    """Quantity to order so projected stock is back at the reorder point (0 if none)."""
    projected = on_hand - reserved + incoming
    if projected < reorder_point or projected < 0:
        return max(reorder_point, ZERO) - projected
    return ZERO


def _may_purchase(actor: User) -> None:
    if actor.role not in _PURCHASERS:
        raise Forbidden("purchasing_only")


async def reserve_for_deal(deal: Deal) -> None:
    """Reserve a won deal's line quantities in the default warehouse (once per deal)."""
    if await Reservation.filter(deal_id=deal.id).exists():
        return
    lines = await DealLine.filter(deal_id=deal.id)
    if not lines:
        return
    warehouse = await seed_warehouse()
    await Reservation.bulk_create(
        [
            Reservation(
                deal_id=deal.id, product_id=line.product_id, warehouse=warehouse, quantity=line.quantity
            )
            for line in lines
        ]
    )


async def release_for_deal(deal_id: int) -> int:
    """Drop the reservations of a deal that is no longer won (delivered ones stay)."""
    return await Reservation.filter(deal_id=deal_id, released=False).delete()


# --- Quantities ----------------------------------------------------------------------------


async def _sums(
    product_ids: list[int] | None = None,
) -> tuple[dict[int, Decimal], dict[int, Decimal], dict[int, Decimal], dict[int, Decimal]]:
    """On hand, reserved, incoming (sent orders) and drafted, per product id."""

    def _filter(query: Any, key: str = "product_id") -> Any:
        return query.filter(**{f"{key}__in": product_ids}) if product_ids is not None else query

    def _dec(rows: list[dict[str, object]], value: str) -> dict[int, Decimal]:
        return {int(r["pid"]): Decimal(str(r[value] or 0)) for r in rows}  # type: ignore[call-overload]

    on_hand = _dec(
        await _filter(StockLevel.all())
        .annotate(q=Sum("on_hand"))
        .group_by("product_id")
        .values(pid="product_id", q="q"),
        "q",
    )
    reserved = _dec(
        await _filter(Reservation.filter(released=False))
        .annotate(q=Sum("quantity"))
        .group_by("product_id")
        .values(pid="product_id", q="q"),
        "q",
    )
    incoming: dict[int, Decimal] = defaultdict(Decimal)
    drafted: dict[int, Decimal] = defaultdict(Decimal)
    lines = await _filter(PurchaseOrderLine.filter(order__status__in=list(OPEN_PO))).values(
        "product_id", "quantity", "received_quantity", "order__status"
    )
    for line in lines:
        left = Decimal(str(line["quantity"])) - Decimal(str(line["received_quantity"]))
        if line["order__status"] == POStatus.DRAFT:
            drafted[line["product_id"]] += left
        else:
            incoming[line["product_id"]] += left
    return on_hand, reserved, dict(incoming), dict(drafted)


@dataclass(frozen=True)
class StockRow:
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    incoming: Decimal
    reorder_point: Decimal
    supplier: str | None
    lead_time_days: int


async def stock_rows(actor: User, sku: str | None = None, limit: int = 30) -> list[StockRow]:
    """One product by SKU, or the products with stock or needs, least available first."""
    if sku:
        product = await Product.get_or_none(sku__iexact=sku.strip()).prefetch_related("supplier")
        if product is None:
            raise NotFound("stock_sku", sku=sku)
        products = [product]
    else:
        on_hand, reserved, _, _ = await _sums()
        ids = list(set(on_hand) | set(reserved))
        products = list(await Product.filter(id__in=ids).prefetch_related("supplier"))
    on_hand, reserved, incoming, _ = await _sums([p.id for p in products])
    rows = []
    for p in products:
        oh, rs = on_hand.get(p.id, ZERO), reserved.get(p.id, ZERO)
        rows.append(
            StockRow(
                p.sku,
                p.name,
                p.unit,
                oh,
                rs,
                oh - rs,
                incoming.get(p.id, ZERO),
                Decimal(str(p.reorder_point)),
                p.supplier.name if p.supplier else None,
                p.lead_time_days,
            )
        )
    rows.sort(key=lambda r: (r.available - r.reorder_point, r.sku))
    return rows[:limit]


# --- The check ------------------------------------------------------------------------------


@dataclass
class CheckResult:
    short: int = 0
    drafts: list[int] = field(default_factory=list)
    no_supplier: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{counted(self.short, 'product', 'products')} short, draft orders: " + (
            ", ".join(f"PO{i}" for i in self.drafts) or "none"
        )
        if self.no_supplier:
            text += f"; no supplier for {', '.join(self.no_supplier)}"
        return text


# The check's detection, as one query: each active product that a won deal reserves or that
# has a reorder point, with what is on hand, reserved, incoming (sent orders) and drafted.
# Quantities are summed as integer thousandths (the fields keep three decimals), exact on
# SQLite, whose DecimalField is text and whose SUM would otherwise be a float.
_NEEDS_SQL = """
WITH reserved AS (
  SELECT product_id, SUM(CAST(ROUND(quantity * 1000) AS BIGINT)) AS q
  FROM reservations WHERE NOT released GROUP BY product_id
), open_lines AS (
  SELECT l.product_id,
         SUM(CASE WHEN o.status = 'draft' THEN 0
             ELSE CAST(ROUND((l.quantity - l.received_quantity) * 1000) AS BIGINT) END) AS incoming,
         SUM(CASE WHEN o.status = 'draft'
             THEN CAST(ROUND((l.quantity - l.received_quantity) * 1000) AS BIGINT) END) AS drafted
  FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
  WHERE o.status IN ('draft', 'sent', 'partial')
  GROUP BY l.product_id
)
SELECT p.id, p.sku, p.reorder_point, p.supplier_id, r.q AS reserved, ol.incoming, ol.drafted,
       (SELECT SUM(CAST(ROUND(s.on_hand * 1000) AS BIGINT)) FROM stock_levels s
        WHERE s.product_id = p.id) AS on_hand
FROM products p
LEFT JOIN reserved r ON r.product_id = p.id
LEFT JOIN open_lines ol ON ol.product_id = p.id
WHERE p.active AND (r.q IS NOT NULL OR CAST(p.reorder_point AS REAL) > 0)
ORDER BY p.id
"""
# Every open draft with its lines (a draft without lines too).
_DRAFTS_SQL = """
SELECT o.id, o.supplier_id, l.product_id, l.quantity
FROM purchase_orders o LEFT JOIN purchase_order_lines l ON l.order_id = o.id
WHERE o.status = 'draft'
ORDER BY o.id
"""
assert {POStatus.DRAFT, *INCOMING_PO} == set(OPEN_PO)  # the statuses written in the SQL above


def _milli(value: object) -> Decimal:
    return Decimal(int(value or 0)).scaleb(-3)  # type: ignore[call-overload]


async def _needs() -> tuple[dict[int | None, dict[int, Decimal]], dict[int, str]]:
    """Per supplier, each candidate product's quantity to order (0: drop its draft line)."""
    rows = await connections.get("default").execute_query_dict(_NEEDS_SQL)
    needs: dict[int | None, dict[int, Decimal]] = defaultdict(dict)
    skus: dict[int, str] = {}
    for p in rows:
        pid = int(p["id"])
        rp = Decimal(str(p["reorder_point"]))
        if p["reserved"] is None and rp <= 0:
            continue
        need = shortfall(_milli(p["on_hand"]), _milli(p["reserved"]), _milli(p["incoming"]), rp)
        if need > 0:
            needs[p["supplier_id"]][pid] = need
            skus[pid] = p["sku"]
        elif p["drafted"] is not None:
            needs.setdefault(p["supplier_id"], {})[pid] = ZERO
    return needs, skus


async def _drafts() -> dict[int, list[tuple[int, dict[int, Decimal]]]]:
    """Each supplier's open drafts: (order id, {product id: quantity})."""
    rows = await connections.get("default").execute_query_dict(_DRAFTS_SQL)
    orders: dict[int, dict[int, Decimal]] = {}
    by_supplier: dict[int, list[tuple[int, dict[int, Decimal]]]] = defaultdict(list)
    for r in rows:
        lines = orders.get(r["id"])
        if lines is None:
            lines = orders[r["id"]] = {}
            by_supplier[int(r["supplier_id"])].append((int(r["id"]), lines))
        if r["product_id"] is not None:
            lines[int(r["product_id"])] = Decimal(str(r["quantity"]))
    return by_supplier


def _unchanged_draft(
    drafts: list[tuple[int, dict[int, Decimal]]], group: dict[int, Decimal]
) -> tuple[bool, int | None]:
    """Whether the supplier's draft already says what `group` needs, and its id (None: no
    draft and nothing to draft). When it does not, `_update_draft` rewrites it."""
    if not drafts:
        return not any(q > 0 for q in group.values()), None
    if len(drafts) > 1:
        return False, None
    po_id, lines = drafts[0]
    for pid, need in group.items():
        if (pid in lines) if need <= 0 else (lines.get(pid) != need):
            return False, None
    return bool(lines), po_id


async def purchasing_check(now: datetime) -> CheckResult:
    """Draft (or update) one order per supplier for what won deals and reorder points need.

    The steady state (nothing new) costs two reads: the needs, and the open drafts they are
    compared with; only a supplier whose draft must change gets a transaction."""
    result = CheckResult()
    needs, skus = await _needs()
    result.short = sum(1 for group in needs.values() for q in group.values() if q > 0)
    drafts = await _drafts() if needs else {}
    recipients: tuple[list[int], dict[int, set[int]]] | None = None
    for supplier_id, group in needs.items():
        if supplier_id is None:
            result.no_supplier.extend(skus[pid] for pid, q in group.items() if q > 0)
            for pid, q in group.items():
                if q > 0:
                    await alert_role(
                        (Role.PURCHASING,),
                        "stock_short_no_supplier",
                        f"no-supplier:{pid}:{q}",
                        {"sku": skus[pid]},
                    )
            continue
        unchanged, po_id = _unchanged_draft(drafts.get(int(supplier_id), []), group)
        if unchanged:
            if po_id is not None:
                result.drafts.append(po_id)
            continue
        if recipients is None:
            recipients = await _recipients()
        try:
            async with in_transaction():
                po_id = await _update_draft(supplier_id, group, skus, *recipients)
        except IntegrityError:  # another instance drafted this supplier's order meanwhile
            continue  # (one draft per supplier is a unique index): its run did the work
        if po_id is not None:
            result.drafts.append(po_id)
    return result


async def _recipients() -> tuple[list[int], dict[int, set[int]]]:
    """Who hears of a new need: the purchasing team, and per product the owners of the deals
    that reserve it."""
    buyers = [int(u.id) for u in await User.filter(role=Role.PURCHASING, active=True)]
    owners: dict[int, set[int]] = defaultdict(set)
    for pid, owner_id in await Reservation.filter(released=False).values_list("product_id", "deal__owner_id"):
        owners[int(pid)].add(int(owner_id))
    return buyers, owners


async def _update_draft(
    supplier_id: int,
    group: dict[int, Decimal],
    skus: dict[int, str],
    buyers: list[int],
    owners: dict[int, set[int]],
) -> int | None:
    """Set the supplier's open draft lines to the current needs; alert on what is new."""
    if (
        not any(q > 0 for q in group.values())
        and not await PurchaseOrder.filter(supplier_id=supplier_id, status=POStatus.DRAFT).exists()
    ):
        return None
    po, _ = await PurchaseOrder.get_or_create(supplier_id=supplier_id, status=POStatus.DRAFT)
    supplier = await Contact.get(id=supplier_id)
    lines = {ln.product_id: ln for ln in await PurchaseOrderLine.filter(order_id=po.id)}
    new_lines: list[PurchaseOrderLine] = []
    alerts: list[Alert] = []
    for pid, need in group.items():
        line = lines.get(pid)
        if need <= 0:
            if line is not None:
                await line.delete()
            continue
        if line is None:
            new_lines.append(PurchaseOrderLine(order_id=po.id, product_id=pid, quantity=need))
        elif Decimal(str(line.quantity)) != need:
            line.quantity = need
            await line.save(update_fields=["quantity"])
        else:
            continue
        params = {
            "sku": skus[pid],
            "quantity": str(need.normalize()),
            "po": f"PO{po.id}",
            "supplier": supplier.name,
        }
        actions = [AlertAction(ActionKind.OPEN_PURCHASE_ORDER, po.id).to_json()]
        key = f"stock_short:po{po.id}:p{pid}"
        for user_id in {*buyers, *owners.get(pid, set())}:
            alerts.append(
                Alert(
                    dedupe_key=f"{key}:u{user_id}"[:200],
                    user_id=user_id,
                    kind="stock_short",
                    params=params,
                    buttons=actions if user_id in buyers else [],
                )
            )
    # Bulk writes (a first run may draft thousands of lines); the unique dedupe key keeps
    # each alert once, as `alert_user` would.
    if new_lines:
        await PurchaseOrderLine.bulk_create(new_lines, batch_size=500)
    if alerts:
        await Alert.bulk_create(alerts, batch_size=500, ignore_conflicts=True)
    if not await PurchaseOrderLine.filter(order_id=po.id).exists():
        await po.delete()
        return None
    return po.id


# --- Orders ---------------------------------------------------------------------------------


async def get_po(actor: User, po_id: int) -> PurchaseOrder:
    """An order with its supplier and lines (purchasing, managers)."""
    _may_purchase(actor)
    po = await PurchaseOrder.get_or_none(id=po_id).prefetch_related("supplier", "lines", "lines__product")
    if po is None:
        raise NotFound("po", id=po_id)
    return po


async def list_pos(actor: User, include_closed: bool = False, limit: int = 30) -> list[PurchaseOrder]:
    """Open orders (drafts, sent, partly received), oldest first."""
    _may_purchase(actor)
    query = PurchaseOrder.all() if include_closed else PurchaseOrder.filter(status__in=list(OPEN_PO))
    return list(await query.prefetch_related("supplier", "lines").order_by("id").limit(limit))


async def send_po(
    actor: User,
    po_id: int,
    today: date,
    now: datetime,
    *,
    company_name: str,
    company_email: str,
    mail_domain: str = "entonnoir.example",
) -> PurchaseOrder:
    """Email the draft order to the supplier as a PDF (through the outbox); it becomes sent."""
    po = await get_po(actor, po_id)
    if po.status != POStatus.DRAFT:
        raise Conflict("po_state", id=po.id, status=po.status.value)
    supplier = po.supplier
    address = supplier.billing_email or supplier.email
    if not address:
        raise InvalidInput("supplier_email", name=supplier.name)
    lead = max([line.product.lead_time_days for line in po.lines] or [0])
    lang = "en" if supplier.invoice_language == "en" else "fr"  # the supplier's language
    subject = text(lang, "po_mail.subject", number=f"PO{po.id}", company=company_name)
    body = text(lang, "po_mail.body", number=f"PO{po.id}", company=company_name)
    async with in_transaction():
        po.status = POStatus.SENT
        po.sent_at = now
        po.expected_date = today + timedelta(days=lead)
        await po.save(update_fields=["status", "sent_at", "expected_date"])
        await queue_email(
            dedupe_key=f"po:{po.id}:send",
            message_id=f"<po.{po.id}@{mail_domain}>",
            to=[address],
            subject=subject,
            body_text=body,
            reply_to=company_email,
            attachments=[
                Attachment(filename=f"PO{po.id}.pdf", mimetype="application/pdf", purchase_order_id=po.id)
            ],
            owner=actor,
            purpose="purchase_order",
        )
        await audit.record(actor, "purchase_order", po.id, "send", {"status": "draft"}, {"status": "sent"})
    return po


async def cancel_po(actor: User, po_id: int, now: datetime) -> PurchaseOrder:
    """Cancel a draft or sent order (nothing received yet)."""
    po = await get_po(actor, po_id)
    if po.status not in (POStatus.DRAFT, POStatus.SENT):
        raise Conflict("po_state", id=po.id, status=po.status.value)
    async with in_transaction():
        before = po.status.value
        po.status, po.closed_at = POStatus.CANCELLED, now
        await po.save(update_fields=["status", "closed_at"])
        await audit.record(
            actor, "purchase_order", po.id, "cancel", {"status": before}, {"status": "cancelled"}
        )
    return po


async def _stock_level(product_id: int) -> StockLevel:
    warehouse = await seed_warehouse()
    level, _ = await StockLevel.get_or_create(product_id=product_id, warehouse=warehouse)
    return level


async def _move(
    product_id: int,
    qty: Decimal,
    reason: str,
    now: datetime,
    *,
    user: User | None = None,
    po: PurchaseOrder | None = None,
) -> Decimal:
    """Change on-hand stock by `qty` (signed) with a StockMove; never below zero."""
    level = await _stock_level(product_id)
    new = Decimal(str(level.on_hand)) + qty
    if new < 0:
        sku = await Product.filter(id=product_id).values_list("sku", flat=True)
        raise Conflict(
            "negative_stock",
            sku=sku[0] if sku else product_id,
            on_hand=str(Decimal(str(level.on_hand)).normalize()),
        )
    level.on_hand = new
    await level.save(update_fields=["on_hand"])
    await StockMove.create(
        product_id=product_id,
        warehouse_id=level.warehouse_id,
        quantity=qty,
        reason=reason[:200],
        user=user,
        purchase_order=po,
        at=now,
    )
    return new


async def receive(
    actor: User, po_id: int, quantities: dict[str, Decimal] | None, now: datetime
) -> PurchaseOrder:
    """A warehouse entry: `{sku: qty}` (None = everything still expected); partial allowed."""
    po = await get_po(actor, po_id)
    if po.status not in INCOMING_PO:
        raise Conflict("po_state", id=po.id, status=po.status.value)
    by_sku = {line.product.sku.lower(): line for line in po.lines}
    if quantities is None:
        quantities = {
            line.product.sku: Decimal(str(line.quantity)) - Decimal(str(line.received_quantity))
            for line in po.lines
        }
        quantities = {k: v for k, v in quantities.items() if v > 0}
    if not quantities:
        raise InvalidInput("receive_nothing")
    for sku, qty in quantities.items():
        line = by_sku.get(sku.lower())
        if line is None:
            raise InvalidInput("receive_sku", sku=sku, id=po.id)
        left = Decimal(str(line.quantity)) - Decimal(str(line.received_quantity))
        if qty <= 0 or qty > left:
            raise InvalidInput(
                "receive_quantity", sku=sku, quantity=str(qty.normalize()), left=str(left.normalize())
            )
    async with in_transaction():
        for sku, qty in quantities.items():
            line = by_sku[sku.lower()]
            line.received_quantity = Decimal(str(line.received_quantity)) + qty
            await line.save(update_fields=["received_quantity"])
            await _move(line.product_id, qty, f"receipt PO{po.id}", now, user=actor, po=po)
        done = all(Decimal(str(x.quantity)) <= Decimal(str(x.received_quantity)) for x in po.lines)
        po.status = POStatus.RECEIVED if done else POStatus.PARTIAL
        po.closed_at = now if done else None
        await po.save(update_fields=["status", "closed_at"])
        await audit.record(
            actor, "purchase_order", po.id, "receive", None, {k: str(v) for k, v in quantities.items()}
        )
        await _tell_deliverable([x.product_id for x in po.lines], po)
    return po


async def _tell_deliverable(product_ids: list[int], po: PurchaseOrder) -> None:
    """Owners of won deals waiting on these products whose reservations are now covered.

    Stock goes to reservations first come, first served (oldest reservation first).
    """
    waiting = await Reservation.filter(released=False, product_id__in=product_ids).values_list(
        "deal_id", flat=True
    )
    deal_ids = set(waiting)
    if not deal_ids:
        return
    all_res = (
        await Reservation.filter(released=False)
        .order_by("created_at", "id")
        .values("deal_id", "product_id", "quantity")
    )
    on_hand, _, _, _ = await _sums()
    left = dict(on_hand)
    covered: dict[int, bool] = {}
    for r in all_res:
        qty = Decimal(str(r["quantity"]))
        pid = r["product_id"]
        ok = left.get(pid, ZERO) >= qty
        left[pid] = left.get(pid, ZERO) - qty
        covered[r["deal_id"]] = covered.get(r["deal_id"], True) and ok
    for deal in await Deal.filter(id__in=list(deal_ids)):
        if covered.get(deal.id):
            await alert_user(
                deal.owner_id,
                "goods_received",
                f"goods_received:d{deal.id}",
                {"deal": f"D{deal.id}", "title": deal.title, "po": f"PO{po.id}"},
                [AlertAction(ActionKind.DELIVER_DEAL, deal.id)],
            )


async def deliver_deal(actor: User, deal_id: int, now: datetime) -> Deal:
    """The goods of a won deal leave the warehouse: stock falls, the reservation is released."""
    deal = await Deal.get_or_none(id=deal_id).prefetch_related("stage")
    if deal is None or not (
        sees_everything(actor) or deal.owner_id == actor.id or actor.role == Role.PURCHASING
    ):
        raise NotFound("deal", id=deal_id)
    reservations = await Reservation.filter(deal_id=deal.id, released=False)
    if not reservations:
        raise Conflict("nothing_to_deliver", id=deal.id)
    async with in_transaction():
        for res in reservations:
            await _move(res.product_id, -Decimal(str(res.quantity)), f"delivery D{deal.id}", now, user=actor)
            res.released = True
            await res.save(update_fields=["released"])
        await audit.record(actor, "deal", deal.id, "deliver", None, {"lines": len(reservations)})
    return deal


async def adjust(actor: User, sku: str, qty: Decimal, reason: str, now: datetime) -> Decimal:
    """A manager corrects stock by a signed quantity with a reason; returns the new on hand."""
    if not sees_everything(actor):
        raise Forbidden("manager_only")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("adjust_reason")
    if qty == 0:
        raise InvalidInput("quantity", value="0")
    product = await Product.get_or_none(sku__iexact=(sku or "").strip())
    if product is None:
        raise NotFound("stock_sku", sku=sku)
    async with in_transaction():
        new = await _move(product.id, qty, f"adjustment: {reason}", now, user=actor)
        await audit.record(
            actor, "stock", product.sku, "adjust", None, {"quantity": str(qty), "reason": reason}
        )
    return new
