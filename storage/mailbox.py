"""The inbox watcher's memory: UIDVALIDITY and last UID per folder, and the mailbox health.

A mailbox unreachable for longer than `DOWN_ALERT_AFTER` alerts the admins once; the next
successful connection clears the state so a later outage alerts again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from storage.alerts import alert_role
from storage.models import MailboxState, Role

__all__ = [
    "DOWN_ALERT_AFTER",
    "advance_cursor",
    "mailbox_failed",
    "mailbox_ok",
    "open_cursor",
    "should_alert_down",
]

DOWN_ALERT_AFTER = timedelta(minutes=15)


def should_alert_down(down_since: datetime | None, now: datetime, alerted: bool) -> bool:
    """True once the mailbox has been unreachable for longer than 15 minutes."""
    return down_since is not None and not alerted and now - down_since > DOWN_ALERT_AFTER


async def open_cursor(folder: str, uidvalidity: int) -> int:
    """The last processed UID of a folder; a changed UIDVALIDITY restarts from zero."""
    async with in_transaction():
        state, _ = await MailboxState.get_or_create(folder=folder)
        if state.uidvalidity != uidvalidity:
            state.uidvalidity = uidvalidity
            state.last_uid = 0
            await state.save(update_fields=["uidvalidity", "last_uid"])
        return int(state.last_uid)


async def advance_cursor(folder: str, uidvalidity: int, uid: int) -> None:
    """Remember that every UID up to `uid` of this folder generation was handled."""
    await MailboxState.filter(folder=folder, uidvalidity=uidvalidity, last_uid__lt=uid).update(last_uid=uid)


async def mailbox_ok(folder: str, now: datetime) -> None:
    """A successful pass: clear any outage."""
    async with in_transaction():
        state, _ = await MailboxState.get_or_create(folder=folder)
        state.last_ok_at = now
        state.down_since = None
        state.down_alerted = False
        await state.save(update_fields=["last_ok_at", "down_since", "down_alerted"])


async def mailbox_failed(folder: str, now: datetime, error: str) -> bool:
    """A failed connection; True when this failure raised the (single) admin alert."""
    async with in_transaction():
        state, _ = await MailboxState.get_or_create(folder=folder)
        if state.down_since is None:
            state.down_since = now
        alert = should_alert_down(state.down_since, now, state.down_alerted)
        if alert:
            state.down_alerted = True
            await alert_role(
                (Role.ADMIN,),
                "mailbox_down",
                f"mailbox_down:{folder}:{state.down_since.isoformat()}",
                {"folder": folder, "since_date": state.down_since.date().isoformat(), "error": error[:200]},
            )
        await state.save(update_fields=["down_since", "down_alerted"])
        return alert
