"""Alerts to people as rows: written in the transaction of their cause, delivered by a job.

An alert names a message `kind` and its `params`; the chat layer renders it in the
recipient's language at delivery time. The dedupe key makes a repeated cause a no-op.

Delivery (driven by `bot.delivery`)::

    pending ──▶ delivered
       │ ├──▶ pending again, later   (flood control, network error, timeout: backoff)
       │ ├──▶ rerouted               (the person blocked the bot: copies to the managers)
       │ └──▶ failed                 (Telegram refused it for good, or too many attempts)
       └── waits while quiet hours last, unless urgent

Several deliverers (instances) may run at once: `claim_alerts` stamps the alerts it hands
out with a token and a short lease in one guarded UPDATE, so no two deliverers hold the
same alert; `release_alert_claims` gives back what a run did not try.

Delivery is at-least-once: a crash between Telegram's answer and `mark_delivered` /
`mark_delivered_many` sends the alert again on the next run (the deliverer records
accepted alerts in small batches, so that is at most one batch).

What a person can do from an alert is said as actions (`AlertAction`: a kind and the id
of the record it acts on, e.g. "open purchase order 7"), stored with the alert as
`{"action": "open_purchase_order", "id": 7}`. Storage knows nothing of buttons: the bot
draws each action as a button, and its handler checks the presser's right again.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from storage.errors import Forbidden
from storage.models import Alert, AlertStatus, AppSetting, Role, User

__all__ = [
    "MAX_ALERT_ATTEMPTS",
    "TEAM_CHAT_KEY",
    "ActionKind",
    "AlertAction",
    "actions_of",
    "alert_retry_delay",
    "alert_role",
    "alert_team",
    "alert_user",
    "alert_users",
    "claim_alerts",
    "due_alerts",
    "in_quiet_hours",
    "mark_alert_failed",
    "mark_alert_retry",
    "mark_delivered",
    "mark_delivered_many",
    "mark_unreachable",
    "quiet_hours_end",
    "release_alert_claims",
    "reroute_alert",
    "set_team_chat",
    "team_chat_id",
]

TEAM_CHAT_KEY = "team_chat_id"
MAX_ALERT_ATTEMPTS = 20
REROUTE_ROLES = (Role.MANAGER, Role.ADMIN)


class ActionKind(StrEnum):
    """What a person can do from an alert; the target is the record named after the dash."""

    OPEN_PURCHASE_ORDER = "open_purchase_order"  # a purchase order
    DELIVER_DEAL = "deliver_deal"  # a deal whose goods arrived
    APPROVE_SUPPLIER_INVOICE = "approve_supplier_invoice"  # a supplier invoice
    DISPUTE_SUPPLIER_INVOICE = "dispute_supplier_invoice"  # a supplier invoice
    REFUSE_SUPPLIER_INVOICE = "refuse_supplier_invoice"  # a supplier invoice
    RESUBMIT_INVOICE = "resubmit_invoice"  # an invoice the platform rejected
    MATCH_PAYMENT = "match_payment"  # a payment: show it with the invoices it may settle
    SEND_REMINDER = "send_reminder"  # a collection task
    LOG_CALL = "log_call"  # a collection task
    PROMISE_TO_PAY = "promise_to_pay"  # a collection task
    TOGGLE_DISPUTE = "toggle_dispute"  # a collection task: disputed, or resolved
    OPEN_OVERDUE_INVOICE = "open_overdue_invoice"  # a collection task: its invoice and log
    COMPLETE_TASK = "complete_task"  # a task


@dataclass(frozen=True)
class AlertAction:
    """One thing to do from an alert: `kind` on the record `target_id`."""

    kind: ActionKind
    target_id: int

    def to_json(self) -> dict[str, Any]:
        """As stored on the alert row: `{"action": "open_purchase_order", "id": 7}`."""
        return {"action": self.kind.value, "id": self.target_id}

    @classmethod
    def from_json(cls, value: object) -> AlertAction | None:
        """The action a stored value says; None for anything else (an unknown kind, a
        malformed value), which the reader skips."""
        if not isinstance(value, dict):
            return None
        target = value.get("id")
        try:
            kind = ActionKind(str(value.get("action")))
        except ValueError:
            return None
        return cls(kind, target) if type(target) is int else None


def actions_of(alert: Alert) -> list[AlertAction]:
    """The actions stored on an alert, in order (values no longer understood are skipped)."""
    found = (AlertAction.from_json(value) for value in alert.buttons or [])
    return [action for action in found if action is not None]


def _stored(actions: Sequence[AlertAction] | None) -> list[dict[str, Any]]:
    return [action.to_json() for action in actions or ()]


async def alert_user(
    user: User | int,
    kind: str,
    dedupe_key: str,
    params: dict[str, Any] | None = None,
    actions: Sequence[AlertAction] | None = None,
    *,
    urgent: bool = False,
) -> Alert | None:
    """Queue one alert for a user; returns None when the dedupe key was already used."""
    user_id = user if isinstance(user, int) else user.id
    alert, created = await Alert.get_or_create(
        dedupe_key=f"{dedupe_key}:u{user_id}"[:200],
        defaults={
            "user_id": user_id,
            "kind": kind,
            "params": params or {},
            "buttons": _stored(actions),
            "urgent": urgent,
        },
    )
    return alert if created else None


async def alert_users(items: list[tuple[int, str, str, dict[str, Any]]]) -> list[Alert]:
    """Queue many (user id, kind, dedupe key, params) alerts at once, as `alert_user` would.

    One query finds the dedupe keys already used, one bulk insert writes the others (call
    inside the causing transaction).
    """
    wanted: dict[str, Alert] = {}
    for user_id, kind, dedupe_key, params in items:
        key = f"{dedupe_key}:u{user_id}"[:200]
        wanted.setdefault(
            key,
            Alert(dedupe_key=key, user_id=user_id, kind=kind, params=params or {}, buttons=[], urgent=False),
        )
    if not wanted:
        return []
    rows = await Alert.filter(dedupe_key__in=list(wanted)).values_list("dedupe_key", flat=True)
    used = {str(key) for key in rows}
    fresh = [a for key, a in wanted.items() if key not in used]
    if fresh:
        await Alert.bulk_create(fresh)
    return fresh


async def alert_role(
    roles: tuple[Role, ...],
    kind: str,
    dedupe_key: str,
    params: dict[str, Any] | None = None,
    actions: Sequence[AlertAction] | None = None,
    *,
    urgent: bool = False,
) -> list[Alert]:
    """Queue the alert for every active user holding one of the roles."""
    alerts = []
    for user in await User.filter(role__in=list(roles), active=True):
        alert = await alert_user(user, kind, dedupe_key, params, actions, urgent=urgent)
        if alert is not None:
            alerts.append(alert)
    return alerts


async def team_chat_id() -> int | None:
    """The team group chat named by a manager, if any."""
    setting = await AppSetting.get_or_none(key=TEAM_CHAT_KEY)
    return int(setting.value) if setting is not None and setting.value is not None else None


async def set_team_chat(actor: User, chat_id: int | None) -> None:
    """A manager (or admin) names the group chat that receives team-wide alerts (None: none)."""
    if actor.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden("team_chat")
    if chat_id is None:
        await AppSetting.filter(key=TEAM_CHAT_KEY).delete()
    else:
        await AppSetting.update_or_create(key=TEAM_CHAT_KEY, defaults={"value": chat_id})


async def alert_team(
    kind: str,
    dedupe_key: str,
    params: dict[str, Any] | None = None,
    actions: Sequence[AlertAction] | None = None,
    *,
    urgent: bool = False,
) -> list[Alert]:
    """A team-wide alert: into the team group chat when one is set, else to each manager."""
    chat_id = await team_chat_id()
    if chat_id is None:
        return await alert_role((Role.MANAGER,), kind, dedupe_key, params, actions, urgent=urgent)
    alert, created = await Alert.get_or_create(
        dedupe_key=f"{dedupe_key}:team"[:200],
        defaults={
            "chat_id": chat_id,
            "kind": kind,
            "params": params or {},
            "buttons": _stored(actions),
            "urgent": urgent,
        },
    )
    return [alert] if created else []


# Quiet hours ---------------------------------------------------------------------------


def _parse_span(spec: str) -> tuple[time, time] | None:
    if not spec:
        return None
    start, end = (time.fromisoformat(part.strip().zfill(5)) for part in spec.split("-"))
    return (start, end) if start != end else None


def in_quiet_hours(now: datetime, spec: str, zone: ZoneInfo) -> bool:
    """Is `now` inside the quiet hours `HH:MM-HH:MM` (local time, may span midnight)?"""
    span = _parse_span(spec)
    if span is None:
        return False
    start, end = span
    local = now.astimezone(zone).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(now: datetime, spec: str, zone: ZoneInfo) -> datetime | None:
    """When the current quiet hours end (aware, UTC-comparable), or None outside them."""
    span = _parse_span(spec)
    if span is None or not in_quiet_hours(now, spec, zone):
        return None
    local = now.astimezone(zone)
    end = datetime.combine(local.date(), span[1], tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), span[1], tzinfo=zone)
    return end


# Delivery use-cases ---------------------------------------------------------------------


def alert_retry_delay(attempts: int) -> timedelta:
    """Backoff after the n-th failed attempt: 5 s, 10 s, 20 s... capped at 10 minutes."""
    delay: timedelta = timedelta(seconds=5) * (2 ** max(0, min(attempts - 1, 12)))
    return min(delay, timedelta(minutes=10))


def _due(now: datetime, quiet: bool) -> Q:
    due = (
        Q(status=AlertStatus.PENDING)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )
    return due & Q(urgent=True) if quiet else due


async def claim_alerts(
    now: datetime, lease: timedelta, *, quiet: bool, limit: int = 500, chats_first: int = 0
) -> tuple[str, list[Alert]]:
    """`due_alerts`, claimed for this deliverer: (its token, the alerts it won)."""
    candidates = await due_alerts(now, quiet=quiet, limit=limit, chats_first=chats_first)
    if not candidates:
        return "", []
    token = uuid.uuid4().hex
    await Alert.filter(Q(id__in=[a.id for a in candidates]) & _due(now, quiet)).update(
        claim_token=token, claimed_until=now + lease
    )
    won = {a.id for a in await Alert.filter(claim_token=token).only("id")}
    return token, [a for a in candidates if a.id in won]


async def release_alert_claims(token: str) -> int:
    """Give back the alerts of a claim still pending (not tried, or to retry later)."""
    if not token:
        return 0
    return await Alert.filter(claim_token=token, status=AlertStatus.PENDING).update(
        claim_token=None, claimed_until=None
    )


async def due_alerts(now: datetime, *, quiet: bool, limit: int = 500, chats_first: int = 0) -> list[Alert]:
    """Pending alerts due now, oldest first; during quiet hours only the urgent ones.

    `chats_first`: up to that many alerts addressed to a chat rather than a person (the
    team group, which Telegram lets receive only 20 messages a minute) are taken in any
    case, so the slowest lane starts draining at once instead of waiting behind a backlog
    of private alerts.
    """
    due = _due(now, quiet)
    found: dict[int, Alert] = {}
    if chats_first > 0:
        for alert in (
            await Alert.filter(due & Q(user_id__isnull=True))
            .order_by("id")
            .limit(chats_first)
            .prefetch_related("user", "rerouted_from")
        ):
            found[alert.id] = alert
    for alert in (
        await Alert.filter(due).order_by("id").limit(limit).prefetch_related("user", "rerouted_from")
    ):
        found.setdefault(alert.id, alert)
    return sorted(found.values(), key=lambda a: a.id)


async def mark_delivered(alert: Alert, now: datetime) -> None:
    """Telegram accepted the message."""
    await mark_delivered_many([alert], now)


async def mark_delivered_many(alerts: list[Alert], now: datetime) -> int:
    """Telegram accepted these messages: one UPDATE for the batch; returns how many moved."""
    if not alerts:
        return 0
    return await Alert.filter(id__in=[a.id for a in alerts], status=AlertStatus.PENDING).update(
        status=AlertStatus.DELIVERED, delivered_at=now, attempts=F("attempts") + 1
    )


async def mark_alert_retry(alert: Alert, error: str, now: datetime, delay: timedelta | None = None) -> None:
    """Try again later: after `delay` (flood control says how long) or the backoff."""
    attempts = alert.attempts + 1
    if attempts >= MAX_ALERT_ATTEMPTS:
        await mark_alert_failed(alert, error)
        return
    await Alert.filter(id=alert.id, status=AlertStatus.PENDING).update(
        attempts=attempts,
        next_attempt_at=now + (delay if delay is not None else alert_retry_delay(attempts)),
        last_error=error[:2000],
    )


async def mark_alert_failed(alert: Alert, error: str) -> None:
    """Telegram refused this message for good (logged; nothing more can be done)."""
    await Alert.filter(id=alert.id, status=AlertStatus.PENDING).update(
        status=AlertStatus.FAILED, attempts=alert.attempts + 1, last_error=error[:2000]
    )


async def _managers(excluding: int | None) -> list[User]:
    for role in REROUTE_ROLES:
        found = (
            await User.filter(role=role, active=True, unreachable=False, telegram_id__isnull=False)
            .exclude(id=excluding or 0)
            .order_by("id")
        )
        if found:
            return list(found)
    return []


async def reroute_alert(alert: Alert, reason: str) -> list[Alert]:
    """Give a copy of the alert to each reachable manager (admins if none); close the original."""
    async with in_transaction():
        managers = await _managers(alert.user_id)
        moved = await Alert.filter(id=alert.id, status=AlertStatus.PENDING).update(
            status=AlertStatus.REROUTED if managers else AlertStatus.FAILED,
            last_error=(reason if managers else f"{reason}; no reachable manager")[:2000],
        )
        if not moved:
            return []
        copies = []
        for manager in managers:
            copy, created = await Alert.get_or_create(
                dedupe_key=f"{alert.dedupe_key}:r{manager.id}"[:200],
                defaults={
                    "user_id": manager.id,
                    "kind": alert.kind,
                    "params": alert.params,
                    "buttons": alert.buttons,
                    "urgent": alert.urgent,
                    "rerouted_from_id": alert.user_id,
                },
            )
            if created:
                copies.append(copy)
        return copies


async def mark_unreachable(alert: Alert, reason: str) -> list[Alert]:
    """The recipient blocked the bot: mark them unreachable, reroute all their pending alerts.

    For the team chat (no user), the team chat setting is cleared and the alert goes to
    the managers.
    """
    async with in_transaction():
        if alert.user_id is None:
            if alert.chat_id is not None and alert.chat_id == await team_chat_id():
                await AppSetting.filter(key=TEAM_CHAT_KEY).delete()
            return await reroute_alert(alert, reason)
        await User.filter(id=alert.user_id).update(unreachable=True)
        copies: list[Alert] = []
        pending = await Alert.filter(user_id=alert.user_id, status=AlertStatus.PENDING)
        for each in pending:
            copies += await reroute_alert(each, reason)
        return copies
