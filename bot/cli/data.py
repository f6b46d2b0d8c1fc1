"""`entonnoir import|export|backup|restore`: the team's data in and out, and snapshots."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cli import cli_text, read_bytes
from bot.settings import Settings
from storage.backup import backup, restore
from storage.db import close_db, init_db
from storage.errors import NotFound
from storage.exporting import TABLES, Sheet, sheets, write_csv, write_xlsx
from storage.importing import KINDS, ImportReport, read_file, run_import
from storage.models import Role, User
from storage.users import ensure_first_admin, find_user

__all__ = ["register"]


_drawn: dict[str, int] = {}


def _bar(done: int, total: int) -> None:
    """A progress bar on stderr (redrawn only when the percentage changes)."""
    width = 30
    filled = width * done // max(total, 1)
    percent = 100 * done // max(total, 1)
    if _drawn.get("percent") == percent:
        return
    _drawn["percent"] = percent
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:3d}%")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _actor(name: str | None) -> User:
    if name:
        return await find_user(name)
    await ensure_first_admin()
    user = await User.filter(role=Role.ADMIN, active=True).order_by("id").first()
    if user is None:
        raise NotFound("cli_no_admin")
    return user


def _print_report(report: ImportReport, *, dry_run: bool) -> None:
    counts = {"new": report.new, "merged": report.merged, "rejected": len(report.rejected)}
    print(cli_text("import_dry_run" if dry_run else "import_done", **counts))
    for r in report.rejected:
        print("  " + cli_text("import_row", row=r.row, reason=cli_text(f"error.{r.code}", **r.params)))


async def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a CSV/XLSX/vCard file: a dry run, or the whole file in one transaction."""
    path = Path(args.file)
    data = await asyncio.to_thread(read_bytes, path)
    table = read_file(data, path.name, settings.timezone)
    await init_db(settings.database_url)
    try:
        actor = await _actor(args.as_user)
        report = await run_import(
            actor,
            args.kind,
            table,
            region=settings.phone_region,
            currency=settings.default_currency,
            today=datetime.now(settings.zone).date(),
            write=not args.dry_run,
            only_valid=args.only_valid,
            progress=_bar if sys.stderr.isatty() or args.progress else None,
        )
    finally:
        await close_db()
    _print_report(report, dry_run=args.dry_run)
    return 0 if args.dry_run or report.written else 1


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write every table as XLSX (one workbook) or CSV (one file per table) into DIR."""
    await init_db(settings.database_url)
    try:
        items = await sheets(None, "all", args.lang, settings.timezone)
    finally:
        await close_db()
    for target in await asyncio.to_thread(_write_all, items, Path(args.dir), args.format):
        print(target)
    return 0


def _write_all(items: list[Sheet], folder: Path, fmt: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        target = folder / "entonnoir.xlsx"
        with target.open("wb") as out:
            write_xlsx(items, out)
        return [target]
    written = []
    for sheet in items:
        target = folder / f"{sheet.table}.csv"
        with target.open("wb") as out:
            write_csv(sheet, out)
        written.append(target)
    return written


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """A consistent snapshot of the database, safe while the bot runs."""
    out = await backup(settings.database_url, Path(args.file))
    print(cli_text("backup_written", path=str(out)))
    return 0


async def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Bring a snapshot back into an empty database."""
    await restore(settings.database_url, Path(args.file))
    print(cli_text("restored", path=str(args.file)))
    return 0


def register(sub: Any) -> None:
    imp = sub.add_parser("import", help="import contacts, deals or products from a file")
    imp.add_argument("kind", choices=KINDS)
    imp.add_argument("file", help="a .csv, .xlsx or .vcf file")
    imp.add_argument("--only-valid", action="store_true", help="skip rejected rows")
    imp.add_argument("--dry-run", action="store_true", help="check only, write nothing")
    imp.add_argument("--as", dest="as_user", help="acting user (default: the first admin)")
    imp.add_argument("--progress", action="store_true", help="progress bar even when piped")
    imp.set_defaults(func=cmd_import)
    exp = sub.add_parser("export", help=f"write every table ({', '.join(TABLES)}) into DIR")
    exp.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    exp.add_argument("--lang", choices=["en", "fr"], default="en", help="column headers")
    exp.add_argument("dir")
    exp.set_defaults(func=cmd_export)
    bak = sub.add_parser("backup", help="write a consistent snapshot of the database")
    bak.add_argument("file")
    bak.set_defaults(func=cmd_backup)
    res = sub.add_parser("restore", help="restore a snapshot into an empty database")
    res.add_argument("file")
    res.set_defaults(func=cmd_restore)
