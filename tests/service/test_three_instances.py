"""Three real `entonnoir run` processes on one PostgreSQL, sixty simulated days.

The processes share a fake Bot API (each update goes to one of them, as a load balancer
would) and an SMTP server on loopback. Their jobs' clock is a file the test moves one
day at a time (SIMULATED_CLOCK_FILE); their scans' timers tick every 0.2 s (JOB_TICK_SECONDS),
so each of the three tries every job many times a simulated day. Each scan must still run
once per day across the three, and nothing may be sent, drafted or opened twice.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from tests.billing_data import RENDER, SELLER
from tests.fake_bot_api import FakeBotApi
from tests.mail.smtp_server import LoopbackSmtp
from tests.services import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)  # 09:30 in Paris, after the 08:00 digest
DAYS = 60
VISITORS = (900, 901)  # people using the bot meanwhile (their replies are not alerts)


async def _create_database(server: PostgresServer) -> str:
    name = f"inst_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(f"{server.url}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{server.url}/{name}"


async def _seed(url: str) -> dict[str, int]:
    """Invoices falling due over the weeks, won deals short of stock, two visitors."""
    from storage.db import close_db, init_db
    from storage.invoicing import draft_from_deal, issue_invoice, set_terms
    from storage.models import Contact, Product, Role, StockLevel
    from storage.pipeline import create_deal, win_deal
    from storage.products import add_deal_line
    from storage.users import create_user
    from tests.billing_data import make_billing

    EXECUTOR_CACHE.clear()  # SQL cached for another dialect by earlier tests
    await init_db(url)
    try:
        billing = await make_billing()
        paula = await create_user("paula", Role.PURCHASING, telegram_id=50)
        await create_user("carl", Role.COLLECTIONS, telegram_id=60)
        for tid in VISITORS:
            await create_user(f"visitor{tid}", Role.SALES, telegram_id=tid, language="en")
        supplier = await Contact.create(
            name="Fournitures SA", owner=paula, email="commandes@fournitures.example"
        )
        await Product.all().update(supplier_id=supplier.id)
        widget = await Product.get(sku="WIDGET")
        await StockLevel.create(product=widget, warehouse_id=1, on_hand=Decimal(1))
        deals = [billing.deal.id]
        for k in range(5):
            deal = await create_deal(billing.alice, billing.client.id, f"Order {k}", 0, "EUR")
            await add_deal_line(billing.alice, deal.id, "WIDGET", Decimal(2))
            await win_deal(billing.alice, deal.id)
            deals.append(deal.id)
        for k, deal_id in enumerate(deals):
            draft = await draft_from_deal(billing.alice, deal_id, SELLER)
            await set_terms(billing.alice, draft.id, 5 + 5 * k)
            await issue_invoice(billing.alice, draft.id, SELLER, START.date(), render=RENDER)
    finally:
        await close_db()
    return {"invoices": len(deals)}


def _env(url: str, api: FakeBotApi, smtp: LoopbackSmtp, clock: Path, var: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_", "SMTP_", "IMAP_", "COMPANY_", "LOG_"))
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": url,
            "VAR_DIR": str(var),
            "TELEGRAM_BOT_TOKEN": "123:TEST",
            "TELEGRAM_API_URL": api.url,
            "BOT_USERNAME": api.username,
            "QUIET_HOURS": "",
            "SIMULATED_CLOCK_FILE": str(clock),
            "JOB_TICK_SECONDS": "0.2",
            "OUTBOX_FLUSH_SECONDS": "1",
            "ALERT_FLUSH_SECONDS": "1",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(smtp.port),
            "SMTP_SECURITY": "none",
            "COMPANY_NAME": SELLER.name,
            "COMPANY_ADDRESS": SELLER.address.replace("\n", "\\n"),
            "COMPANY_SIREN": SELLER.siren,
            "COMPANY_SIRET": SELLER.siret,
            "COMPANY_VAT": SELLER.vat,
            "COMPANY_RCS_CITY": SELLER.rcs_city,
            "COMPANY_CAPITAL": SELLER.capital,
            "COMPANY_IBAN": SELLER.iban,
            "COMPANY_BIC": SELLER.bic,
            "COMPANY_EMAIL": SELLER.email,
        }
    )
    return env


async def _counts(url: str) -> dict[str, object]:
    conn = await asyncpg.connect(url)
    try:

        async def one(sql: str) -> object:
            return await conn.fetchval(sql)

        return {
            "pending_alerts": await one("SELECT count(*) FROM alerts WHERE status = 'pending'"),
            "pending_emails": await one(
                "SELECT count(*) FROM outbox_emails WHERE status IN ('pending', 'sending')"
            ),
            "delivered_alerts": await one("SELECT count(*) FROM alerts WHERE status = 'delivered'"),
            "sent_emails": await one("SELECT count(*) FROM outbox_emails WHERE status = 'sent'"),
            "failed": await one("SELECT count(*) FROM outbox_emails WHERE status = 'failed'"),
            "orders": await one("SELECT count(*) FROM purchase_orders"),
            "tasks": await one("SELECT count(*) FROM collection_tasks"),
            "tasks_per_invoice": await one(
                "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM collection_tasks"
                " GROUP BY invoice_id) t"
            ),
            "dunning": await one("SELECT count(*) FROM outbox_emails WHERE purpose = 'dunning'"),
            "job_errors": await one(
                "SELECT count(*) FROM job_runs WHERE outcome = 'error' OR consecutive_failures > 0"
            ),
            "error_alerts": await one(
                "SELECT count(*) FROM alerts WHERE kind IN ('job_failed', 'handler_error')"
            ),
            "digests": await one("SELECT count(*) FROM alerts WHERE kind LIKE 'digest%'"),
        }
    finally:
        await conn.close()


def _set_clock(path: Path, when: datetime) -> None:
    """Atomically (rename): a process never reads a half-written time."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(when.isoformat())
    tmp.replace(path)


