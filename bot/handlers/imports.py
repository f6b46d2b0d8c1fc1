"""Import a CSV/XLSX/vCard document sent by a manager (dry run first), and /export."""

from __future__ import annotations

import asyncio
import io
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter
from telegram import InputFile, Message, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.ui import args_text, button, cb, clip, error_text, parse_cb, reply, send_list, tr
from storage.access import sees_everything
from storage.errors import Forbidden, InvalidInput
from storage.exporting import sheets, write_csv, write_xlsx, write_zip
from storage.import_limits import Budget
from storage.importing import (
    FIELDS,
    KINDS,
    MAX_BYTES,
    ImportReport,
    Table,
    apply_mapping_text,
    guess_kind,
    guess_mapping,
    read_file,
    run_import,
)

MAX_SHOWN = 15
_KIND_WORDS = {
    "contacts": "contacts",
    "deals": "deals",
    "affaires": "deals",
    "products": "products",
    "produits": "products",
}


# The file name's extension picks the reader; only these are accepted (aliases → canonical).
_EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "xlsm": "xlsx", "vcf": "vcf", "vcard": "vcf"}


def _folder(ctx: Ctx) -> Path:
    folder = ctx.settings.var_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pending(ctx: Ctx, token: str) -> dict[str, Any]:
    assert ctx.user_data is not None
    pending: dict[str, Any] | None = ctx.user_data.get("import")
    if not pending or pending.get("token") != token or not Path(pending["path"]).exists():
        raise InvalidInput("import_expired")
    return pending


async def _read(ctx: Ctx, data: bytes, name: str) -> Table:
    """Parse off the event loop, within the row, column and time bounds of the importer."""
    return await asyncio.to_thread(read_file, data, name, ctx.settings.timezone, Budget())


async def _run(ctx: Ctx, pending: dict[str, Any], **kw: Any) -> ImportReport:
    data = await asyncio.to_thread(Path(pending["path"]).read_bytes)
    table = await _read(ctx, data, pending["name"])
    return await run_import(
        ctx.actor,
        pending["kind"],
        table,
        pending["mapping"],
        region=ctx.settings.phone_region,
        currency=ctx.settings.default_currency,
        today=datetime.now(ctx.settings.zone).date(),
        **kw,
    )


