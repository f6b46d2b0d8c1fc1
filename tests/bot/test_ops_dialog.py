"""Dialogs of the background loop: collections, purchasing, dashboard, reports, /status."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from openpyxl import load_workbook

from bot.delivery import render_alert
from bot.jobs import all_jobs, run_job
from storage.collections import Company, close_for_invoice, scan_overdue
from storage.models import (
    Alert,
    CollectionEvent,
    CollectionTask,
    Contact,
    DealLine,
    Invoice,
    InvoiceStatus,
    JobRun,
    OutboxEmail,
    POStatus,
    Product,
    PurchaseOrder,
    Role,
    StockLevel,
    StockMove,
)
from storage.pipeline import create_deal, win_deal
from storage.purchasing import purchasing_check
from tests.harness import ChatHarness

COMPANY = Company(name="Entonnoir", email="f@entonnoir.example")


async def _overdue_invoice(owner_id: int, days: int = 10, number: str = "F2026-00007") -> Invoice:
    contact = await Contact.create(
        name="Client <b>SA</b>", owner_id=owner_id, billing_email="c@client.example"
    )
    today = datetime.now(UTC).date()
    invoice = await Invoice.create(
        contact=contact,
        owner_id=owner_id,
        status=InvoiceStatus.ISSUED,
        number=number,
        due_date=today - timedelta(days=days),
        total_gross_cents=1_500_00,
    )
    await scan_overdue(today, datetime.now(UTC), COMPANY)
    return invoice


async def test_collections_list_and_buttons(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    bob = await chat.user("bob", Role.SALES)
    assert alice.user and bob.user
    await _overdue_invoice(alice.user.id)
    task = await CollectionTask.get()
    await alice.says("/collections")
    assert "F2026-00007" in alice.last_text and "10 days late" in alice.last_text
    assert "Client &lt;b&gt;SA&lt;/b&gt;" in alice.last_text and "€1,500.00" in alice.last_text
    await bob.says("/collections")
    assert bob.last_text == "No open collection task."
    await bob.presses_data(f"coll:call:{task.id}")
    assert "No collection task" in bob.last_text
    # Promise to pay: a past date is refused and asked again, then accepted.
    await alice.presses_data(f"coll:promise:{task.id}")
    assert "Promised payment date" in alice.last_text
    await alice.says("2020-01-01")
    assert "is in the past" in alice.last_text
    assert (await CollectionTask.get()).promised_date is None
    later = datetime.now(UTC).date() + timedelta(days=5)
    await alice.says(later.isoformat())
    assert "reminders for F2026-00007 pause" in alice.last_text
    assert (await CollectionTask.get()).promised_date == later
    await alice.presses_data(f"coll:dispute:{task.id}")
    assert "marked disputed" in alice.last_text
    await alice.presses_data(f"coll:dispute:{task.id}")
    assert "resolved" in alice.last_text
    await alice.presses_data(f"coll:call:{task.id}")
    await alice.says("Will pay <Friday>")
    assert "Call logged" in alice.last_text
    assert await CollectionEvent.filter(kind="call", note="Will pay <Friday>").exists()
    before = await OutboxEmail.all().count()
    await alice.presses_data(f"coll:remind:{task.id}")
    assert "Reminder queued" in alice.last_text
    await alice.presses_data(f"coll:remind:{task.id}")
    assert "already queued today" in alice.last_text
    assert await OutboxEmail.all().count() == before + 1
    await alice.presses_data(f"coll:invoice:{task.id}")
    assert "Invoice F2026-00007" in alice.last_text and "• " in alice.last_text
    assert "call Will pay &lt;Friday&gt;" in alice.last_text
    await alice.presses_data("coll:remind:1:extra")
    assert alice.last_text  # crafted data gets one sentence


async def _short_deal(owner_id: int, buyer_id: int) -> tuple[Product, int]:
    supplier = await Contact.create(name="Acier", owner_id=buyer_id, email="s@acier.example")
    product = await Product.create(sku="BOLT", name="Bolt", unit_price_cents=100, supplier=supplier)
    await StockLevel.create(product=product, warehouse_id=1, on_hand=Decimal(2))
    client = await Contact.create(name="Client", owner_id=owner_id)
    from storage.models import User

    owner = await User.get(id=owner_id)
    deal = await create_deal(owner, client.id, "Bolts", 1000, "EUR")
    await DealLine.create(
        deal=deal, product=product, quantity=Decimal(5), unit_price_cents=100, vat_rate_bp=2000
    )
    await win_deal(owner, deal.id)
    await purchasing_check(datetime.now(UTC))
    return product, deal.id


async def test_purchase_order_card_send_and_receive(chat: ChatHarness) -> None:
    paula = await chat.user("paula", Role.PURCHASING)
    alice = await chat.user("alice", Role.SALES)
    boss = await chat.user("boss", Role.MANAGER)
    assert paula.user and alice.user
    product, deal_id = await _short_deal(alice.user.id, paula.user.id)
    po = await PurchaseOrder.get()
    await paula.says("/stock bolt")
    assert "on hand 2, reserved 5, available -3" in paula.last_text
    await paula.says("/po")
    assert f"PO{po.id}" in paula.last_text and "draft" in paula.last_text
    await alice.says("/po")
    assert "Only purchasing and managers" in alice.last_text
    await paula.says(f"/po PO{po.id}")
    assert "BOLT Bolt: 0/3" in paula.last_text
    await paula.presses("Send to supplier")
    assert "queued for emailing to Acier" in paula.last_text
    assert (await PurchaseOrder.get()).status == POStatus.SENT
    await paula.says(f"/receive PO{po.id} BOLT 9")
    assert "Cannot receive 9 of BOLT: 3 still expected" in paula.last_text
    await paula.says(f"/receive PO{po.id} BOLT abc")
    assert "is not a quantity" in paula.last_text
    assert not await StockMove.exists()
    await paula.says(f"/receive PO{po.id} BOLT 1")
    assert "partly received" in paula.last_text
    await paula.says(f"/receive PO{po.id}")
    assert "now received" in paula.last_text
    await alice.says(f"/deliver D{deal_id}")
    assert f"Deal D{deal_id} delivered" in alice.last_text
    assert (await StockLevel.get(product=product)).on_hand == Decimal(0)
    await paula.says("/adjust BOLT 4 found in the back")
    assert "Only managers" in paula.last_text
    await boss.says("/adjust BOLT -1 broken")
    assert "Not enough BOLT" in boss.last_text
    await boss.says("/adjust BOLT +4 found in the back")
    assert "Stock of BOLT is now 4" in boss.last_text


async def test_dashboard_sends_png_charts_and_report_an_xlsx(chat: ChatHarness) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    alice = await chat.user("alice", Role.SALES)
    assert alice.user
    await _overdue_invoice(alice.user.id, days=40)
    await boss.says("/dashboard")
    photos = [s for s in boss.replies if s.method == "sendPhoto"]
    assert len(photos) == 5
    assert all(next(iter(p.files.values()))[1].startswith(b"\x89PNG") for p in photos)
    await alice.says("/dashboard")
    assert "Only managers" in alice.last_text
    await boss.says("/report receivables")
    doc = next(s for s in boss.replies if s.method == "sendDocument")
    name, data = next(iter(doc.files.values()))
    assert name.startswith("receivables-") and name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Invoice" and values[1][0] == "F2026-00007"
    assert values[1][-1] == "31-60"
    await boss.says("/report nonsense")
    assert "Unknown report" in boss.last_text
    await boss.says("/report sales 2026-13")
    assert "is not a period" in boss.last_text


async def test_status_shows_each_job_after_a_run(chat: ChatHarness) -> None:
    admin = await chat.user("root", Role.ADMIN)
    alice = await chat.user("alice", Role.SALES)
    await admin.says("/status")
    assert admin.last_text == "No job has run yet."
    services = chat.app.bot_data["services"]
    jobs = all_jobs()
    for name in ("overdue", "purchasing", "task_reminders", "digest"):
        await run_job(jobs[name], services, None)
    await admin.says("/status")
    for name in ("overdue", "purchasing", "task_reminders", "digest"):
        assert f"<b>{name}</b>: ok" in admin.last_text
    assert "0 tasks opened" in admin.last_text
    await alice.says("/status")
    assert "Only administrators" in alice.last_text
    assert date.today()  # the jobs used the real clock


async def test_collection_log_is_dated_in_the_company_zone(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    assert alice.user
    await _overdue_invoice(alice.user.id)
    task = await CollectionTask.get()
    # 00:30 in Paris on 1 January is still 31 December in UTC.
    await CollectionEvent.create(
        task=task, kind="call", note="New year call", at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    )
    await alice.presses_data(f"coll:invoice:{task.id}")
    assert "• 1 Jan 2027 call New year call" in alice.last_text


async def test_status_speaks_the_admins_language(chat: ChatHarness) -> None:
    admin = await chat.user("root", Role.ADMIN, lang="fr")
    await admin.says("/status")
    assert admin.last_text == "Aucune tâche n'a encore tourné."
    services = chat.app.bot_data["services"]
    await run_job(all_jobs()["overdue"], services, None)
    await admin.says("/etat")
    assert admin.last_text.startswith("<b>Tâches de fond</b>")
    assert "<b>overdue</b> : réussie, dernière exécution " in admin.last_text
    assert (
        " — 0 tâche ouverte, 0 relance mise en file d'envoi, 0 remontée aux managers, 0 clôturée"
        in admin.last_text
    )
    assert ": ok," not in admin.last_text and "opened" not in admin.last_text
    run = await JobRun.get(name="overdue")  # the English detail stays for logs and /readyz
    assert run.detail == "0 tasks opened, 0 dunning emails queued, 0 escalated, 0 closed"


async def test_a_collection_log_and_its_closing_read_in_the_readers_language(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="fr")
    bob = await chat.user("bob", Role.MANAGER)
    assert alice.user
    invoice = await _overdue_invoice(alice.user.id, days=20)  # +1 caught up by +15: one email
    task = await CollectionTask.get()
    now = datetime.now(UTC)
    await CollectionEvent.create(task=task, kind="reminder", note="tone 2", at=now)
    await CollectionEvent.create(task=task, kind="promise", note="2027-01-15", at=now)
    await CollectionEvent.create(task=task, kind="call", note="Rappeler <lundi>", at=now)
    await alice.presses_data(f"coll:invoice:{task.id}")
    log = alice.last_text
    for line in (
        " ouverte",
        " niveau 1 sautée (rattrapée ensuite)",
        " niveau 2 e-mail mis en file d'envoi",
        " relance ton 2",
        " promesse de paiement au 15 janv. 2027",
        " appel Rappeler &lt;lundi&gt;",  # a person's note: as typed, escaped
    ):
        assert line in log, line
    assert "level" not in log and "email queued" not in log and "tone" not in log
    await bob.presses_data(f"coll:invoice:{task.id}")
    assert " level 2 email queued" in bob.last_text and " promise to pay by 15 Jan 2027" in bob.last_text
    assert await close_for_invoice(invoice.id, now, "credited")
    alert = await Alert.get(kind="collection_closed", user_id=alice.user.id)
    await alert.fetch_related("rerouted_from")
    french, _ = render_alert(alert, "fr")
    assert "annulée par un avoir" in french and "credited" not in french
    english, _ = render_alert(alert, "en")
    assert "cancelled by a credit note" in english
