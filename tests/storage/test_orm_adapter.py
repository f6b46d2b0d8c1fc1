"""`storage.orm`, the one adapter to Tortoise's private internals, gives what the ORM itself
gives, on SQLite and PostgreSQL: an ORM upgrade that changes an internal fails here, loudly,
and not as wrong rows in production. And no code outside the adapter reaches for them."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise, connections
from tortoise.models import Model
from tortoise.transactions import in_transaction

from storage import orm
from storage.db import close_db, init_db
from storage.models import (
    Contact,
    ContactKind,
    Deal,
    InboxMessage,
    InboxStatus,
    Product,
    Role,
    Stage,
    SupplyNature,
    User,
)
from storage.sql import fetch, insert
from storage.sqlite_backend import ImmediateSqliteClient

ROOT = Path(__file__).resolve().parents[2]


def _every_model() -> list[type[Model]]:
    return sorted(Tortoise.apps["models"].values(), key=lambda m: m.__name__)


async def _table_columns(dialect: str, table: str) -> set[str]:
    conn = connections.get("default")
    if dialect == "sqlite":
        rows = await conn.execute_query_dict(f'PRAGMA table_info("{table}")')
        return {str(r["name"]) for r in rows}
    rows = await conn.execute_query_dict(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $1", [table]
    )
    return {str(r["column_name"]) for r in rows}


async def _raw(model: type[Model], pk: Any) -> dict[str, Any]:
    """The stored row, read as the hand-written paths read it (`storage.sql.fetch`)."""
    (row,) = await fetch(
        f'SELECT * FROM "{orm.table(model)}" WHERE "{orm.pk_column(model)}" = ?',
        pk,
    )
    return row


async def _samples() -> list[Model]:
    """Rows with every kind of column the hand-written paths convert: enums, JSON (lists,
    dicts, nested, accents), booleans, dates, aware datetimes, decimals, bytes, NULLs."""
    alice = await User.create(name="alice", role=Role.MANAGER, telegram_id=5_000_000_001, language="en")
    acme = await Contact.create(name="ACME", kind=ContactKind.COMPANY, owner=alice)
    ann = await Contact.create(
        name="Chloé Dupré",
        owner=alice,
        company=acme,
        phone="+33612345678",
        extra_phones=["+33700000000", "+41 21 000"],
        extra_emails=["chloé@exemple.fr"],
        shared=True,
    )
    stage = await Stage.create(
        name="Trial", position=9, probability=35, labels={"fr": "Essai", "en": "Trial"}
    )
    deal = await Deal.create(
        contact=ann,
        owner=alice,
        title="Grande commande",
        amount_cents=12_345_678_901,
        stage=stage,
        expected_close=date(2026, 12, 31),
        won_at=datetime(2026, 11, 30, 23, 59, 58, 123456, tzinfo=UTC),
    )
    product = await Product.create(
        sku="SKU-1",
        name="Vis",
        unit_price_cents=1999,
        nature=SupplyNature.SERVICES,
        reorder_point=Decimal("12.125"),
        supplier=acme,
    )
    message = await InboxMessage.create(
        message_id="<m1@bank>",
        folder="INBOX",
        uid=2**40,
        status=InboxStatus.QUARANTINED,
        reasons=[["sender_untrusted", {"from": "é@x"}]],
        raw_message=b"\x00\xffFrom: bank\r\n",
    )
    return [alice, acme, ann, stage, deal, product, message]


def _fields(model: type[Model]) -> list[str]:
    return list(orm.columns(model))


async def test_table_pk_and_columns_are_the_tables_the_database_holds(any_db: str) -> None:
    for model in _every_model():
        table, pk = orm.table(model), orm.pk_column(model)
        assert f'"{table}"' in model.all().sql(), model  # the table the ORM queries
        stored = await _table_columns(any_db, table)
        by_field = orm.columns(model)
        assert set(by_field.values()) == stored, model
        assert pk in stored and pk in by_field.values(), model
        for field, column in by_field.items():
            assert orm.column_of(model, column) == field, (model, column)
    for sample in await _samples():  # the key column holds the instance's pk
        model = type(sample)
        rows = await fetch(f'SELECT "{orm.pk_column(model)}" AS pk FROM "{orm.table(model)}"')
        assert sample.pk in [r["pk"] for r in rows], model


async def test_from_row_builds_the_instance_the_orm_loads(any_db: str) -> None:
    for sample in await _samples():
        model = type(sample)
        row = await _raw(model, sample.pk)
        built, loaded = orm.from_row(model, row), await model.get(pk=sample.pk)
        for field in _fields(model):
            mine, theirs = getattr(built, field), getattr(loaded, field)
            assert mine == theirs and type(mine) is type(theirs), (model, field, mine, theirs)
        for field in ("created_at", "won_at", "updated_at"):
            if field in orm.columns(model) and getattr(built, field) is not None:
                assert getattr(built, field).utcoffset() is not None  # aware, as the ORM's
    if any_db == "sqlite":  # and through the ORM's own connection (not the inline reader)
        rows = await connections.get("default").execute_query_dict("SELECT * FROM deals")
        (deal,) = await Deal.all()
        built = orm.from_row(Deal, rows[0])
        assert {f: getattr(built, f) for f in _fields(Deal)} == {f: getattr(deal, f) for f in _fields(Deal)}
    # Some columns only: a partial instance, as `.only()` gives.
    (row,) = await fetch("SELECT id, name, extra_phones FROM contacts WHERE name = ?", "Chloé Dupré")
    part = orm.from_row(Contact, row)
    (only,) = await Contact.filter(name="Chloé Dupré").only("id", "name", "extra_phones")
    assert (part.id, part.name, part.extra_phones) == (only.id, only.name, only.extra_phones)
    assert part.extra_phones == ["+33700000000", "+41 21 000"]


async def test_db_value_stores_exactly_what_the_orm_stores(any_db: str) -> None:
    unique = {User: {"name", "telegram_id"}, Stage: {"name"}, Product: {"sku"}}
    for sample in await _samples():
        model = type(sample)
        loaded = await model.get(pk=sample.pk)
        values = {  # every column but the key, converted by the adapter, written by hand
            column: getattr(loaded, field)
            for field, column in orm.columns(model).items()
            if column != orm.pk_column(model)
        }
        for field in unique.get(model, ()):
            values[orm.columns(model)[field]] = f"{values[orm.columns(model)[field]]}9"
        pk = await insert(model, **values)  # storage.sql.insert: orm.db_value per column
        ours, theirs = await _raw(model, pk), await _raw(model, sample.pk)
        for column in ours:
            if column == orm.pk_column(model) or orm.column_of(model, column) in unique.get(model, ()):
                continue
            assert ours[column] == theirs[column], (model, column, ours[column], theirs[column])
            assert type(ours[column]) is type(theirs[column]), (model, column)
    assert orm.db_value(Contact, "kind", ContactKind.COMPANY) == "company"
    assert orm.db_value(Deal, "expected_close", None) is None


async def test_defaults_are_what_the_orm_fills_in(any_db: str) -> None:
    alice = await User.create(name="alice")
    before = datetime.now(UTC)
    ann = await Contact.create(name="Ann", owner=alice)
    filled = orm.defaults(Contact, {"name", "owner_id"})
    assert "id" not in filled and "name" not in filled and "owner_id" not in filled
    for field in _fields(Contact):
        if field in ("id", "name", "owner_id"):
            continue
        if field in ("created_at", "updated_at"):
            assert before - timedelta(seconds=5) <= filled[field] <= datetime.now(UTC)
            continue
        assert filled[field] == getattr(ann, field), field
    assert filled["kind"] == ContactKind.PERSON and filled["extra_phones"] == []
    assert filled["extra_phones"] is not orm.defaults(Contact, set())["extra_phones"]  # fresh lists


async def test_client_is_the_connection_the_models_queries_run_on(any_db: str) -> None:
    assert orm.client(User) is connections.get("default")
    await User.create(name="alice")
    with pytest.raises(RuntimeError):
        async with in_transaction() as tx:
            assert orm.client(User) is tx
            await tx.execute_query(f'DELETE FROM "{orm.table(User)}"')
            assert await User.all().count() == 0  # the ORM reads the same connection
            raise RuntimeError("roll back")
    assert await User.all().count() == 1


async def test_mark_saved_makes_save_an_update(any_db: str) -> None:
    alice = await User.create(name="alice")
    lead = await Stage.get(name="Lead")
    ann = await Contact.create(name="Ann", owner=alice)
    now = datetime.now(UTC)
    fields = {
        "contact_id": ann.id,
        "owner_id": alice.id,
        "title": "Order",
        "amount_cents": 500_00,
        "currency": "EUR",
        "stage_id": lead.id,
        "created_at": now,
        "updated_at": now,
    }
    deal = Deal(**fields)
    deal.id = await insert(Deal, **fields)
    twin = Deal(**fields)
    twin.id = deal.id
    orm.mark_saved(deal)
    deal.title = "Bigger order"
    await deal.save()
    assert [(d.id, d.title) for d in await Deal.all()] == [(deal.id, "Bigger order")]
    await twin.save()  # not marked: save() inserts a second row (a new key) instead
    assert await Deal.all().count() == 2


async def test_connection_busy_while_another_tasks_transaction_holds_sqlite(any_db: str) -> None:
    conn = connections.get("default")
    assert not orm.connection_busy(conn)
    inside, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with in_transaction():
            await User.create(name="alice")
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    try:
        # SQLite: one connection, locked from BEGIN to COMMIT. PostgreSQL: a pool, never.
        assert orm.connection_busy(conn) is (any_db == "sqlite")
    finally:
        release.set()
        await task
    assert not orm.connection_busy(conn)
    assert await User.all().count() == 1


async def test_the_product_sqlite_engine_takes_the_write_lock_at_begin(tmp_path: Path) -> None:
    path = tmp_path / "product.db"
    await init_db(f"sqlite://{path}", migrate=False, generate=True)
    try:
        conn = connections.get("default")
        assert isinstance(conn, ImmediateSqliteClient)
        assert "sqlite" in type(conn).__module__  # how Tortoise's migrations recognise SQLite
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        async with in_transaction():
            await Stage.all().count()  # reads only: a deferred BEGIN would not lock yet
            assert orm.connection_busy(conn)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again after the commit
        other.execute("ROLLBACK")
        other.close()
        assert not orm.connection_busy(conn)
    finally:
        await close_db()


# The private names only the adapter may use. `self._lock` of a class's own lock is fine.
PRIVATE = re.compile(r"\._meta\b|\b_init_from_db\b|\b_saved_in_db\b|\._lock\b|[\"']_lock[\"']")
ALLOWED = {"storage/orm.py", "storage/sqlite_backend.py"}  # the adapter's two files


def _offences(name: str, text: str) -> list[str]:
    own_lock = re.search(r"\bself\._lock\s*[:=]", text) is not None
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        for match in PRIVATE.finditer(line):
            if own_lock and line[: match.start()].endswith("self") and match.group() == "._lock":
                continue
            out.append(f"{name}:{number}: {line.strip()}")
    return out


def test_only_the_adapter_reaches_for_tortoise_internals() -> None:
    offenders = []
    for package in ("bot", "storage", "mail"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in ALLOWED:
                continue
            offenders += _offences(name, path.read_text(encoding="utf-8"))
    assert not offenders, "private Tortoise internals outside the adapter (storage/orm.py):\n" + "\n".join(
        offenders
    )


def test_the_guard_sees_each_kind_of_offence() -> None:
    lines = [
        "x = Deal._meta.db_table",
        "d = Deal._init_from_db(**row)",
        "d._saved_in_db = True",
        "busy = conn._lock.locked()",
        "lock = getattr(conn, '_lock', None)",
        "meta = flow_metadata(x)",  # not an offence
        "self.other._lock.locked()",  # is one, even in a class with its own lock below
    ]
    found = _offences("x.py", "\n".join(lines))
    assert [o.split(": ", 1)[1] for o in found] == lines[:5] + lines[6:]
    own = "self._lock = asyncio.Lock()\nasync with self._lock:\n    pass\n"
    assert _offences("y.py", own) == []  # a class's own lock is no offence
