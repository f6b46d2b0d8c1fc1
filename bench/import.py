"""Benchmark: 100,000 contacts imported with duplicate detection; 100,000 deals to XLSX.

    .venv/bin/python -m bench.import [--rows 100000] [--quick]

References printed in the same run: the raw parse of the file alone (`read_file`), the same
rows inserted by raw SQL (`executemany`, no checks), and the same deals written by openpyxl
alone (write-only workbook, values as read by raw SQL).

Targets (one core): import <= 30 s, export <= 15 s. Uses a throwaway SQLite file (WAL).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from tortoise import Tortoise

from bench import machine
from storage.db import tortoise_config
from storage.exporting import sheets, write_xlsx
from storage.importing import read_file, run_import
from storage.models import Contact, Deal, Role, Stage
from storage.pipeline import seed_stages
from storage.users import create_user


def contacts_csv(rows: int) -> bytes:
    """A French Excel export: cp1252, `;`, one row in 20 repeating an earlier phone."""
    lines = ["Nom;Prénom;Société;Téléphone;E-mail"]
    for i in range(rows):
        phone = i - 7 if i % 20 == 19 else i
        lines.append(f"Durand{i};Élodie;Société {i % 500};06 {phone:08d};e{i}@exemple.fr")
    return "\r\n".join(lines).encode("cp1252")


async def raw_insert(table: list[tuple[int, list[object]]]) -> float:
    """Reference: the parsed rows inserted as they are by raw SQL (no checks, no merge)."""
    conn = Tortoise.get_connection("default")
    started = time.perf_counter()
    await conn.execute_script("CREATE TABLE raw_contacts (name TEXT, company TEXT, phone TEXT, email TEXT)")
    await conn.execute_many(
        "INSERT INTO raw_contacts VALUES (?, ?, ?, ?)",
        [[f"{v[1]} {v[0]}", v[2], v[3], v[4]] for _, v in table],
    )
    return time.perf_counter() - started


async def raw_export() -> float:
    """Reference: the deals read by raw SQL and written by openpyxl alone (write-only)."""
    conn = Tortoise.get_connection("default")
    started = time.perf_counter()
    _, rows = await conn.execute_query(
        "SELECT d.id, d.title, c.name, d.amount_cents, d.currency, s.name, d.created_at "
        "FROM deals d JOIN contacts c ON c.id = d.contact_id JOIN stages s ON s.id = d.stage_id"
    )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("deals")
    for row in rows:
        sheet.append([f"D{row[0]}", row[1], row[2], row[3] / 100, row[4], row[5], row[6]])
    book.save(io.BytesIO())
    return time.perf_counter() - started


async def main(rows: int) -> int:
    print(machine())
    folder = Path(tempfile.mkdtemp(prefix="entonnoir-bench-"))
    await Tortoise.init(config=tortoise_config(f"sqlite://{folder}/bench.db"))
    await Tortoise.generate_schemas()
    await seed_stages()
    boss = await create_user("boss", Role.MANAGER)
    # 5,000 contacts already known (a twentieth of the rows at smaller sizes): rows carrying
    # their phone are merged, not doubled.
    known = min(5000, rows // 20)
    await Contact.bulk_create(
        [Contact(name=f"Known {i}", phone=f"+336{i * 17:08d}", owner=boss) for i in range(known)],
        batch_size=1000,
    )
    data = contacts_csv(rows)
    start, cpu = time.perf_counter(), time.process_time()
    table = read_file(data, "contacts.csv")
    took_parse = time.perf_counter() - start
    report = await run_import(boss, "contacts", table, today=date.today(), write=True)
    took_import = time.perf_counter() - start
    cpu_import = time.process_time() - cpu
    total = await Contact.all().count()
    print(
        f"import: {rows} rows ({len(data) / 1e6:.1f} MB) in {took_import:.1f} s "
        f"(CPU {cpu_import:.1f} s): {report.new} new, {report.merged} merged, "
        f"{len(report.rejected)} rejected; {total} contacts in the database (target <= 30 s)"
    )
    took_raw = await raw_insert(table.rows)
    print(
        f"reference, same run: raw parse of the file {took_parse:.2f} s; the parsed rows "
        f"inserted by raw SQL {took_raw:.2f} s; together {took_parse + took_raw:.2f} s "
        f"(ratio {took_import / (took_parse + took_raw):.1f})"
    )

    stage = await Stage.filter(is_won=False).first()
    assert stage is not None
    ids = await Contact.all().limit(rows).values_list("id", flat=True)
    await Deal.bulk_create(
        [
            Deal(contact_id=cid, owner=boss, title=f"Affaire {n}", amount_cents=100_000 + n, stage=stage)
            for n, cid in enumerate(ids * (rows // max(len(ids), 1) + 1))
        ][:rows],
        batch_size=1000,
    )
    start, cpu = time.perf_counter(), time.process_time()
    out = io.BytesIO()
    write_xlsx(await sheets(boss, "deals", "fr"), out)
    took_export = time.perf_counter() - start
    cpu_export = time.process_time() - cpu
    print(
        f"export: {await Deal.all().count()} deals to XLSX ({len(out.getvalue()) / 1e6:.1f} MB)"
        f" in {took_export:.1f} s (CPU {cpu_export:.1f} s) (target <= 15 s)"
    )
    took_raw = await raw_export()
    print(
        f"reference, same run: raw SQL + openpyxl write-only {took_raw:.1f} s "
        f"(ratio {took_export / took_raw:.1f})"
    )
    await Tortoise.close_connections()
    return 0 if took_import <= 30 and took_export <= 15 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="2,000 rows")
    arguments = parser.parse_args()
    asyncio.run(main(2_000 if arguments.quick else arguments.rows))
