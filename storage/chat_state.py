"""Chat state rows (PTB persistence): one JSON document per (kind, key), upserted."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage.models import ChatState

__all__ = ["delete_state", "load_state", "load_states", "save_state"]


async def load_states(kind: str) -> dict[str, Any]:
    """Every document of a kind, by key."""
    return {row.key: row.data for row in await ChatState.filter(kind=kind)}


async def load_state(kind: str, key: str) -> Any | None:
    """One document, or None."""
    row = await ChatState.get_or_none(kind=kind, key=key)
    return row.data if row is not None else None


async def save_state(kind: str, key: str, data: Any) -> None:
    """Insert or replace one document (two instances racing: the last write wins)."""
    for _ in range(2):
        if await ChatState.filter(kind=kind, key=key).update(data=data):
            return
        try:
            async with in_transaction():
                await ChatState.create(kind=kind, key=key, data=data)
            return
        except IntegrityError:  # created meanwhile by another instance: update it
            continue


async def delete_state(kind: str, key: str) -> None:
    await ChatState.filter(kind=kind, key=key).delete()
