"""Migration 0012_payment_notes on databases that hold payments (SQLite and PostgreSQL):
every payment gets an empty list of notes, and a payment recorded before keeps its English
note as written (shown as it is); a payment recorded after the upgrade stores its notes as
catalogue messages."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate

from storage.db import close_db, init_db, tortoise_config
from storage.models import InboxMessage, InboxStatus, Payment
from storage.payments import record_notices
from storage.payments.notes import amounts_disagree, notes_of
from tests.payment_fixtures import credit
from tests.services import PostgresServer

OLD_NOTE = "entry B-1 batches 3 transactions without their amounts: read as one payment"
INSERT = (
    "INSERT INTO payments (id, entry_ref, direction, status, amount_cents, currency, surplus_cents, "
    "note, created_at) VALUES (1, 'bank:B-1', 'credit', 'unmatched', 30000, 'EUR', 0, {note}, {now})"
)


async def _upgraded_rows(url: str) -> None:
    await init_db(url)
    try:
        old = await Payment.get(id=1)
        assert (old.notes, old.note) == ([], OLD_NOTE)
        assert notes_of(old.notes) == []  # the card and the alert show `note` as written
        bare = await Payment.get(id=2)
        assert (bare.notes, bare.note) == ([], None)
        source = await InboxMessage.create(
            message_id="<n@bank>", folder="INBOX", status=InboxStatus.PROCESSED
        )
        batch = credit(1_500_00, remittance="F2026-00081 F2026-00082", entry="NEW-1")
        warning = amounts_disagree("NEW-1", 1_450_00, 1_500_00, "EUR")
        await record_notices([replace(batch, warning=warning)], source=source, now=datetime.now(UTC))
        new = await Payment.get(entry_ref__contains="NEW-1")
        assert new.notes == [warning]
        assert new.note == "entry NEW-1: its transactions add up to €1,450.00, the entry says €1,500.00"
    finally:
        await close_db()


async def test_payments_recorded_before_keep_their_note_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/old.db"
    await migrate(config=tortoise_config(url), target="models.0011_pg_search_index")
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.db")
    now = "'2026-11-20 10:00:00+00:00'"
    db.execute(INSERT.format(note="?", now=now), (OLD_NOTE,))
    db.execute(INSERT.replace("(1, 'bank:B-1'", "(2, 'bank:B-2'").format(note="NULL", now=now))
    db.commit()
    db.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.db")
    stored = db.execute("SELECT notes, note FROM payments ORDER BY id").fetchall()
    db.close()
    assert stored == [("[]", OLD_NOTE), ("[]", None)]
    await _upgraded_rows(url)


async def test_the_same_upgrade_on_postgres(postgres_server: PostgresServer) -> None:
    name = f"notes_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{postgres_server.url}/{name}"
    EXECUTOR_CACHE.clear()
    await migrate(config=tortoise_config(url), target="models.0011_pg_search_index")
    await Tortoise.close_connections()
    conn = await asyncpg.connect(url)
    await conn.execute(INSERT.format(note="$1", now="now()"), OLD_NOTE)
    await conn.execute(INSERT.replace("(1, 'bank:B-1'", "(2, 'bank:B-2'").format(note="NULL", now="now()"))
    await conn.execute("SELECT setval(pg_get_serial_sequence('payments', 'id'), 2)")
    await conn.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    conn = await asyncpg.connect(url)
    stored = await conn.fetch("SELECT notes::text AS notes, note FROM payments ORDER BY id")
    await conn.close()
    assert [(r["notes"], r["note"]) for r in stored] == [("[]", OLD_NOTE), ("[]", None)]
    await _upgraded_rows(url)
