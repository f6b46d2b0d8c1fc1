"""`PerUserUpdateProcessor` in PTB's real dispatch loop: users at once, each one in order.

Updates go through the Application's update queue (as the webhook and long polling put
them), handlers take random times; the processor must keep each user's and each chat's
updates one by one in arrival order, and still run different users concurrently.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, TypeHandler

from bot.updates import PerUserUpdateProcessor, update_keys
from tests.strict_api import StrictBotApi

GROUP = -100_500


def _message(update_id: int, user: int, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "text": text,
            "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup", "title": "T"},
            "from": {"id": user, "is_bot": False, "first_name": f"u{user}"},
        },
    }


async def _run(
    processor: PerUserUpdateProcessor, payloads: list[dict[str, Any]]
) -> tuple[list[tuple[str, int]], dict[str, list[int]], int]:
    """Feed the payloads through the update queue; returns (events, order per key, peak)."""
    app = (
        ApplicationBuilder()
        .token("1:TEST")
        .request(StrictBotApi())
        .updater(None)
        .concurrent_updates(processor)
        .build()
    )
    rng = random.Random(7)
    events: list[tuple[str, int]] = []
    order: dict[str, list[int]] = {}
    running: set[int] = set()
    peak = 0
    done = asyncio.Event()

    async def handle(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal peak
        uid = update.update_id
        running.add(uid)
        peak = max(peak, len(running))
        events.append(("start", uid))
        for key in update_keys(update):
            order.setdefault(key, []).append(uid)
        await asyncio.sleep(rng.uniform(0, 0.01))
        events.append(("end", uid))
        running.discard(uid)
        if len(order.get("done", [])) + 1 == len(payloads):
            done.set()
        order.setdefault("done", []).append(uid)

    app.add_handler(TypeHandler(Update, handle))
    async with app:
        await app.start()
        for payload in payloads:
            await app.update_queue.put(Update.de_json(payload, app.bot))
        await asyncio.wait_for(done.wait(), 20)
        await app.stop()
    return events, order, peak


def _overlaps(events: list[tuple[str, int]], a: set[int]) -> bool:
    """Whether two updates of `a` were ever in a handler at the same time."""
    inside = 0
    for kind, uid in events:
        if uid in a:
            inside += 1 if kind == "start" else -1
            if inside > 1:
                return True
    return False


async def test_each_user_in_order_different_users_at_once() -> None:
    users = [101, 102, 103, 104, 105]
    payloads = [_message(n + 1, users[n % 5], users[n % 5], f"m{n}") for n in range(150)]
    events, order, peak = await _run(PerUserUpdateProcessor(4), payloads)
    for user in users:
        sent = [p["update_id"] for p in payloads if p["message"]["from"]["id"] == user]
        assert order[f"u{user}"] == sent  # arrival order, every update once
        assert not _overlaps(events, set(sent))
    assert 2 <= peak <= 4  # several users at once, never beyond the processor's bound


async def test_a_group_chat_is_one_by_one_even_across_users() -> None:
    # two users alternate in one group chat, a third writes privately
    payloads = []
    for n in range(60):
        user = (201, 202, 203)[n % 3]
        payloads.append(_message(n + 1, user, user if user == 203 else GROUP, f"g{n}"))
    events, order, peak = await _run(PerUserUpdateProcessor(8), payloads)
    in_group = [p["update_id"] for p in payloads if p["message"]["chat"]["id"] == GROUP]
    assert order[f"c{GROUP}"] == in_group
    assert not _overlaps(events, set(in_group))
    assert peak == 2  # the group's update and the private one, never two of the group


async def test_bound_of_one_is_strictly_sequential() -> None:
    payloads = [_message(n + 1, 300 + n % 7, 300 + n % 7, "x") for n in range(40)]
    events, _, peak = await _run(PerUserUpdateProcessor(1), payloads)
    assert peak == 1
    assert [uid for kind, uid in events if kind == "start"] == list(range(1, 41))
