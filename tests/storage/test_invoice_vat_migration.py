"""Migration 0004_invoice_vat on databases that hold invoices (SQLite and PostgreSQL): the new
NOT NULL columns get their database default, invoices issued before it keep what they were
issued with (S above 0 %, E at 0 %), drafts are left to follow the client."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate

from storage.db import tortoise_config
from tests.services import PostgresServer

_FILL = {
    "INT": 1,
    "BIGINT": 1,
    "SMALLINT": 1,
    "BOOL": 0,
    "REAL": 1,
    "DATE": "2026-11-20",
    "TIMESTAMP": "2026-11-20 10:00:00+00:00",
    "JSON": "[]",
    "DECIMAL": "1",
}


def _insert(db: sqlite3.Connection, table: str, **values: object) -> None:
    """A row with the given values and a plain value in every other NOT NULL column."""
    for _, name, kind, notnull, default, pk in db.execute(f"PRAGMA table_info({table})"):
        if name not in values and notnull and default is None and not pk:
            values[name] = next((v for k, v in _FILL.items() if kind.upper().startswith(k)), "x")
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(values.values()))


async def test_issued_lines_keep_their_category_and_drafts_follow(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/old.db"
    await migrate(config=tortoise_config(url), target="models.0001_initial")
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.db")
    _insert(db, "users", id=1, name="alice", role="sales")
    _insert(db, "contacts", id=1, kind="company", name="ACME", owner_id=1)
    for invoice_id, status in ((1, "issued"), (2, "draft")):
        _insert(
            db,
            "invoices",
            id=invoice_id,
            status=status,
            contact_id=1,
            owner_id=1,
            kind="invoice",
            series="F",
            number=f"F2026-0000{invoice_id}",
            year=2026,
            seq=invoice_id,
        )
        for position, rate in ((1, 2000), (2, 0)):
            _insert(
                db,
                "invoice_lines",
                invoice_id=invoice_id,
                position=position,
                vat_rate_bp=rate,
                description="x",
                quantity="1",
                unit_price_cents=100,
                net_cents=100,
            )
    db.commit()
    db.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.db")
    rows = db.execute(
        "SELECT invoice_id, vat_rate_bp, vat_category, vat_exemption, nature, "
        "discount_cents FROM invoice_lines ORDER BY invoice_id, position"
    ).fetchall()
    db.close()
    assert rows == [
        (1, 2000, "S", None, "goods", 0),
        (1, 0, "E", "ZERO", "goods", 0),
        (2, 2000, None, None, "goods", 0),
        (2, 0, None, None, "goods", 0),
    ]


async def test_the_same_upgrade_on_postgres(postgres_server: PostgresServer) -> None:
    name = f"up_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{postgres_server.url}/{name}"
    EXECUTOR_CACHE.clear()
    await migrate(config=tortoise_config(url), target="models.0001_initial")
    await Tortoise.close_connections()
    conn = await asyncpg.connect(url)
    fill = {
        "integer": 1,
        "bigint": 1,
        "smallint": 1,
        "boolean": False,
        "numeric": Decimal(1),
        "date": date(2026, 11, 20),
        "jsonb": "[]",
        "json": "[]",
        "timestamp with time zone": datetime(2026, 11, 20, tzinfo=UTC),
    }

    async def insert(table: str, **values: object) -> None:
        for col in await conn.fetch(
            "SELECT column_name, data_type, is_nullable, column_default FROM "
            "information_schema.columns WHERE table_name = $1",
            table,
        ):
            if (
                col["column_name"] not in values
                and col["is_nullable"] == "NO"
                and col["column_default"] is None
            ):
                values[col["column_name"]] = fill.get(col["data_type"], "x")
        marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
        await conn.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})", *values.values())

    await insert("users", id=1, name="alice", role="sales")
    await insert("contacts", id=1, kind="company", name="ACME", owner_id=1)
    for invoice_id, status in ((1, "issued"), (2, "draft")):
        await insert(
            "invoices",
            id=invoice_id,
            status=status,
            contact_id=1,
            owner_id=1,
            kind="invoice",
            series="F",
            number=f"F2026-0000{invoice_id}",
            year=2026,
            seq=invoice_id,
        )
        for position, rate in ((1, 2000), (2, 0)):
            await insert(
                "invoice_lines",
                id=invoice_id * 10 + position,
                invoice_id=invoice_id,
                position=position,
                vat_rate_bp=rate,
                description="x",
                quantity=Decimal(1),
                unit_price_cents=100,
                net_cents=100,
            )
    await conn.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    conn = await asyncpg.connect(url)
    rows = await conn.fetch(
        "SELECT invoice_id, vat_rate_bp, vat_category, vat_exemption, nature, "
        "discount_cents FROM invoice_lines ORDER BY invoice_id, position"
    )
    await conn.close()
    assert [tuple(r) for r in rows] == [
        (1, 2000, "S", None, "goods", 0),
        (1, 0, "E", "ZERO", "goods", 0),
        (2, 2000, None, None, "goods", 0),
        (2, 0, None, None, "goods", 0),
    ]
