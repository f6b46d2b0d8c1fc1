"""The manager overview: funnel, forecast, receivables aging, expected cash, purchases
pending; the rows behind the XLSX reports; the morning digest; task reminders.

Everything takes `today`/`now` (and day bounds in the company time zone) as arguments.
Amounts are cents in the default currency (other currencies are left out of the charts).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from storage.access import sees_everything
from storage.alerts import ActionKind, AlertAction, alert_user
from storage.collections import OPEN_INVOICE
from storage.errors import Forbidden, InvalidInput
from storage.models import (
    AppSetting,
    Deal,
    Invoice,
    InvoiceKind,
    Payment,
    PaymentDirection,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    Refund,
    RefundStatus,
    Role,
    Stage,
    StageChange,
    Task,
    User,
)
from storage.pipeline import weighted_cents

__all__ = [
    "AGING_BUCKETS",
    "Digest",
    "FunnelRow",
    "aging",
    "aging_bucket",
    "cash_by_week",
    "digest_for",
    "forecast_by_month",
    "funnel",
    "parse_period",
    "purchases_pending",
    "queue_digests",
    "report_rows",
    "task_reminders",
]

AGING_BUCKETS = ("not due", "1-30", "31-60", "61-90", ">90")
LAST_DIGEST = "last_digest_at"


def _manager(actor: User) -> None:
    if not sees_everything(actor):
        raise Forbidden("manager_only")


def aging_bucket(due_date: date | None, today: date) -> str:
    """The receivables bucket of an invoice on `today`."""
    late = (today - due_date).days if due_date else 0
    if late <= 0:
        return AGING_BUCKETS[0]
    if late <= 30:
        return AGING_BUCKETS[1]
    if late <= 60:
        return AGING_BUCKETS[2]
    if late <= 90:
        return AGING_BUCKETS[3]
    return AGING_BUCKETS[4]


def parse_period(text: str, today: date) -> tuple[date, date]:
    """`2026-11` (a month), `2026` (a year), `30d` (the last N days); default: this month.

    Returns [start, end) dates.
    """
    raw = (text or "").strip().lower()
    try:
        if not raw:
            start = today.replace(day=1)
        elif raw.endswith(("d", "j")) and raw[:-1].isdigit() and 0 < int(raw[:-1]) <= 3660:
            return today - timedelta(days=int(raw[:-1]) - 1), today + timedelta(days=1)
        elif len(raw) == 4 and raw.isdigit():
            return date(int(raw), 1, 1), date(int(raw) + 1, 1, 1)
        elif len(raw) == 7 and raw[4] == "-":
            start = date(int(raw[:4]), int(raw[5:]), 1)
        else:
            raise ValueError(raw)
    except ValueError as exc:
        raise InvalidInput("period", value=text) from exc
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, end


@dataclass(frozen=True)
class FunnelRow:
    stage: str
    count: int
    value_cents: int
    reached: int
    conversion_pct: Decimal | None  # share of deals reaching this stage that reach the next
    is_lost: bool = False  # a lost stage is outside the funnel (its deals left it)
    labels: dict[str, str] = field(default_factory=dict)  # the stage's name per language


async def funnel(actor: User, currency: str) -> list[FunnelRow]:
    """Deals per stage now (count, value) and stage-to-stage conversion from the history."""
    _manager(actor)
    stage_list = [s for s in await Stage.all().order_by("position")]
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in await Deal.filter(currency=currency).values("stage_id", "amount_cents"):
        counts[row["stage_id"]][0] += 1
        counts[row["stage_id"]][1] += row["amount_cents"]
    position = {s.id: s.position for s in stage_list}
    best: dict[int, int] = {}
    lost_ids = {s.id for s in stage_list if s.is_lost}
    for change in await StageChange.all().values("deal_id", "to_stage_id"):
        if change["to_stage_id"] in lost_ids:
            continue
        pos = position.get(change["to_stage_id"], -1)
        best[change["deal_id"]] = max(best.get(change["deal_id"], -1), pos)
    open_or_won = [s for s in stage_list if not s.is_lost]
    reached = [sum(1 for p in best.values() if p >= s.position) for s in open_or_won]
    rows = []
    for i, s in enumerate(stage_list):
        n, value = counts[s.id]
        conv = None
        if not s.is_lost and i + 1 < len(open_or_won):
            idx = open_or_won.index(s)
            if reached[idx]:
                conv = (Decimal(100) * reached[idx + 1] / reached[idx]).quantize(Decimal("0.1"))
        reach = reached[open_or_won.index(s)] if not s.is_lost else n
        rows.append(FunnelRow(s.name, n, value, reach, conv, s.is_lost, dict(s.labels or {})))
    return rows


async def forecast_by_month(actor: User, currency: str, today: date) -> list[tuple[str, int]]:
    """Weighted value of open deals by the month of their expected close (overdue → this month)."""
    _manager(actor)
    months: dict[str, int] = defaultdict(int)
    rows = await Deal.filter(currency=currency, stage__is_won=False, stage__is_lost=False).values(
        "amount_cents", "expected_close", "stage__probability"
    )
    for row in rows:
        when = row["expected_close"] or today
        when = max(when, today)
        months[f"{when:%Y-%m}"] += weighted_cents(row["amount_cents"], row["stage__probability"])
    return sorted(months.items())


async def _receivables(currency: str) -> list[dict[str, object]]:
    return list(
        await Invoice.filter(
            status__in=list(OPEN_INVOICE), currency=currency, kind=InvoiceKind.INVOICE
        ).values(
            "id",
            "number",
            "due_date",
            "total_gross_cents",
            "paid_cents",
            "contact__name",
            "owner__name",
            "issue_date",
        )
    )


async def aging(actor: User, currency: str, today: date) -> dict[str, int]:
    """Amounts still due per aging bucket."""
    _manager(actor)
    buckets = dict.fromkeys(AGING_BUCKETS, 0)
    for row in await _receivables(currency):
        due = int(row["total_gross_cents"]) - int(row["paid_cents"])  # type: ignore[call-overload]
        buckets[aging_bucket(row["due_date"], today)] += due  # type: ignore[arg-type]
    return buckets


async def cash_by_week(actor: User, currency: str, today: date, weeks: int = 8) -> list[tuple[date, int]]:
    """Money expected per week (Monday) from due dates; overdue counts in this week."""
    _manager(actor)
    monday = today - timedelta(days=today.weekday())
    slots = {monday + timedelta(weeks=i): 0 for i in range(weeks)}
    for row in await _receivables(currency):
        due_date: date = row["due_date"] or today  # type: ignore[assignment]
        week = max(due_date - timedelta(days=due_date.weekday()), monday)
        if week in slots:
            slots[week] += int(row["total_gross_cents"]) - int(row["paid_cents"])  # type: ignore[call-overload]
    return sorted(slots.items())


async def purchases_pending(actor: User) -> list[tuple[str, str, str, Decimal]]:
    """Open orders: (PO id, supplier, status, quantity still expected)."""
    if actor.role not in (Role.MANAGER, Role.ADMIN, Role.PURCHASING):
        raise Forbidden("manager_only")
    out: dict[int, tuple[str, str, str, Decimal]] = {}
    lines = await PurchaseOrderLine.filter(
        order__status__in=[POStatus.DRAFT, POStatus.SENT, POStatus.PARTIAL]
    ).values("order_id", "order__supplier__name", "order__status", "quantity", "received_quantity")
    for ln in lines:
        left = Decimal(str(ln["quantity"])) - Decimal(str(ln["received_quantity"]))
        prev = out.get(ln["order_id"])
        total = (prev[3] if prev else Decimal(0)) + left
        out[ln["order_id"]] = (
            f"PO{ln['order_id']}",
            ln["order__supplier__name"],
            str(ln["order__status"]),
            total,
        )
    return [out[k] for k in sorted(out)]


async def report_rows(
    actor: User, kind: str, today: date, period: str, currency: str, zone: str = "UTC"
) -> tuple[list[str], list[list[object]]]:
    """Header and rows of `/report sales|receivables|purchases [period]`; "Created" is the
    date in `zone` (the company's IANA zone), not the UTC date."""
    _manager(actor)
    tz = ZoneInfo(zone)
    start, end = parse_period(period, today)
    kind = (kind or "").strip().lower()
    if kind in ("sales", "ventes"):
        header = [
            "Deal",
            "Title",
            "Contact",
            "Owner",
            "Stage",
            "Amount",
            "Currency",
            "Expected close",
            "Created",
        ]
        deals = (
            await Deal.filter(created_at__gte=start, created_at__lt=end)
            .prefetch_related("contact", "owner", "stage")
            .order_by("id")
        )
        return header, [
            [
                f"D{d.id}",
                d.title,
                d.contact.name,
                d.owner.name,
                d.stage.name,
                Decimal(d.amount_cents) / 100,
                d.currency,
                d.expected_close,
                d.created_at.astimezone(tz).date(),
            ]
            for d in deals
        ]
    if kind in ("receivables", "creances", "créances"):
        header = [
            "Invoice",
            "Contact",
            "Owner",
            "Issued",
            "Due",
            "Total",
            "Paid",
            "Still due",
            "Days late",
            "Bucket",
        ]
        rows = []
        for r in sorted(await _receivables(currency), key=lambda r: str(r["due_date"])):
            due = r["due_date"]
            issued = r["issue_date"]
            if issued is not None and not (start <= issued < end) and period:  # type: ignore[operator]
                continue
            gross, paid = int(r["total_gross_cents"]), int(r["paid_cents"])  # type: ignore[call-overload]
            late = max((today - due).days, 0) if due else 0  # type: ignore[operator]
            rows.append(
                [
                    r["number"],
                    r["contact__name"],
                    r["owner__name"],
                    issued,
                    due,
                    Decimal(gross) / 100,
                    Decimal(paid) / 100,
                    Decimal(gross - paid) / 100,
                    late,
                    aging_bucket(due, today),  # type: ignore[arg-type]
                ]
            )
        return header, rows
    if kind in ("purchases", "achats"):
        header = ["Order", "Supplier", "Status", "SKU", "Ordered", "Received", "Created"]
        lines = (
            await PurchaseOrderLine.filter(order__created_at__gte=start, order__created_at__lt=end)
            .prefetch_related("order", "order__supplier", "product")
            .order_by("order_id", "id")
        )
        po_rows: list[list[object]] = [
            [
                f"PO{ln.order.id}",
                ln.order.supplier.name,
                ln.order.status.value,
                ln.product.sku,
                Decimal(str(ln.quantity)),
                Decimal(str(ln.received_quantity)),
                ln.order.created_at.astimezone(tz).date(),
            ]
            for ln in lines
        ]
        return header, po_rows + await _supplier_invoices_due(today)
    raise InvalidInput("report_kind", value=kind)


def _cell(text: str) -> str:
    """Outside text (from a supplier's invoice) never becomes a spreadsheet formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def _supplier_invoices_due(today: date) -> list[list[object]]:
    """Approved supplier invoices by due date, as a second block of the purchases report."""
    from storage.einvoicing.suppliers import due_to_suppliers

    due = await due_to_suppliers(today)
    if not due:
        return []
    block: list[list[object]] = [
        [],
        ["Supplier invoice", "Supplier", "Due", "Overdue", "Amount", "Currency", ""],
    ]
    block += [
        [
            _cell(r.number),
            _cell(r.supplier),
            r.due_date,
            "yes" if r.overdue else "",
            Decimal(r.gross_cents) / 100,
            r.currency,
            "",
        ]
        for r in due
    ]
    return block


# --- Digest and reminders ---------------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    overdue_count: int
    overdue_cents: int
    payments_count: int
    payments_cents: int
    won: int
    lost: int
    pos_pending: int
    tasks_today: int
    currency: str
    suppliers_due_count: int = 0  # approved supplier invoices due within a week (or overdue)
    suppliers_due_cents: int = 0
    refunds_count: int = 0  # money owed back to clients by credit notes, not yet paid
    refunds_cents: int = 0

    def params(self) -> dict[str, object]:
        return {
            "overdue_count": self.overdue_count,
            "overdue_cents": self.overdue_cents,
            "payments_count": self.payments_count,
            "payments_cents": self.payments_cents,
            "won": self.won,
            "lost": self.lost,
            "pos": self.pos_pending,
            "tasks": self.tasks_today,
            "currency": self.currency,
            "suppliers_count": self.suppliers_due_count,
            "suppliers_cents": self.suppliers_due_cents,
            "refunds_count": self.refunds_count,
            "refunds_cents": self.refunds_cents,
        }


async def digest_for(
    since: datetime, now: datetime, today: date, day_start: datetime, day_end: datetime, currency: str
) -> Digest:
    """What happened since the last digest and what is due today (the team's figures)."""
    overdue = await Invoice.filter(
        status__in=list(OPEN_INVOICE), due_date__lt=today, currency=currency, kind=InvoiceKind.INVOICE
    ).values("total_gross_cents", "paid_cents")
    payments = await Payment.filter(
        created_at__gte=since, created_at__lt=now, direction=PaymentDirection.CREDIT, currency=currency
    ).values_list("amount_cents", flat=True)
    moves = await StageChange.filter(at__gte=since, at__lt=now).values(
        "to_stage__is_won", "to_stage__is_lost"
    )
    return Digest(
        overdue_count=len(overdue),
        overdue_cents=sum(r["total_gross_cents"] - r["paid_cents"] for r in overdue),
        payments_count=len(payments),
        payments_cents=sum(int(p) for p in payments),  # type: ignore[call-overload]
        won=sum(1 for m in moves if m["to_stage__is_won"]),
        lost=sum(1 for m in moves if m["to_stage__is_lost"]),
        pos_pending=await PurchaseOrder.filter(
            status__in=[POStatus.DRAFT, POStatus.SENT, POStatus.PARTIAL]
        ).count(),
        tasks_today=await Task.filter(done=False, due_at__gte=day_start, due_at__lt=day_end).count(),
        currency=currency,
        **await _suppliers_due_soon(today, currency),
        **await _refunds_owed(currency),
    )


async def _refunds_owed(currency: str) -> dict[str, int]:
    owed = await Refund.filter(status=RefundStatus.OWED, currency=currency).values_list(
        "amount_cents", flat=True
    )
    return {"refunds_count": len(owed), "refunds_cents": sum(int(c) for c in owed)}  # type: ignore[call-overload]


async def _suppliers_due_soon(today: date, currency: str) -> dict[str, int]:
    from storage.einvoicing.suppliers import due_to_suppliers

    soon = [
        r
        for r in await due_to_suppliers(today)
        if r.currency == currency and (r.due_date is None or r.due_date <= today + timedelta(days=7))
    ]
    return {"suppliers_due_count": len(soon), "suppliers_due_cents": sum(r.gross_cents for r in soon)}


async def queue_digests(
    now: datetime, today: date, day_start: datetime, day_end: datetime, currency: str
) -> int:
    """One digest alert per manager per day; remembers when, for "since the last digest"."""
    setting = await AppSetting.get_or_none(key=LAST_DIGEST)
    since = datetime.fromisoformat(setting.value["at"]) if setting else now - timedelta(days=1)
    digest = await digest_for(since, now, today, day_start, day_end, currency)
    sent = 0
    async with in_transaction():
        for manager in await User.filter(role=Role.MANAGER, active=True):
            if await alert_user(manager, "digest", f"digest:{today.isoformat()}", digest.params()):
                sent += 1
        if sent or setting is None:
            await AppSetting.update_or_create(key=LAST_DIGEST, defaults={"value": {"at": now.isoformat()}})
    return sent


async def task_reminders(now: datetime, ahead: timedelta = timedelta(minutes=15)) -> int:
    """Alert each open task's assignee once when it falls due (within `ahead`)."""
    tasks = await Task.filter(done=False, reminded_at__isnull=True, due_at__lte=now + ahead)
    for task in tasks:
        async with in_transaction():
            await alert_user(
                task.assignee_id,
                "task_due",
                f"task_due:{task.id}",
                {
                    "id": task.id,
                    "text": task.text[:200],
                    "due": task.due_at.isoformat() if task.due_at else "",
                },
                [AlertAction(ActionKind.COMPLETE_TASK, task.id)],
            )
            task.reminded_at = now
            await task.save(update_fields=["reminded_at"])
    return len(tasks)
