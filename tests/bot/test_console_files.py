"""The console chat saves what the bot sends under the files' real names (`F2026-00001.pdf`,
`funnel.png`), as a Telegram client would show them: the real Application through the
recording transport, the console listening to it."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.console import ConsoleChat, saved_name
from storage.models import Contact, ContactKind, Deal, Role
from tests.harness import ChatHarness

YEAR = datetime.now(ZoneInfo("Europe/Paris")).year
F1 = f"F{YEAR}-00001"


async def test_invoice_pdf_and_dashboard_charts_are_saved_under_their_names(
    chat: ChatHarness, tmp_path: Path
) -> None:
    boss = await chat.user("boss", Role.MANAGER, lang="fr")
    assert boss.user is not None
    out, folder = io.StringIO(), tmp_path / "console"
    ConsoleChat(chat.app, chat.request, boss.user, folder, out=out)
    await boss.says("/newproduct WIDGET | Widget à ressort | 12,34 | 20 | unit")
    await boss.says("/newcontact Ann Martin | +33612345678 | ann@acme.example | ACME SA")
    acme = await Contact.get(name="ACME SA", kind=ContactKind.COMPANY)
    await boss.says(f"/billing C{acme.id} address 3 rue Neuve, 69001 Lyon")
    await boss.says(f"/billing C{acme.id} vat FR40303265045")
    ann = await Contact.get(name="Ann Martin")
    await boss.says(f"/newdeal C{ann.id} | Commande | 100")
    deal = await Deal.get(title="Commande")
    await boss.says(f"/addline D{deal.id} | WIDGET | 3")
    await boss.says(f"/won D{deal.id}")
    await boss.says(f"/invoice D{deal.id}")
    await boss.presses("Émettre")
    assert F1 in boss.last_text
    await boss.says(f"/invoicepdf {F1}")
    pdf = folder / f"{F1}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert f"[file] {pdf}" in out.getvalue()
    await boss.says("/dashboard")
    for name in ("funnel.png", "forecast.png", "aging.png", "cash.png", "purchases.png"):
        assert (folder / name).read_bytes().startswith(b"\x89PNG"), name
        assert f"[file] {folder / name}" in out.getvalue()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{F1}.pdf", "aging.png", "cash.png", "forecast.png", "funnel.png", "purchases.png"]
    )
    first = (folder / "funnel.png").stat().st_mtime_ns
    await boss.says("/dashboard")  # asked again: the newer chart replaces the older one
    assert len(list(folder.iterdir())) == 6 and (folder / "funnel.png").stat().st_mtime_ns >= first


def test_a_sent_name_cannot_leave_the_console_folder() -> None:
    assert saved_name(f"{F1}.pdf", 12) == f"{F1}.pdf"
    assert saved_name("../../etc/passwd", 12) == "passwd"
    assert saved_name("C:\\Users\\x\\devis.pdf", 12) == "devis.pdf"
    assert saved_name("rapport: ventes?.xlsx", 12) == "rapport_ ventes_.xlsx"
    assert saved_name("..", 12) == saved_name("", 12) == "message-12.bin"
