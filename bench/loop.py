"""Benchmark: the overdue scan and the purchasing check at scale, on SQLite, one core.

1,000,000 invoices (50,000 overdue, most already followed by a collection task at the right
level; a few hundred newly overdue or crossing a level today) and 20,000 products (stock in
the default warehouse, reorder points, 2,000 reserved by won deals). Each use-case is timed
on its first run (doing the work) and on a steady-state run (nothing new: the hourly cost),
and printed as a ratio to the same detection queries written as raw SQL in the same run
(for the purchasing check: the four plain reads of what it needs — stock, reservations, open
order lines, products —, and its own two queries run raw; target <= 2x raw SQL).
Targets: overdue scan <= 2 s, purchasing check <= 2 s.

    .venv/bin/python -m bench.loop [--invoices 1000000] [--overdue 50000] [--products 20000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tortoise import Tortoise

from bench import machine
from storage.collections import DEFAULT_LEVELS, Company, scan_overdue
from storage.db import tortoise_config
from storage.pipeline import seed_stages
from storage.purchasing import _DRAFTS_SQL, _NEEDS_SQL, purchasing_check  # the check's own SQL
from storage.purchasing_seed import seed_warehouse

TODAY = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
COMPANY = Company(name="Entonnoir", email="f@entonnoir.example", iban="FR7630006000011234567890189")
FRESH = 200  # overdue invoices without a task yet
CROSSING = 200  # tasks reaching their next level today

RAW_OVERDUE = [
    # Overdue invoices without a task.
    """SELECT i.id FROM invoices i LEFT JOIN collection_tasks t ON t.invoice_id = i.id
       WHERE i.status IN ('issued','sent','partially_paid') AND i.due_date < ? AND t.id IS NULL""",
    # Open tasks whose invoice reached a level beyond the task's.
    """SELECT t.id FROM collection_tasks t JOIN invoices i ON i.id = t.invoice_id
       WHERE t.status = 'open' AND t.disputed = 0
         AND (t.promised_date IS NULL OR t.promised_date < ?)
         AND i.status IN ('issued','sent','partially_paid')
         AND ((t.level = 0 AND i.due_date <= ?) OR (t.level = 1 AND i.due_date <= ?)
           OR (t.level = 2 AND i.due_date <= ?) OR (t.level = 3 AND i.due_date <= ?))""",
    # Open tasks of invoices paid or cancelled meanwhile.
    """SELECT t.id FROM collection_tasks t JOIN invoices i ON i.id = t.invoice_id
       WHERE t.status = 'open' AND i.status IN ('paid','cancelled')""",
]
RAW_PURCHASING = [
    "SELECT product_id, SUM(on_hand) FROM stock_levels GROUP BY product_id",
    "SELECT product_id, SUM(quantity) FROM reservations WHERE released = 0 GROUP BY product_id",
    """SELECT l.product_id, l.quantity, l.received_quantity, o.status FROM purchase_order_lines l
       JOIN purchase_orders o ON o.id = l.order_id WHERE o.status IN ('draft','sent','partial')""",
    "SELECT id, sku, reorder_point, supplier_id FROM products WHERE active = 1",
]


def level_for(days_late: int) -> int:
    return sum(1 for d in DEFAULT_LEVELS if days_late >= d)


async def fill(n_invoices: int, n_overdue: int, n_products: int) -> None:
    conn = Tortoise.get_connection("default")
    ts = NOW.isoformat()
    await conn.execute_many(
        "INSERT INTO users (id, name, role, language, active, unreachable, created_at) "
        "VALUES (?, ?, ?, 'fr', 1, 0, ?)",
        [[1, "alice", "sales", ts], [2, "boss", "manager", ts], [3, "paula", "purchasing", ts]],
    )
    await conn.execute_many(
        "INSERT INTO contacts (id, kind, name, search_key, extra_phones, extra_emails, shared, "
        "invoice_language, created_at, updated_at, owner_id, email, billing_email) "
        "VALUES (?, 'company', ?, '', '[]', '[]', 0, 'fr', ?, ?, 1, ?, ?)",
        [[c, f"Client {c}", ts, ts, f"c{c}@x.example", f"c{c}@x.example"] for c in range(1, 1001)],
    )
    # Invoices: the last n_overdue are overdue (1..120 days late); the others paid or not due.
    batch: list[list[object]] = []
    first_overdue = n_invoices - n_overdue + 1
    for i in range(1, n_invoices + 1):
        if i >= first_overdue:
            k = i - first_overdue
            due = TODAY - timedelta(days=1 + k % 120)
            status = ("issued", "sent", "partially_paid")[k % 3]
        elif i % 2:
            due, status = TODAY - timedelta(days=1 + i % 700), "paid"
        else:
            due, status = TODAY + timedelta(days=i % 60), "issued"
        batch.append([i, f"F{i:07d}", status, due.isoformat(), 1 + i % 1000, ts, ts])
        if len(batch) == 50_000:
            await _invoices(conn, batch)
            batch = []
    if batch:
        await _invoices(conn, batch)
    # Collection tasks for the overdue ones, at their level; FRESH have none, CROSSING lag one.
    tasks = []
    for k in range(n_overdue - FRESH):
        i = first_overdue + k
        late = 1 + k % 120
        level = level_for(late)
        if k < CROSSING * 10 and k % 10 == 0 and late in DEFAULT_LEVELS:
            level -= 1
        tasks.append([k + 1, i, level, ts])
    await conn.execute_many(
        "INSERT INTO collection_tasks (id, invoice_id, assignee_id, status, level, disputed, "
        "opened_at) VALUES (?, ?, 1, 'open', ?, 0, ?)",
        tasks,
    )
    # Products, stock, 2,000 reserved by won deals, reorder points on a tenth.
    await conn.execute_many(
        "INSERT INTO products (id, sku, name, unit, unit_price_cents, currency, vat_rate_bp, "
        "reorder_point, lead_time_days, active, created_at, supplier_id) "
        "VALUES (?, ?, ?, 'unit', 100, 'EUR', 2000, ?, 7, 1, ?, ?)",
        [
            [p, f"SKU{p:05d}", f"Product {p}", "5" if p % 10 == 0 else "0", ts, 1 + p % 50]
            for p in range(1, n_products + 1)
        ],
    )
    await conn.execute_many(
        "INSERT INTO stock_levels (product_id, warehouse_id, on_hand) VALUES (?, 1, ?)",
        [[p, str(p % 13)] for p in range(1, n_products + 1)],
    )
    won = await conn.execute_query_dict("SELECT id FROM stages WHERE is_won = 1")
    await conn.execute_many(
        "INSERT INTO deals (id, title, amount_cents, currency, created_at, updated_at, "
        "contact_id, owner_id, stage_id) VALUES (?, 'Deal', 1000, 'EUR', ?, ?, ?, 1, ?)",
        [[d, ts, ts, 1 + d % 1000, won[0]["id"]] for d in range(1, 1001)],
    )
    await conn.execute_many(
        "INSERT INTO reservations (deal_id, product_id, warehouse_id, quantity, released, "
        "created_at) VALUES (?, ?, 1, ?, 0, ?)",
        [[1 + r % 1000, 1 + (r * 7) % n_products, str(1 + r % 9), ts] for r in range(2000)],
    )
    await conn.execute_script("ANALYZE")


async def _invoices(conn: object, rows: list[list[object]]) -> None:
    await conn.execute_many(  # type: ignore[attr-defined]
        "INSERT INTO invoices (id, kind, series, number, status, due_date, currency, language, "
        "payment_terms_days, total_net_cents, total_vat_cents, total_gross_cents, paid_cents, "
        "contact_id, owner_id, created_at, updated_at) VALUES (?, 'invoice', 'F', ?, ?, ?, 'EUR', "
        "'fr', 30, 10000, 2000, 12000, 0, ?, 1, ?, ?)",
        rows,
    )


async def raw(queries: list[str], params: list[list[object]]) -> float:
    conn = Tortoise.get_connection("default")
    started = time.perf_counter()
    for sql, values in zip(queries, params, strict=True):
        await conn.execute_query(sql, values)
    return time.perf_counter() - started


async def timed(coro: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = await coro  # type: ignore[misc]
    return time.perf_counter() - started, result


async def main(n_invoices: int, n_overdue: int, n_products: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="entonnoir-bench-"))
    await Tortoise.init(config=tortoise_config(f"sqlite://{folder}/bench.db"))
    await Tortoise.generate_schemas()
    await seed_stages()
    await seed_warehouse()
    started = time.perf_counter()
    await fill(n_invoices, n_overdue, n_products)
    print(machine())
    print(
        f"data: {n_invoices:,} invoices ({n_overdue:,} overdue), {n_products:,} products "
        f"— inserted in {time.perf_counter() - started:.1f} s"
    )

    thresholds = [(TODAY - timedelta(days=d)).isoformat() for d in DEFAULT_LEVELS]
    overdue_params: list[list[object]] = [[TODAY.isoformat()], [TODAY.isoformat(), *thresholds], []]
    first, result = await timed(scan_overdue(TODAY, NOW, COMPANY))
    print(f"overdue scan, first run:    {first:6.3f} s  ({result})")
    steady, result = await timed(scan_overdue(TODAY, NOW, COMPANY))
    raw_s = await raw(RAW_OVERDUE, overdue_params)
    print(
        f"overdue scan, steady state: {steady:6.3f} s  ({result}); raw SQL {raw_s:.3f} s "
        f"→ ratio {steady / raw_s:.2f}  [target <= 2 s: {'OK' if max(first, steady) <= 2 else 'MISSED'}]"
    )

    first, result = await timed(purchasing_check(NOW))
    print(f"purchasing check, first run:    {first:6.3f} s  ({str(result)[:70]})")
    steady, result = await timed(purchasing_check(NOW))
    raw_p = await raw(RAW_PURCHASING, [[], [], [], []])
    own = await raw([_NEEDS_SQL, _DRAFTS_SQL], [[], []])
    print(
        f"purchasing check, steady state: {steady:6.3f} s; raw SQL {raw_p:.3f} s "
        f"→ ratio {steady / raw_p:.2f} [target <= 2]; its own two queries run raw {own:.3f} s "
        f"→ ratio {steady / own:.2f}  [target <= 2 s: {'OK' if max(first, steady) <= 2 else 'MISSED'}]"
    )
    await Tortoise.close_connections()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="20,000 invoices, 2,000 products")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.overdue, args.products = 20_000, 1_000, 2_000
    asyncio.run(main(args.invoices, args.overdue, args.products))
