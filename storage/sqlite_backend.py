"""Tortoise's SQLite backend, with transactions that take the write lock when they begin.

A deferred `BEGIN` that reads first and writes later fails at once with "database is
locked" when another process committed in between (the busy timeout cannot help an
upgrade). `BEGIN IMMEDIATE` waits (busy timeout) for the other writer instead, so a CLI
command that writes (import, restore, user add) queues behind the running bot's
transactions rather than failing.

Part of the adapter to Tortoise's internals (see `storage/orm.py`, the first file): it
subclasses private client classes and uses their `_connection` and `_lock`. It stays a
module of its own named "...sqlite...": Tortoise's migration executor chooses the SQLite
schema editor by the client class's module name (`tortoise.migrations.executor`).
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError

__all__ = ["ImmediateSqliteClient", "client_class"]


class _ImmediateTransaction(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # pragma: no cover - locked past the timeout
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    """SQLite with `BEGIN IMMEDIATE` transactions."""

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(_ImmediateTransaction(self), self._lock)


client_class = ImmediateSqliteClient
