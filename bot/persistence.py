"""python-telegram-bot persistence in the product's database (`storage.chat_state`).

User data, chat data and conversation states are JSON documents in `chat_states`, so a
restart — or another instance behind the same database — continues a half-filled form
exactly where it was. Before each update PTB asks `refresh_user_data` /
`refresh_chat_data`: the document is read again there, and when another instance changed
it since this one last wrote or read it, the stored one wins (this instance's own changes
not yet written are kept otherwise). Changes are written every `update_interval`
seconds (one second) and when the application stops, when they changed. `bot_data` holds the services
(not data) and is not persisted; neither is arbitrary callback data (buttons carry
strings).
"""

from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from storage.chat_state import delete_state, load_state, load_states, save_state

__all__ = ["DbPersistence"]


def _conv_key(key: ConversationKey) -> str:
    return ":".join(str(part) for part in key)


class DbPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """User/chat data and conversations in the database; bot data and callback data not."""

    def __init__(self, update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, callback_data=False), update_interval=update_interval
        )
        self._seen: dict[tuple[str, str], Any] = {}  # last document written or read, by key

    async def _save(self, kind: str, key: str, data: dict[Any, Any]) -> None:
        # PTB flushes every user and chat an update touched, changed or not (a /help
        # changes nothing). Unchanged since this instance last wrote or read it (nothing
        # stored is an empty document): not written, so it costs no write and cannot put
        # back an older copy over what another instance wrote meanwhile.
        if data == self._seen.get((kind, key), {}):
            return
        snapshot = deepcopy(data)
        await save_state(kind, key, snapshot)
        self._seen[(kind, key)] = snapshot

    async def _refresh(self, kind: str, key: str, data: dict[Any, Any]) -> None:
        stored = await load_state(kind, key)
        if stored is None or stored == self._seen.get((kind, key)):
            return  # nobody else wrote: keep ours (it may hold changes not yet written)
        self._seen[(kind, key)] = deepcopy(stored)
        data.clear()
        data.update(stored)

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return defaultdict(dict, {int(k): v for k, v in (await self._load("user")).items()})

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return defaultdict(dict, {int(k): v for k, v in (await self._load("chat")).items()})

    async def _load(self, kind: str) -> dict[str, Any]:
        stored = await load_states(kind)
        for key, value in stored.items():
            self._seen[(kind, key)] = deepcopy(value)
        return stored

    async def get_bot_data(self) -> dict[Any, Any]:
        return {}

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def get_conversations(self, name: str) -> ConversationDict:
        stored = await load_states(f"conv:{name}"[:16])
        return {
            tuple(int(p) if p.lstrip("-").isdigit() else p for p in k.split(":")): v
            for k, v in stored.items()
        }

    async def update_conversation(self, name: str, key: ConversationKey, new_state: object | None) -> None:
        if new_state is None:
            await delete_state(f"conv:{name}"[:16], _conv_key(key))
        else:
            await save_state(f"conv:{name}"[:16], _conv_key(key), new_state)

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        await self._save("user", str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        await self._save("chat", str(chat_id), data)

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        await delete_state("chat", str(chat_id))

    async def drop_user_data(self, user_id: int) -> None:
        await delete_state("user", str(user_id))

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Another instance may have moved the form on: then the stored document wins."""
        await self._refresh("user", str(user_id), user_data)

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        await self._refresh("chat", str(chat_id), chat_data)

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        return None
