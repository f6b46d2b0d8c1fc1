"""`entonnoir invoices export DIR [--year YYYY]`: the issued PDFs, byte for byte.

Writes each issued invoice and credit note as `<number>.pdf` — the bytes frozen at issue,
the very ones the client received — and a `SHA256SUMS` file (`sha256sum -c` checks it).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.cli import cli_text
from bot.seller import renderer_from_settings
from bot.settings import Settings
from storage.db import close_db, init_db
from storage.documents import Render, frozen_pdf, issued_numbers, sha256_hex

__all__ = ["export_pdfs", "register"]


async def export_pdfs(folder: Path, render: Render, year: int | None = None) -> int:
    """Write the frozen PDFs and their SHA256SUMS into `folder`; how many were written."""
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    sums = []
    for invoice_id, number in await issued_numbers(year):
        pdf = await frozen_pdf(invoice_id, render)
        await asyncio.to_thread((folder / f"{number}.pdf").write_bytes, pdf)
        sums.append(f"{sha256_hex(pdf)}  {number}.pdf\n")
    await asyncio.to_thread((folder / "SHA256SUMS").write_text, "".join(sums), "utf-8")
    return len(sums)


async def cmd_export_pdfs(args: argparse.Namespace, settings: Settings) -> int:
    """`entonnoir invoices export DIR [--year YYYY]`."""
    await init_db(settings.database_url)
    try:
        count = await export_pdfs(Path(args.dir), renderer_from_settings(settings), args.year)
    finally:
        await close_db()
    print(cli_text("documents_written", count=count, dir=str(args.dir)))
    return 0


def register(sub: Any) -> None:
    inv = sub.add_parser("invoices", help="issued invoices and credit notes")
    what = inv.add_subparsers(dest="invoices_command", required=True)
    exp = what.add_parser("export", help="write the issued PDFs (as frozen) and SHA256SUMS")
    exp.add_argument("dir")
    exp.add_argument("--year", type=int, default=None, help="only this year's numbers")
    exp.set_defaults(func=cmd_export_pdfs)