async def on_document(update: Update, ctx: Ctx) -> None:
    """A file sent into the chat: check it, guess the columns, show the dry run."""
    message = update.effective_message
    assert message is not None and message.document is not None and ctx.user_data is not None
    if not sees_everything(ctx.actor):
        raise Forbidden("import_managers")
    document = message.document
    if (document.file_size or 0) > MAX_BYTES:
        raise InvalidInput("import_too_large", max_mb=MAX_BYTES // (1024 * 1024))
    name = document.file_name or "import.csv"
    ext = _EXTENSIONS.get(name.rsplit(".", 1)[-1].lower() if "." in name else "")
    if ext is None:
        raise InvalidInput("import_extension")
    data = bytes(await (await ctx.bot.get_file(document.file_id)).download_as_bytearray())
    table = await _read(ctx, data, name)
    words = (message.caption or "").lower().split()
    kind = next((_KIND_WORDS[w] for w in words if w in _KIND_WORDS), None)
    kind = kind or ("contacts" if table.file_type == "vcf" else guess_kind(table.headers))
    token = secrets.token_hex(6)
    path = _folder(ctx) / f"{token}.{ext}"  # never a piece of the user's file name
    await asyncio.to_thread(path.write_bytes, data)
    _forget(ctx)
    ctx.user_data["import"] = {
        "token": token,
        "path": str(path),
        "name": name,
        "kind": kind,
        "mapping": guess_mapping(kind, table.headers),
        "headers": table.headers,
        "rows": len(table.rows),
    }
    await _show_dry_run(update, ctx, ctx.user_data["import"])


async def _show_dry_run(update: Update, ctx: Ctx, pending: dict[str, Any]) -> None:
    report = await _run(ctx, pending)
    summary = "\n".join(
        [
            tr(
                ctx,
                "import.summary",
                kind=tr(ctx, f"import.kind.{pending['kind']}"),
                name=clip(pending["name"], 80),
                rows=pending["rows"],
                new=report.new,
                merged=report.merged,
                rejected=len(report.rejected),
            ),
            tr(ctx, "import.mapping"),
        ]
    )
    lines: list[str] = []
    for index, (header, field) in enumerate(zip(pending["headers"], pending["mapping"], strict=False)):
        lines.append(
            tr(
                ctx,
                "import.column",
                letter=get_column_letter(index + 1),
                header=clip(header, 60) or "—",
                field=field or tr(ctx, "import.ignored"),
            )
        )
    if report.rejected:
        lines.append(tr(ctx, "import.rejections"))
        for r in report.rejected[:MAX_SHOWN]:
            reason = error_text(ctx.lang, r.code, r.params)
            lines.append(tr(ctx, "import.rejection", row=r.row, reason=reason))
        if len(report.rejected) > MAX_SHOWN:
            lines.append(tr(ctx, "import.more", count=len(report.rejected) - MAX_SHOWN))
    token = pending["token"]
    actions = [
        [
            button(tr(ctx, "import.btn_confirm"), cb("imp", "ok", token)),
            button(tr(ctx, "import.btn_valid"), cb("imp", "valid", token)),
        ],
        [
            button(tr(ctx, "import.btn_mapping"), cb("imp", "map", token)),
            button(tr(ctx, "import.btn_cancel"), cb("imp", "no", token)),
        ],
    ]
    await send_list(update, ctx, summary, lines, extra=actions)


def _forget(ctx: Ctx) -> None:
    assert ctx.user_data is not None
    pending = ctx.user_data.pop("import", None)
    if pending:
        Path(pending["path"]).unlink(missing_ok=True)


async def on_button(update: Update, ctx: Ctx) -> None:
    """Confirm, only valid rows, change the mapping, or cancel a pending import."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    (token,) = parse_cb(query.data, "imp", 1)
    action = (query.data or "").split(":")[1]
    pending = _pending(ctx, token)
    if action == "no":
        _forget(ctx)
        await reply(update, ctx, tr(ctx, "import.cancelled"))
    elif action == "map":
        fields = ", ".join(FIELDS[pending["kind"]])
        await reply(update, ctx, tr(ctx, "import.ask_mapping", fields=fields))
        await start_form(update, ctx, MAPPING, token=token)
    elif action in ("ok", "valid"):
        await _apply(update, ctx, pending, only_valid=action == "valid")
    else:
        raise InvalidInput("callback")


async def _apply(update: Update, ctx: Ctx, pending: dict[str, Any], *, only_valid: bool) -> None:
    """Write the file; a long import shows one progress message, edited every 10 %."""
    status: list[Message] = []
    shown = {"percent": 0}

    async def progress(done: int, total: int) -> None:
        percent = 100 * done // max(total, 1)
        if percent - shown["percent"] < 10 or percent >= 100:
            return
        shown["percent"] = percent
        text = tr(ctx, "import.progress", percent=percent)
        if status:
            await status[0].edit_text(text, parse_mode=ParseMode.HTML)
        elif (sent := await reply(update, ctx, text)) is not None:
            status.append(sent)

    report = await _run(ctx, pending, write=True, only_valid=only_valid, progress=progress)
    _forget(ctx)
    text = tr(ctx, "import.done", new=report.new, merged=report.merged, skipped=len(report.rejected))
    if status:
        await status[0].edit_text(text, parse_mode=ParseMode.HTML)
    else:
        await reply(update, ctx, text)


async def _mapping_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    pending = _pending(ctx, values["token"])
    pending["mapping"] = apply_mapping_text(pending["kind"], pending["mapping"], values["mapping"])
    # The new dry run reads the whole file again: beside other updates, not before them.
    ctx.application.create_task(
        _show_dry_run(update, ctx, pending), update=update, name="imports:dry_run:non_blocking"
    )


def _check_mapping(ctx: Ctx, value: str) -> None:
    pending = (ctx.user_data or {}).get("import") or {}
    if not pending:
        raise InvalidInput("import_expired")
    apply_mapping_text(pending["kind"], pending["mapping"], value)


MAPPING = register_form(
    Form(
        "import_mapping", (Step("mapping", "import.ask_mapping_short", check=_check_mapping),), _mapping_done
    )
)


async def export(update: Update, ctx: Ctx) -> None:
    """`/export contacts|deals|products|invoices|payments|all [csv]`: a spreadsheet of what I may see."""
    words = args_text(ctx).lower().split()
    as_csv = "csv" in words
    which = next((_KIND_WORDS.get(w, w) for w in words if w not in ("csv", "xlsx")), "all")
    items = await sheets(ctx.actor, which, ctx.lang, ctx.settings.timezone)
    out = io.BytesIO()
    if as_csv and len(items) == 1:
        write_csv(items[0], out)
        name = f"{which}.csv"
    elif as_csv:
        write_zip(items, out)
        name = f"{which}.zip"
    else:
        await asyncio.to_thread(write_xlsx, items, out)
        name = f"{which}.xlsx"
    chat = update.effective_chat
    assert chat is not None
    await ctx.bot.send_document(
        chat.id, InputFile(out.getvalue(), filename=name), caption=tr(ctx, "export.caption", what=which)
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Imports run beside other updates (block=False): a 20 MB file never stalls the team.
    app.add_handler(MessageHandler(filters.Document.ALL, on_document, block=False))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^imp:", block=False))
    app.add_handler(CommandHandler("export", export))


__all__ = ["FIELDS", "KINDS", "register"]