async def _activity(url: str) -> list[object]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS age,"
            " left(query, 120) AS q FROM pg_stat_activity WHERE datname = current_database()"
            " AND state <> 'idle'"
        )
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def _pending(url: str) -> list[object]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT id, kind, user_id, attempts, next_attempt_at, claimed_until, last_error"
            " FROM alerts WHERE status = 'pending' ORDER BY id LIMIT 5"
        )
        jobs = await conn.fetch("SELECT name, last_started_at, lease_until, outcome, detail FROM job_runs")
        return [dict(r) for r in rows] + [dict(j) for j in jobs]
    finally:
        await conn.close()


@pytest.mark.slow
def test_three_instances_sixty_days_nothing_twice(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = asyncio.run(_create_database(postgres_server))
    seeded = asyncio.run(_seed(url))
    clock = tmp_path / "clock"
    _set_clock(clock, START)
    api = FakeBotApi()
    api.start()
    smtp = LoopbackSmtp(tls=False, auth=False)
    smtp.start()
    procs: list[subprocess.Popen[str]] = []
    try:
        for i in range(3):
            var = tmp_path / f"var{i}"
            var.mkdir()
            # Logs to a file, not a pipe: an undrained pipe fills and blocks the process.
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot", "run"],
                    cwd=var,
                    env=_env(url, api, smtp, clock, var),
                    stdout=subprocess.DEVNULL,
                    stderr=(var / "run.log").open("w"),
                )
            )
        api.wait_for(lambda: len(api.sent("setMyCommands")) >= 6, timeout=90)
        for day in range(DAYS + 1):
            _set_clock(clock, START + timedelta(days=day))
            for tid in VISITORS:  # traffic: each update handled by one of the three
                api.send_text(tid, "/contacts ACME" if day % 2 else f"/newcontact Day {day}")
            time.sleep(0.35)
        # Telegram allows one message a second per chat: the manager's 61 digests alone
        # take a minute to deliver, whatever the simulation's speed.
        deadline = time.monotonic() + float(os.environ.get("I13_DRAIN", "90"))
        while time.monotonic() < deadline:
            counts = asyncio.run(_counts(url))
            if counts["pending_alerts"] == 0 and counts["pending_emails"] == 0:
                break
            time.sleep(0.5)
        if os.environ.get("I13_DEBUG"):
            print("ACTIVITY", *asyncio.run(_activity(url)), sep="\n")
            for proc in procs:
                proc.send_signal(signal.SIGUSR1)
            time.sleep(1)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        logs = [(tmp_path / f"var{i}" / "run.log").read_text() for i in range(3)]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        smtp.stop()
        api.stop()

    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(logs)[-3000:]
    counts = asyncio.run(_counts(url))
    runs = Counter(m.group(1) for log in logs for m in re.finditer(r"job (\w+): ", log))
    print(f"\nthree instances, {DAYS} days: {counts}; job runs {dict(runs)}; logs in {tmp_path}")

    assert counts["pending_alerts"] == 0 and counts["pending_emails"] == 0, (
        counts,
        asyncio.run(_pending(url)),
        "\n".join(logs)[-4000:],
    )
    # Emails: every Message-ID reached the server once; as many as the rows sent.
    ids = Counter(m["Message-ID"] for m in smtp.messages)
    assert [i for i, n in ids.items() if n > 1] == []
    assert len(ids) == counts["sent_emails"] and counts["failed"] == 0
    # Alerts: the Bot API received exactly one message per delivered alert.
    alert_sends = [c for c in api.sent("sendMessage") if c.chat_id not in VISITORS]
    assert len(alert_sends) == counts["delivered_alerts"], counts
    # One draft order for the one supplier; one task per overdue invoice; dunning per level.
    assert counts["orders"] == 1
    assert counts["tasks"] == seeded["invoices"] and counts["tasks_per_invoice"] == 1
    assert counts["dunning"] >= seeded["invoices"]  # at least level 1 for each
    # Every visitor's command answered once, by one of the three instances.
    for tid in VISITORS:
        assert len(api.sent("sendMessage", tid)) == DAYS + 1
    # No job failed; the scans ran at most once per simulated day across the three.
    assert counts["job_errors"] == 0 and counts["error_alerts"] == 0, counts
    assert DAYS // 2 <= runs["overdue"] <= DAYS + 1, runs
    assert runs["digest"] <= DAYS + 1 and counts["digests"] <= (DAYS + 1) * 2, (runs, counts)
    assert all(" ERROR " not in log for log in logs), "\n".join(logs)[-3000:]
