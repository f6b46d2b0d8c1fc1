"""The one adapter to Tortoise ORM's private internals.

The hot paths (chat reads, bank-file batches, imports) skip the ORM's query builder, and
for that they need a few things Tortoise keeps private: a model's table and column names,
its fields' own value conversion, building an instance from a row, marking an instance
as saved, and whether the SQLite connection's lock is held. Every such access lives in
this module and nowhere else, so an ORM upgrade that changes them breaks this module only,
and `tests/storage/test_orm_adapter.py` says so loudly (it also fails when code elsewhere
reaches for the internals again).

The adapter has a second file: `storage/sqlite_backend.py`, the SQLite engine whose
transactions begin with `BEGIN IMMEDIATE`. It subclasses Tortoise's SQLite client and
transaction classes (their `_connection` and `_lock`), and must stay a module of its own
whose name contains "sqlite": Tortoise's migration executor picks its SQLite schema editor
by the client class's module name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.fields import JSONField
from tortoise.models import Model

__all__ = [
    "client",
    "column_of",
    "columns",
    "connection_busy",
    "db_value",
    "defaults",
    "from_row",
    "insert_rows",
    "mark_saved",
    "pk_column",
    "table",
    "update_rows",
]

M = TypeVar("M", bound=Model)


def table(model: type[Model]) -> str:
    """The model's table name."""
    return str(model._meta.db_table)


def pk_column(model: type[Model]) -> str:
    """The column of the model's primary key."""
    return str(model._meta.db_pk_column)


def columns(model: type[Model]) -> dict[str, str]:
    """Field name -> column name, for every stored field, in declaration order."""
    return dict(model._meta.fields_db_projection)


def column_of(model: type[Model], column: str) -> str:
    """The field name stored in this column."""
    return str(model._meta.fields_db_projection_reverse[column])


def db_value(model: type[Model], field: str, value: Any) -> Any:
    """A value converted as the ORM converts this field's values (JSON, dates, enums...),
    ready to be a query parameter: the driver stores exactly what the ORM would store."""
    return model._meta.fields_map[field].to_db_value(value, model)


def defaults(model: type[Model], given: set[str]) -> dict[str, Any]:
    """The model's defaults (by field name) for the stored fields not in `given`."""
    out: dict[str, Any] = {}
    for name in model._meta.fields_db_projection:
        f = model._meta.fields_map[name]
        if name in given or f.pk:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            out[name] = datetime.now(UTC)
        elif f.default is not None:
            out[name] = f.default() if callable(f.default) else f.default
        elif f.null:
            out[name] = None
    return out


def client(model: type[Model]) -> BaseDBAsyncClient:
    """The connection the model's queries run on (a transaction's inside `in_transaction`)."""
    db: BaseDBAsyncClient = model._meta.db
    return db


def connection_busy(conn: BaseDBAsyncClient) -> bool:
    """True while another task holds this SQLite connection's lock (from BEGIN to COMMIT of
    its transaction, or during one of its queries). Always False for a pool (PostgreSQL),
    where every task gets a connection of its own."""
    if not isinstance(conn, SqliteClient):
        return False
    return conn._lock.locked()


def from_row(model: type[M], row: dict[str, Any]) -> M:
    """A model instance from a row keyed by column names, as the ORM builds it (values
    converted back from the database: JSON, dates, enums, decimals). A row with only some
    columns gives a partial instance, as `.only()` does."""
    instance: M = model._init_from_db(**row)
    return instance


def mark_saved(instance: Model) -> None:
    """Mark an instance inserted by hand as saved, so `save()` updates instead of inserting."""
    instance._saved_in_db = True


# ---------------------------------------------------------------- bulk writes without instances
# Added for the bank-statement hot path (storage.payments.writes): building a model instance
# costs more than its row's whole INSERT, and Tortoise's bulk_update builds a CASE term per
# row and field. These write plain rows, with the ORM's own value conversion.

ROWS_PER_STATEMENT = 2000


def _converter(model: type[Model], field: str) -> Callable[[Any], Any]:
    """The ORM's conversion of one field's values, memoised (many values repeat)."""
    f = model._meta.fields_map[field]
    if isinstance(f, JSONField):
        encode = f.encoder
        return lambda value: None if value is None else encode(value)
    cache: dict[tuple[type, Any], Any] = {}

    def convert(value: Any) -> Any:
        key = (type(value), value)
        if key not in cache:
            cache[key] = f.to_db_value(value, model)
        return cache[key]

    return convert


def _marks(conn: BaseDBAsyncClient, count: int) -> list[str]:
    if conn.capabilities.dialect == "postgres":
        return [f"${i}" for i in range(1, count + 1)]
    return ["?"] * count


async def insert_rows(
    model: type[Model], rows: Sequence[dict[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """INSERT plain rows (keyed by field name, every row the same keys) with one prepared
    statement; the model's defaults fill the fields not given. `ignore_conflicts`: a row
    that breaks a unique constraint is skipped (`ON CONFLICT DO NOTHING`)."""
    if not rows:
        return
    filled = defaults(model, set(rows[0]))
    names = [*rows[0], *filled]
    projection = columns(model)
    # Table and column names come from the model's metadata, never from input.
    quoted = ", ".join(f'"{projection[n]}"' for n in names)
    conn = client(model)
    marks = ", ".join(_marks(conn, len(names)))
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    sql = f'INSERT INTO "{table(model)}" ({quoted}) VALUES ({marks}){conflict}'  # noqa: S608
    convert = [_converter(model, n) for n in names]
    given = list(rows[0])
    extra = [c(filled[n]) for c, n in zip(convert[len(given) :], names[len(given) :], strict=True)]
    head = list(zip(convert[: len(given)], given, strict=True))
    values = [[c(row[n]) for c, n in head] + extra for row in rows]
    for i in range(0, len(values), ROWS_PER_STATEMENT):
        await conn.execute_many(sql, values[i : i + ROWS_PER_STATEMENT])


async def update_rows(model: type[Model], fields: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE many rows by primary key, one prepared statement: each row holds the primary
    key (by its field name) and the `fields` to set, converted as the ORM converts them.
    Values are written as given (an `auto_now` field too: pass its value)."""
    if not rows:
        return
    pk = model._meta.pk_attr
    projection = columns(model)
    conn = client(model)
    marks = _marks(conn, len(fields) + 1)
    sets = ", ".join(f'"{projection[f]}"={m}' for f, m in zip(fields, marks, strict=False))
    sql = f'UPDATE "{table(model)}" SET {sets} WHERE "{pk_column(model)}"={marks[-1]}'  # noqa: S608
    names = [*fields, pk]
    convert = [_converter(model, n) for n in names]
    values = [[c(row[n]) for c, n in zip(convert, names, strict=True)] for row in rows]
    for i in range(0, len(values), ROWS_PER_STATEMENT):
        await conn.execute_many(sql, values[i : i + ROWS_PER_STATEMENT])
