"""Unexpected errors reported to the administrators: one alert per key per hour, with a count.

The key names what failed (the chat handler and the kind of error, e.g.
`contacts.contact:OperationalError`), so six different failures are six alerts while
the same failure repeated a hundred times in an hour is one alert saying "100 times".
The alert row is the effect (delivered by the alerts job like any other).
"""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from storage.models import Alert, AlertStatus, Role, User

__all__ = ["report_error"]


def _hour(now: datetime) -> str:
    return now.strftime("%Y%m%d%H")


async def report_error(key: str, now: datetime) -> int:
    """Queue (or count into the pending) alert for each active admin; returns the count."""
    count = 0
    async with in_transaction():
        admins = await User.filter(role=Role.ADMIN, active=True).only("id")
        for admin in admins:
            dedupe = f"handler-error:{key}:{_hour(now)}"[:190] + f":u{admin.id}"
            alert, created = await Alert.get_or_create(
                dedupe_key=dedupe,
                defaults={
                    "user_id": admin.id,
                    "kind": "handler_error",
                    "urgent": True,
                    "params": {"error": key, "count": 1},
                    "buttons": [],
                },
            )
            if not created and alert.status == AlertStatus.PENDING:
                alert.params = {**alert.params, "count": int(alert.params.get("count", 1)) + 1}
                await alert.save(update_fields=["params"])
            count = max(count, int(alert.params.get("count", 1)))
    return count
