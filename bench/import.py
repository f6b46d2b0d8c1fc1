"""Benchmark: 100,000 contacts imported with duplicate detection; 100,000 deals to XLSX.

    .venv/bin/python bench/import.py [--rows 100000]

Targets (one core): import <= 30 s, export <= 15 s. Uses a throwaway SQLite file (WAL).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tortoise import Tortoise

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


async def main(rows: int) -> int:
    folder = Path(tempfile.mkdtemp(prefix="entonnoir-bench-"))
    await Tortoise.init(config=tortoise_config(f"sqlite://{folder}/bench.db"))
    await Tortoise.generate_schemas()
    await seed_stages()
    boss = await create_user("boss", Role.MANAGER)
    # 5,000 contacts already known: rows carrying their phone are merged, not doubled.
    await Contact.bulk_create(
        [Contact(name=f"Known {i}", phone=f"+336{i * 17:08d}", owner=boss) for i in range(5000)],
        batch_size=1000,
    )
    data = contacts_csv(rows)
    start, cpu = time.perf_counter(), time.process_time()
    table = read_file(data, "contacts.csv")
    report = await run_import(boss, "contacts", table, today=date.today(), write=True)
    took_import = time.perf_counter() - start
    cpu_import = time.process_time() - cpu
    total = await Contact.all().count()
    print(f"import: {rows} rows ({len(data) / 1e6:.1f} MB) in {took_import:.1f} s "
          f"(CPU {cpu_import:.1f} s): {report.new} new, {report.merged} merged, "
          f"{len(report.rejected)} rejected; {total} contacts in the database (target <= 30 s)")

    stage = await Stage.filter(is_won=False).first()
    assert stage is not None
    ids = await Contact.all().limit(rows).values_list("id", flat=True)
    await Deal.bulk_create(
        [Deal(contact_id=cid, owner=boss, title=f"Affaire {n}", amount_cents=100_000 + n,
              stage=stage) for n, cid in enumerate(ids * (rows // max(len(ids), 1) + 1))][:rows],
        batch_size=1000,
    )
    start, cpu = time.perf_counter(), time.process_time()
    out = io.BytesIO()
    write_xlsx(await sheets(boss, "deals", "fr"), out)
    took_export = time.perf_counter() - start
    cpu_export = time.process_time() - cpu
    print(f"export: {await Deal.all().count()} deals to XLSX ({len(out.getvalue()) / 1e6:.1f} MB)"
          f" in {took_export:.1f} s (CPU {cpu_export:.1f} s) (target <= 15 s)")
    await Tortoise.close_connections()
    return 0 if took_import <= 30 and took_export <= 15 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    sys.exit(asyncio.run(main(parser.parse_args().rows)))
