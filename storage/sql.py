"""Hand-written SQL for the hottest paths of the chat (search, the cards, moves, new deals).

Building a query through the ORM costs 0.5-2 ms of Python per query (measured by
`bench/chat.py`), ten times the database's own work on SQLite. The few reads every chat
command makes are written here once, with `?` placeholders (numbered for PostgreSQL),
and turned back into model instances with the ORM's own row conversion. Writes (`insert`,
`update`) convert their values with the model fields' own `to_db_value`, so the rows are
exactly what the ORM would have written; inside `in_transaction()` they run on the
transaction's connection like any ORM call.

On a SQLite file in WAL mode, a SELECT outside a transaction runs inline on a second,
query-only connection of the same file instead of through aiosqlite's worker thread: the
hand-off to that thread and back costs ~0.14 ms of CPU per query, more than most of these
reads take. A WAL reader never waits for a writer and sees exactly what has been committed
(the ORM's connection is in autocommit mode outside transactions). Inside a transaction,
and while another task holds the ORM's connection, reads go through that connection as
before: a transaction reads its own uncommitted rows, others wait for its commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.exceptions import OperationalError
from tortoise.models import Model

from storage import orm

__all__ = [
    "close_reader",
    "columns",
    "execute",
    "fetch",
    "fetch_models",
    "in_transaction_now",
    "insert",
    "like_contains",
    "model_from",
    "trace_reader",
    "update",
]

M = TypeVar("M", bound=Model)


def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, start=1))


def _connection(sql: str) -> tuple[BaseDBAsyncClient, str]:
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        sql = _numbered(sql)
    return conn, sql


def in_transaction_now() -> bool:
    """True inside `in_transaction()` (whose uncommitted rows must not be cached)."""
    return isinstance(connections.get("default"), TransactionalDBClient)


# The inline reader of the SQLite file in use, or None when that file is not in WAL mode.
_reader: tuple[str, sqlite3.Connection | None] | None = None
_trace: Callable[[str], None] | None = None


def trace_reader(callback: Callable[[str], None] | None) -> None:
    """Call `callback(sql)` for every statement the inline reader runs (None: stop). For
    measurements: `bench/chat.py` counts the queries of each chat command with it."""
    global _trace
    _trace = callback
    if _reader is not None and _reader[1] is not None:
        _reader[1].set_trace_callback(callback)


def _inline_reader(conn: BaseDBAsyncClient) -> sqlite3.Connection | None:
    """The query-only connection to this SQLite file (opened on first use), or None: for
    PostgreSQL, in-memory databases, files not in WAL mode, inside a transaction, and while
    the ORM's connection is busy (its lock is held from BEGIN to COMMIT by another task's
    transaction: reading through it waits for the commit, as before, so whatever that
    transaction invalidates is never re-read from the state before it)."""
    global _reader
    if not isinstance(conn, SqliteClient) or isinstance(conn, TransactionalDBClient):
        return None
    if orm.connection_busy(conn):
        return None
    path = conn.filename
    if path == ":memory:" or "mode=memory" in path:
        return None
    if _reader is not None and _reader[0] == path:
        return _reader[1]
    close_reader()
    reader: sqlite3.Connection | None
    reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    if reader.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        reader.execute("PRAGMA query_only = ON")
        reader.execute("PRAGMA busy_timeout = 0")  # never wait on the event loop
        reader.set_trace_callback(_trace)
    else:  # a reader could wait for writers here: keep every read on the ORM's thread
        reader.close()
        reader = None
    _reader = (path, reader)
    return reader


def close_reader() -> None:
    """Close the inline reader (at shutdown, or before the database file is replaced)."""
    global _reader
    if _reader is not None and _reader[1] is not None:
        _reader[1].close()
    _reader = None


def _read_inline(
    reader: sqlite3.Connection, sql: str, params: tuple[Any, ...]
) -> list[dict[str, Any]] | None:
    """The rows, or None when SQLite is busy (a WAL reader almost never is): the caller then
    reads through the ORM's connection, which may wait, off the event loop."""
    try:
        cursor = reader.execute(sql, params)
        rows = cursor.fetchall()
    except sqlite3.OperationalError as exc:
        if (exc.sqlite_errorcode & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return None
        raise OperationalError(exc) from exc  # the ORM's own exception, as on the other path
    except sqlite3.Error as exc:
        raise OperationalError(exc) from exc
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows as dicts; `?` placeholders work on SQLite and PostgreSQL."""
    conn, sql = _connection(sql)
    reader = _inline_reader(conn) if sql.lstrip()[:6].upper() == "SELECT" else None
    if reader is not None:
        rows = _read_inline(reader, sql, params)
        if rows is not None:
            return rows
    return list(await conn.execute_query_dict(sql, list(params)))


async def execute(sql: str, *params: Any) -> int:
    """Run a statement that returns no rows; the number of rows it changed."""
    conn, sql = _connection(sql)
    changed, _ = await conn.execute_query(sql, list(params))
    return changed


def _db_values(model: type[Model], values: dict[str, Any]) -> list[Any]:
    """Column values converted as the ORM converts them (JSON, datetimes, enums...)."""
    return [orm.db_value(model, orm.column_of(model, column), value) for column, value in values.items()]


@cache
def _columns(model: type[Model]) -> tuple[str, ...]:
    return tuple(orm.columns(model).values())


@cache
def _insert_sql(model: type[Model], cols: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    return (  # table and column names from the model only; values are parameters
        f'INSERT INTO "{orm.table(model)}" ({names}) VALUES ({marks}) '  # noqa: S608
        f'RETURNING "{orm.pk_column(model)}"'
    )


async def insert(model: type[Model], **values: Any) -> int:
    """Insert one row given by column names; its new primary key."""
    rows = await fetch(_insert_sql(model, tuple(values)), *_db_values(model, values))
    return int(next(iter(rows[0].values())))


@cache
def _update_sql(model: type[Model], cols: tuple[str, ...]) -> str:
    sets = ", ".join(f'"{c}" = ?' for c in cols)
    return (  # table and column names from the model only; values are parameters
        f'UPDATE "{orm.table(model)}" SET {sets} '  # noqa: S608
        f'WHERE "{orm.pk_column(model)}" = ?'
    )


async def update(model: type[Model], pk: Any, **values: Any) -> int:
    """Update columns (by column name) of the row with this primary key; rows changed."""
    return await execute(_update_sql(model, tuple(values)), *_db_values(model, values), pk)


def columns(model: type[Model], alias: str, prefix: str = "") -> str:
    """`alias."col" AS "prefixcol", ...` for every column of the model."""
    return ", ".join(f'{alias}."{c}" AS "{prefix}{c}"' for c in _columns(model))


def model_from(model: type[M], row: dict[str, Any], prefix: str = "") -> M:
    """A model instance from a row (columns possibly prefixed), as the ORM builds it."""
    return orm.from_row(model, {c: row[prefix + c] for c in _columns(model)})


async def fetch_models(model: type[M], sql: str, *params: Any) -> list[M]:
    """Model instances from the rows; selecting only some columns gives partial (read-only)
    instances, which skips converting the JSON and date columns nobody will read."""
    return [orm.from_row(model, row) for row in await fetch(sql, *params)]


def like_contains(text: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching `text` literally anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
