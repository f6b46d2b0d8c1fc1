"""Supplier invoices received through the PA: three-way matched to the supplier's purchase
order and the goods received, then approved, disputed or refused (each decision queues the
CDAR status back to the PA).

Pure rule: `three_way_match(invoice, order_lines, ...)` — which invoice lines are on the
order, received quantities against invoiced ones, price differences.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from storage import audit
from storage.alerts import ActionKind, AlertAction, alert_role
from storage.einvoicing.queue import queue_status
from storage.einvoicing.statuses import Lifecycle
from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.formatting import fmt_money
from storage.i18n import text
from storage.models import (
    Contact,
    POStatus,
    Product,
    PurchaseOrder,
    PurchaseOrderLine,
    Role,
    SupplierInvoice,
    SupplierInvoiceStatus,
    User,
)

__all__ = [
    "REFUSAL_CODES",
    "Decision",
    "DueRow",
    "IncomingInvoice",
    "IncomingLine",
    "LineMatch",
    "MatchResult",
    "OrderLine",
    "decide_supplier_invoice",
    "due_to_suppliers",
    "receive_supplier_invoice",
    "three_way_match",
]

DECIDERS = (Role.PURCHASING, Role.MANAGER, Role.ADMIN)
# Refusal / dispute reason codes (XP Z12-012 code list, the ones a buyer uses most).
REFUSAL_CODES = (
    "CMD_ERR",
    "QTE_ERR",
    "PU_ERR",
    "ART_ERR",
    "MONTANTTOTAL_ERR",
    "TX_TVA_ERR",
    "LIVR_INCOMP",
    "DOUBLON",
    "NON_CONFORME",
    "AUTRE",
)


@dataclass(frozen=True)
class IncomingLine:
    description: str
    sku: str
    quantity: Decimal
    unit_price_cents: int
    net_cents: int


@dataclass(frozen=True)
class IncomingInvoice:
    syntax: str
    number: str
    type_code: str
    issue_date: date
    due_date: date | None
    currency: str
    seller_name: str
    seller_siren: str
    seller_vat: str
    buyer_siren: str
    po_number: str  # BT-13
    net_cents: int
    vat_cents: int
    gross_cents: int
    lines: tuple[IncomingLine, ...] = ()


@dataclass(frozen=True)
class OrderLine:
    sku: str
    ordered: Decimal
    received: Decimal
    unit_price_cents: int
    already_invoiced: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineMatch:
    sku: str
    description: str
    invoiced: str
    received: str  # received and not yet invoiced ("" when not on the order)
    invoiced_price_cents: int
    ordered_price_cents: int | None
    problems: tuple[str, ...] = ()

    @property
    def matched(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class MatchResult:
    po_found: bool
    supplier_known: bool
    lines: tuple[LineMatch, ...] = field(default_factory=tuple)
    price_difference_cents: int = 0
    totals_consistent: bool = True

    @property
    def lines_matched(self) -> int:
        return sum(1 for line in self.lines if line.matched)

    @property
    def fully_matched(self) -> bool:
        return (
            self.po_found
            and self.supplier_known
            and self.totals_consistent
            and bool(self.lines)
            and self.lines_matched == len(self.lines)
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "po_found": self.po_found,
            "supplier_known": self.supplier_known,
            "price_difference_cents": self.price_difference_cents,
            "totals_consistent": self.totals_consistent,
            "lines_matched": self.lines_matched,
            "lines": [{**asdict(line), "problems": list(line.problems)} for line in self.lines],
        }


def three_way_match(
    invoice: IncomingInvoice,
    order: Sequence[OrderLine] | None,
    *,
    supplier_known: bool,
    price_tolerance_cents: int = 0,
) -> MatchResult:
    """Invoice against purchase order (what was ordered, at what price) and receipts (what
    arrived, less what earlier invoices already billed). No order: nothing matches."""
    by_sku = {line.sku: line for line in order or ()}
    rows: list[LineMatch] = []
    difference = 0
    for line in invoice.lines:
        ordered = by_sku.get(line.sku)
        if ordered is None:
            rows.append(
                LineMatch(
                    line.sku,
                    line.description,
                    _qty(line.quantity),
                    "",
                    line.unit_price_cents,
                    None,
                    ("not_ordered",),
                )
            )
            continue
        open_qty = ordered.received - ordered.already_invoiced
        problems = []
        if line.quantity > open_qty:
            problems.append("not_received")
        gap = line.unit_price_cents - ordered.unit_price_cents
        if abs(gap) > price_tolerance_cents:
            problems.append("price")
            difference += int((Decimal(gap) * line.quantity).quantize(Decimal(1)))
        rows.append(
            LineMatch(
                line.sku,
                line.description,
                _qty(line.quantity),
                _qty(open_qty),
                line.unit_price_cents,
                ordered.unit_price_cents,
                tuple(problems),
            )
        )
    consistent = sum(line.net_cents for line in invoice.lines) == invoice.net_cents
    return MatchResult(
        po_found=order is not None,
        supplier_known=supplier_known,
        lines=tuple(rows),
        price_difference_cents=difference,
        totals_consistent=consistent,
    )


def _qty(value: Decimal) -> str:
    return format(value.normalize(), "f")


def match_summary(match: MatchResult, currency: str, lang: str, limit: int = 15) -> str:
    """One line per invoice line in `lang`: SKU, invoiced / received quantities, prices when
    they differ (Babel money), the problems (catalogue `pa.match.<problem>`)."""
    rows = []
    for line in match.lines[:limit]:
        mark = "✓" if line.matched else "✗"
        row = f"{mark} {line.sku or '?'}: {line.invoiced} / {line.received or '-'}"
        if "price" in line.problems and line.ordered_price_cents is not None:
            invoiced = fmt_money(line.invoiced_price_cents, currency, lang)
            row += f" · {invoiced} ≠ {fmt_money(line.ordered_price_cents, currency, lang)}"
        if line.problems:
            row += f" ({', '.join(text(lang, f'pa.match.{problem}') for problem in line.problems)})"
        rows.append(row)
    if len(match.lines) > limit:
        rows.append(f"… +{len(match.lines) - limit}")
    return "\n".join(rows)


def po_id_of(text: str) -> int | None:
    """`PO7` (or `7`) -> 7."""
    found = re.fullmatch(r"\s*(?:PO)?\s*(\d{1,9})\s*", text or "", flags=re.IGNORECASE)
    return int(found.group(1)) if found else None


async def _supplier(parsed: IncomingInvoice) -> Contact | None:
    siren = parsed.seller_siren[:9]
    query = Q(id=-1)
    if siren:
        query |= Q(siren__startswith=siren)
    if parsed.seller_vat:
        query |= Q(vat_number=parsed.seller_vat)
    return await Contact.filter(query).order_by("id").first()


async def _order_lines(po: PurchaseOrder) -> list[OrderLine]:
    lines = await PurchaseOrderLine.filter(order_id=po.id)
    skus = {p.id: p.sku for p in await Product.filter(id__in=[ln.product_id for ln in lines])}
    billed: dict[str, Decimal] = {}
    earlier = await SupplierInvoice.filter(
        purchase_order_id=po.id, status__in=[SupplierInvoiceStatus.APPROVED, SupplierInvoiceStatus.RECEIVED]
    )
    for si in earlier:
        for row in si.lines:
            billed[row["sku"]] = billed.get(row["sku"], Decimal(0)) + Decimal(row["quantity"])
    return [
        OrderLine(
            sku=skus[ln.product_id],
            ordered=Decimal(ln.quantity),
            received=Decimal(ln.received_quantity),
            unit_price_cents=ln.unit_price_cents,
            already_invoiced=billed.get(skus[ln.product_id], Decimal(0)),
        )
        for ln in lines
    ]


def _status_params(si: SupplierInvoice, reason_code: str = "", reason: str = "") -> dict[str, Any]:
    return {
        "number": si.number,
        "type_code": si.type_code,
        "issue_date": si.issue_date.isoformat(),
        "counterpart_siren": si.seller_siren[:9],
        "reason_code": reason_code,
        "reason": reason,
        "supplier_invoice": si.id,
    }


def _actions(si_id: int) -> list[AlertAction]:
    return [
        AlertAction(ActionKind.APPROVE_SUPPLIER_INVOICE, si_id),
        AlertAction(ActionKind.DISPUTE_SUPPLIER_INVOICE, si_id),
        AlertAction(ActionKind.REFUSE_SUPPLIER_INVOICE, si_id),
    ]


async def receive_supplier_invoice(
    parsed: IncomingInvoice, flow_id: str, now: datetime, *, auto_approve: bool = False
) -> SupplierInvoice | None:
    """Store a supplier invoice once per flow, match it, tell purchasing (or approve it when
    fully matched and the setting allows). None when this flow was already received."""
    async with in_transaction():
        if await SupplierInvoice.filter(flow_id=flow_id).exists():
            return None
        supplier = await _supplier(parsed)
        po_id = po_id_of(parsed.po_number)
        po = None
        if po_id is not None and supplier is not None:
            po = await PurchaseOrder.get_or_none(
                id=po_id,
                supplier_id=supplier.id,
                status__in=[POStatus.SENT, POStatus.PARTIAL, POStatus.RECEIVED],
            )
        order = await _order_lines(po) if po is not None else None
        match = three_way_match(parsed, order, supplier_known=supplier is not None)
        auto = auto_approve and match.fully_matched
        si = await SupplierInvoice.create(
            flow_id=flow_id,
            syntax=parsed.syntax,
            supplier=supplier,
            seller_name=parsed.seller_name,
            seller_siren=parsed.seller_siren,
            seller_vat=parsed.seller_vat,
            number=parsed.number,
            type_code=parsed.type_code,
            issue_date=parsed.issue_date,
            due_date=parsed.due_date,
            currency=parsed.currency,
            total_net_cents=parsed.net_cents,
            total_vat_cents=parsed.vat_cents,
            total_gross_cents=parsed.gross_cents,
            po_number=parsed.po_number,
            purchase_order=po,
            lines=[
                {
                    "sku": ln.sku,
                    "description": ln.description,
                    "quantity": str(ln.quantity),
                    "unit_price_cents": ln.unit_price_cents,
                    "net_cents": ln.net_cents,
                }
                for ln in parsed.lines
            ],
            match=match.as_json(),
            fully_matched=match.fully_matched,
            status=SupplierInvoiceStatus.APPROVED if auto else SupplierInvoiceStatus.RECEIVED,
            decided_at=now if auto else None,
        )
        params = {
            "id": si.id,
            "number": si.number,
            "supplier": si.seller_name,
            "gross_cents": si.total_gross_cents,
            "currency": si.currency,
            "po": parsed.po_number,
            "matched": match.lines_matched,
            "lines": len(match.lines),
            "price_difference_cents": match.price_difference_cents,
            "fully_matched": match.fully_matched,
            "detail_en": match_summary(match, si.currency, "en"),  # said in the reader's language
            "detail_fr": match_summary(match, si.currency, "fr"),
        }
        if auto:
            await queue_status(
                Lifecycle.APPROVED,
                f"supplier:{si.id}:approve",
                supplier_invoice_id=si.id,
                params=_status_params(si),
            )
            await alert_role((Role.PURCHASING,), "supplier_invoice_approved", f"si-auto:{si.id}", params)
        else:
            await alert_role((Role.PURCHASING,), "supplier_invoice", f"si:{si.id}", params, _actions(si.id))
    return si


class Decision(StrEnum):
    APPROVE = "approve"
    DISPUTE = "dispute"
    REFUSE = "refuse"


_DECIDED = {
    Decision.APPROVE: (SupplierInvoiceStatus.APPROVED, Lifecycle.APPROVED),
    Decision.DISPUTE: (SupplierInvoiceStatus.DISPUTED, Lifecycle.DISPUTED),
    Decision.REFUSE: (SupplierInvoiceStatus.REFUSED, Lifecycle.REFUSED),
}


async def decide_supplier_invoice(
    actor: User, si_id: int, decision: Decision, now: datetime, *, reason_code: str = "", reason: str = ""
) -> SupplierInvoice:
    """Purchasing approves, disputes (reason code and words) or refuses (reason code) a
    supplier invoice; the matching CDAR status is queued for the PA in the same transaction."""
    if actor.role not in DECIDERS:
        raise Forbidden("si_role")
    reason = " ".join((reason or "").split())[:500]
    reason_code = (reason_code or "").strip().upper()
    if decision != Decision.APPROVE and reason_code not in REFUSAL_CODES:
        raise InvalidInput("si_reason_code", codes=", ".join(REFUSAL_CODES))
    if decision == Decision.DISPUTE and not reason:
        raise InvalidInput("si_reason")
    status, code = _DECIDED[decision]
    async with in_transaction():
        si = await SupplierInvoice.get_or_none(id=si_id)
        if si is None:
            raise NotFound("si_missing", id=si_id)
        allowed = [SupplierInvoiceStatus.RECEIVED, SupplierInvoiceStatus.DISPUTED]
        moved = await SupplierInvoice.filter(id=si_id, status__in=allowed).update(
            status=status,
            reason_code=reason_code or None,
            reason=reason or None,
            decided_by_id=actor.id,
            decided_at=now,
        )
        if not moved:
            raise Conflict("si_decided", number=si.number)
        rounds = await audit_count(si_id)
        await queue_status(
            code,
            f"supplier:{si.id}:{decision.value}:{rounds}",
            supplier_invoice_id=si.id,
            params=_status_params(si, reason_code, reason),
        )
        await audit.record(
            actor,
            "supplier_invoice",
            si.id,
            decision.value,
            {"status": si.status.value},
            {"status": status.value, "reason_code": reason_code},
        )
        si = await SupplierInvoice.get(id=si_id)
    return si


async def audit_count(si_id: int) -> int:
    from storage.models import AuditLog

    return await AuditLog.filter(entity="supplier_invoice", entity_id=str(si_id)).count()


@dataclass(frozen=True)
class DueRow:
    supplier: str
    number: str
    due_date: date | None
    gross_cents: int
    currency: str
    overdue: bool


async def due_to_suppliers(today: date, limit: int = 200) -> list[DueRow]:
    """Approved supplier invoices by due date (for the purchases report and the digest)."""
    rows = (
        await SupplierInvoice.filter(status=SupplierInvoiceStatus.APPROVED)
        .order_by("due_date", "id")
        .limit(limit)
    )
    return [
        DueRow(
            r.seller_name,
            r.number,
            r.due_date,
            r.total_gross_cents,
            r.currency,
            r.due_date is not None and r.due_date < today,
        )
        for r in rows
    ]
