"""The import use-case: check every row (dry run), or write the whole file at once.

`run_import` plans the file (`storage.importing.planning`); with `write`, it plans again
inside ONE transaction and writes the plan: new records in bulk, known ones updated, one
audit row. Without `only_valid`, any rejected row writes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from storage import audit
from storage.access import sees_everything
from storage.contacts import make_search_key
from storage.errors import Forbidden, InvalidInput, UserError
from storage.importing.cells import Table
from storage.importing.fields import KINDS
from storage.importing.mapping import guess_mapping, row_values
from storage.importing.planning import (
    PRODUCT_FIELDS,
    ContactsPlan,
    DealsPlan,
    PlannedContact,
    Planner,
    ProductsPlan,
)
from storage.models import Contact, ContactKind, Deal, Product, StageChange, User

__all__ = ["CHUNK", "ImportReport", "Progress", "Rejection", "run_import"]

CHUNK = 1000
Progress = Callable[[int, int], Any]  # (done, total): a plain function or a coroutine one
_NEEDED = {
    "contacts": {"name", "first_name", "last_name", "company", "phone", "email"},
    "deals": {"contact", "contact_email", "company"},
    "products": {"sku"},
}


@dataclass(frozen=True)
class Rejection:
    """A row that cannot be imported: its number and the reason (an `error.<code>`)."""

    row: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    """What an import did (or would do): rows new, merged, rejected; written or not."""

    kind: str
    new: int = 0
    merged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    written: bool = False

    @property
    def total(self) -> int:
        return self.new + self.merged + len(self.rejected)


async def _call(progress: Progress, done: int, total: int) -> None:
    result = progress(done, total)
    if hasattr(result, "__await__"):
        await result


async def run_import(
    actor: User,
    kind: str,
    table: Table,
    mapping: list[str | None] | None = None,
    *,
    region: str = "FR",
    currency: str = "EUR",
    today: date,
    write: bool = False,
    only_valid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row (dry run) or write the whole file in one transaction.

    With `write` and without `only_valid`, any rejected row raises `import_rejected` and
    nothing is written; with `only_valid`, rejected rows are skipped.
    """
    if kind not in KINDS:
        raise InvalidInput("import_kind", value=kind)
    if not sees_everything(actor):
        raise Forbidden("import_managers")
    mapping = mapping if mapping is not None else guess_mapping(kind, table.headers)
    if not _NEEDED[kind] & set(filter(None, mapping)):
        raise InvalidInput("import_no_header")
    rows = len(table.rows)

    async def planning(done: int, _: int) -> None:
        if progress is not None:
            await _call(progress, done, 2 * rows)

    async def writing(done: int, of: int) -> None:
        if progress is not None:
            await _call(progress, rows + done * rows // max(of, 1), 2 * rows)

    def planner() -> Planner:
        if kind == "contacts":
            return ContactsPlan(actor, region)
        if kind == "deals":
            return DealsPlan(actor, currency, today)
        return ProductsPlan(currency)

    if not write:
        return await _plan(planner(), kind, table, mapping, planning)
    async with in_transaction():
        plan = planner()
        report = await _plan(plan, kind, table, mapping, planning)
        if report.rejected and not only_valid:
            rows_text = ", ".join(str(r.row) for r in report.rejected[:20])
            raise InvalidInput("import_rejected", count=len(report.rejected), rows=rows_text)
        await _write(plan, writing)
        await audit.record(
            actor,
            "import",
            kind,
            "import",
            None,
            {"new": report.new, "merged": report.merged, "skipped": len(report.rejected)},
        )
        report.written = True
    await writing(1, 1)
    return report


async def _plan(
    plan: Planner,
    kind: str,
    table: Table,
    mapping: list[str | None],
    progress: Callable[[int, int], Awaitable[None]],
) -> ImportReport:
    """Plan every row of the table; a row refused becomes a rejection."""
    report = ImportReport(kind)
    await plan.load()
    total = len(table.rows)
    for done, (number, row) in enumerate(table.rows, start=1):
        values = row_values(row, mapping)
        try:
            if isinstance(plan, DealsPlan):
                merged = await plan.plan(number, values)
            else:
                merged = plan.plan(values)
        except UserError as exc:
            report.rejected.append(Rejection(number, exc.code, dict(exc.params)))
            continue
        if merged:
            report.merged += 1
        else:
            report.new += 1
        if done % 5000 == 0:
            await progress(done, total)
    return report


async def _write(plan: Planner, progress: Callable[[int, int], Awaitable[None]]) -> None:
    if isinstance(plan, ContactsPlan):
        await write_contacts(plan, progress)
    elif isinstance(plan, DealsPlan):
        await write_deals(plan, progress)
    else:
        await write_products(plan)


async def write_contacts(plan: ContactsPlan, progress: Callable[[int, int], Awaitable[None]]) -> None:
    """New companies first (people point at them), then new people in chunks, then the
    known contacts this import completed."""
    await _create(plan, [c for c in plan.new if c.kind == ContactKind.COMPANY], {})
    for cid, name in await Contact.filter(kind=ContactKind.COMPANY).values_list("id", "name"):
        known = plan.companies.get(name.lower())
        if known is not None and known.id is None:
            known.id = cid
    names = {c.id: c.name for c in plan.companies.values() if c.id is not None}
    for c in plan.new + plan.changed():
        if c.company is not None:
            c.company_id = plan.companies[c.company.lower()].id
    people = [c for c in plan.new if c.kind == ContactKind.PERSON]
    for start in range(0, len(people), CHUNK):
        await _create(plan, people[start : start + CHUNK], names)
        await progress(min(len(people), start + CHUNK), len(people))
    updates = [
        Contact(
            id=c.id,
            phone=c.phone,
            email=c.email,
            extra_phones=c.extra_phones,
            extra_emails=c.extra_emails,
            company_id=c.company_id,
            search_key=_search_key(c, names),
        )
        for c in plan.changed()
    ]
    for start in range(0, len(updates), CHUNK):
        await Contact.bulk_update(
            updates[start : start + CHUNK],
            fields=["phone", "email", "extra_phones", "extra_emails", "company_id", "search_key"],
        )


def _search_key(c: PlannedContact, names: dict[int, str]) -> str:
    return make_search_key(c.name, names.get(c.company_id or 0), c.phone, c.email)


async def _create(plan: ContactsPlan, items: list[PlannedContact], names: dict[int, str]) -> None:
    """Insert planned contacts in one bulk statement."""
    contacts = [
        Contact(
            kind=c.kind,
            name=c.name,
            phone=c.phone,
            email=c.email,
            extra_phones=c.extra_phones,
            extra_emails=c.extra_emails,
            company_id=c.company_id,
            owner_id=c.owner_id or plan.actor.id,
            shared=c.shared,
            search_key=_search_key(c, names),
        )
        for c in items
    ]
    if contacts:
        await Contact.bulk_create(contacts, batch_size=CHUNK)


async def write_deals(plan: DealsPlan, progress: Callable[[int, int], Awaitable[None]]) -> None:
    """Each planned deal saved, with a stage change when its stage moved."""
    now = datetime.now(UTC)
    for done, row in enumerate(plan.planned, start=1):
        deal = row.existing
        from_stage = deal.stage_id if deal is not None else None
        if deal is None:
            deal = Deal(contact_id=row.contact_id, title=row.title)
        deal.amount_cents, deal.currency = row.amount_cents, row.currency
        deal.owner_id, deal.stage_id = row.owner_id, row.stage.id
        deal.expected_close = row.expected_close or deal.expected_close
        if from_stage != row.stage.id:
            deal.won_at = now if row.stage.is_won else None
            deal.lost_reason = "import" if row.stage.is_lost else None
        await deal.save()
        if from_stage != row.stage.id:
            await StageChange.create(
                deal=deal, user=plan.actor, from_stage_id=from_stage, to_stage_id=row.stage.id, at=now
            )
        if done % CHUNK == 0:
            await progress(done, len(plan.planned))


async def write_products(plan: ProductsPlan) -> None:
    """New products in bulk; changed ones saved."""
    await Product.bulk_create(list(plan.new.values()), batch_size=CHUNK)
    for product in plan.changed.values():
        await product.save(update_fields=list(PRODUCT_FIELDS))
