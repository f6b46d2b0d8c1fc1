"""Alerts to people as rows: written in the transaction of their cause, delivered by a job.

An alert names a message `kind` and its `params`; the chat layer renders it in the
recipient's language at delivery time. The dedupe key makes a repeated cause a no-op.
"""

from __future__ import annotations

from typing import Any

from storage.models import Alert, Role, User

__all__ = ["alert_role", "alert_user"]


async def alert_user(
    user: User | int,
    kind: str,
    dedupe_key: str,
    params: dict[str, Any] | None = None,
    buttons: list[dict[str, str]] | None = None,
) -> Alert | None:
    """Queue one alert for a user; returns None when the dedupe key was already used."""
    user_id = user if isinstance(user, int) else user.id
    alert, created = await Alert.get_or_create(
        dedupe_key=f"{dedupe_key}:u{user_id}"[:200],
        defaults={
            "user_id": user_id,
            "kind": kind,
            "params": params or {},
            "buttons": buttons or [],
        },
    )
    return alert if created else None


async def alert_role(
    roles: tuple[Role, ...],
    kind: str,
    dedupe_key: str,
    params: dict[str, Any] | None = None,
    buttons: list[dict[str, str]] | None = None,
) -> list[Alert]:
    """Queue the alert for every active user holding one of the roles."""
    alerts = []
    for user in await User.filter(role__in=list(roles), active=True):
        alert = await alert_user(user, kind, dedupe_key, params, buttons)
        if alert is not None:
            alerts.append(alert)
    return alerts
