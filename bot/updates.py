"""Concurrent updates, one at a time per user and per chat.

PTB handles updates one by one by default: while one user's /dashboard waits on the
database, every other user waits too. `PerUserUpdateProcessor` runs updates of different
users concurrently (up to `max_concurrent_updates`) and keeps each user's and each chat's
updates strictly in arrival order, one after the other: a form in `user_data` sees its
answers in the order they were typed, and a group chat's `chat_data` is never written by
two handlers at once.

How the order holds: PTB's `Application` takes updates from its queue in order and starts
one task per update; each task passes the processor's semaphore (asyncio's is FIFO) and
then `do_process_update`, which — before its first `await` — chains the update behind the
previous update of the same user and of the same chat. An update waits for both, so two
updates sharing a user or a chat never overlap, whatever else runs.

Used by `entonnoir run` on PostgreSQL only (`CONCURRENT_UPDATES`, default 16), where the
ORM has a pool of connections. On SQLite the ORM has ONE connection and queues every
statement behind its lock (a transaction holds it to the end), so handling updates at once
would gain little; updates stay one by one there, as before (not measured).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

__all__ = ["PerUserUpdateProcessor", "update_keys"]


def update_keys(update: object) -> tuple[str, ...]:
    """The keys an update is serialised on: its user and its chat ("" for neither)."""
    if not isinstance(update, Update):
        return ("",)
    keys = []
    if update.effective_user is not None:
        keys.append(f"u{update.effective_user.id}")
    if update.effective_chat is not None:
        keys.append(f"c{update.effective_chat.id}")
    return tuple(keys) or ("",)


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Different users at once; one user's (and one chat's) updates one by one, in order."""

    __slots__ = ("_tails",)

    def __init__(self, max_concurrent_updates: int):
        super().__init__(max_concurrent_updates)
        # key -> the future completed when the latest update queued on that key is done
        self._tails: dict[str, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        keys = update_keys(update)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        before = [self._tails[k] for k in keys if k in self._tails]  # no await before this:
        for key in keys:  # the chain is taken in the order PTB started the updates
            self._tails[key] = done
        try:
            for previous in before:
                await asyncio.shield(previous)
            await coroutine
        finally:
            done.set_result(None)
            for key in keys:
                if self._tails.get(key) is done:
                    del self._tails[key]

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free: PTB waits for the updates in flight before calling this."""
