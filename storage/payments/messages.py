"""Bank mail as the inbox hands it over: recorded, quarantined, or kept as unrecognised.

A trusted message's notices are recorded with its inbox row in one transaction
(`ingest_message`); a message that fails the trust checks (`quarantine_message`) or holds
nothing recognisable (`store_unrecognised`) is kept with its reason, and admins and
managers get one alert. A message's row is one per Message-ID and status: re-reading the
mailbox reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from storage.models import Alert, InboxMessage, InboxStatus, Role, User
from storage.payments.alerts import bounded
from storage.payments.batch import Batch, RecordOutcome
from storage.payments.notices import PaymentNotice
from storage.payments.recording import again_if_aborted, record
from storage.payments.writes import write_effects

__all__ = ["MAX_STORED_RAW", "ingest_message", "quarantine_message", "store_unrecognised"]

MAX_STORED_RAW = 5 * 1024 * 1024
QUARANTINE_ROLES = (Role.ADMIN, Role.MANAGER)


async def _message_row(message_id: str, status: InboxStatus, **values: Any) -> InboxMessage:
    """The inbox row of a message (one per Message-ID and status: a re-read reuses it)."""
    row = await InboxMessage.get_or_none(message_id=message_id, status=status)
    if row is None:
        row = await InboxMessage.create(message_id=message_id, status=status, **values)
    return row


def _clip(values: dict[str, Any]) -> dict[str, Any]:
    """A message's columns within their sizes (a huge raw message keeps its headers only)."""
    values = dict(values)
    values["sender"] = (values.get("sender") or "")[:254]
    values["subject"] = (values.get("subject") or "")[:300]
    raw = values.get("raw_message")
    if raw is not None and len(raw) > MAX_STORED_RAW:
        head, _, _ = bytes(raw).partition(b"\r\n\r\n")
        values["raw_message"] = head[:MAX_STORED_RAW]
    return values


async def ingest_message(
    notices: Sequence[PaymentNotice],
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    now: datetime,
    our_accounts: Sequence[str] | None = None,
    refused: str | None = None,
    reasons: list[Any] | None = None,
) -> tuple[InboxMessage, RecordOutcome]:
    """A trusted message's notices: the inbox row and the payments, in one transaction.

    `our_accounts`: see `record_notices`; a notice held back leaves its reason on the row.
    `refused`: why some parts of the message were not read (an attachment refused,
    unreadable, about another account...): kept on the row, and admins and managers get
    one alert, even when the rest of the message settled invoices."""
    return await again_if_aborted(
        lambda: _ingest(
            notices,
            message_id=message_id,
            folder=folder,
            uid=uid,
            sender=sender,
            subject=subject,
            now=now,
            our_accounts=our_accounts,
            refused=refused,
            reasons=reasons,
        )
    )


async def _ingest(
    notices: Sequence[PaymentNotice],
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    now: datetime,
    our_accounts: Sequence[str] | None,
    refused: str | None,
    reasons: list[Any] | None,
) -> tuple[InboxMessage, RecordOutcome]:
    async with in_transaction():
        row = await _message_row(
            message_id,
            InboxStatus.PROCESSED,
            **_clip({"folder": folder, "uid": uid, "sender": sender, "subject": subject}),
        )
        batch = await record(notices, row, now, our_accounts)
        texts = ([refused] if refused else []) + sorted(set(batch.held.values()))
        if texts:
            row.reason = "; ".join(texts)
            row.reasons = list(reasons or [])
            for key in batch.held_keys.values():
                if key not in row.reasons:
                    row.reasons.append(key)
            await row.save(update_fields=["reason", "reasons"])
        if refused:
            params = {
                "id": row.id,
                "sender": row.sender,
                "subject": row.subject,
                "reason": bounded(refused),
                "reason_key": list(reasons or []),
            }
            told = Batch(now=now)
            for user in await User.filter(role__in=list(QUARANTINE_ROLES), active=True):
                told.alert(user.id, "mail_partly_read", f"partly:{message_id}", params)
            await write_effects(told)
        return row, batch.outcome


async def quarantine_message(
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    raw: bytes,
    reason: str,
    now: datetime,
    reasons: list[Any] | None = None,
) -> InboxMessage:
    """Keep an untrusted message with its reason and tell admins and managers; never settles.
    `reasons`: the same as translatable codes ([[key, {params}], ...])."""
    return await _keep_for_people(
        InboxStatus.QUARANTINED,
        "quarantine",
        "quarantined",
        message_id=message_id,
        folder=folder,
        uid=uid,
        sender=sender,
        subject=subject,
        raw=raw,
        reason=reason,
        reasons=reasons,
    )


async def store_unrecognised(
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    raw: bytes,
    reason: str,
    now: datetime,
    reasons: list[Any] | None = None,
) -> InboxMessage:
    """Keep a trusted message with nothing recognisable, with the reason, for a human."""
    return await _keep_for_people(
        InboxStatus.UNRECOGNISED,
        "unrecognised",
        "mail_unrecognised",
        message_id=message_id,
        folder=folder,
        uid=uid,
        sender=sender,
        subject=subject,
        raw=raw,
        reason=reason,
        reasons=reasons,
    )


async def _keep_for_people(
    status: InboxStatus,
    key: str,
    kind: str,
    *,
    message_id: str,
    folder: str,
    uid: int | None,
    sender: str,
    subject: str,
    raw: bytes,
    reason: str,
    reasons: list[Any] | None = None,
) -> InboxMessage:
    """The message row and, in the same transaction, one alert per admin and manager."""
    async with in_transaction():
        row = await _message_row(
            message_id,
            status,
            **_clip(
                {
                    "folder": folder,
                    "uid": uid,
                    "sender": sender,
                    "subject": subject,
                    "raw_message": raw,
                    "reason": reason,
                    "reasons": list(reasons or []),
                }
            ),
        )
        params = {
            "id": row.id,
            "sender": row.sender,
            "subject": row.subject,
            "reason": bounded(reason),
            "reason_key": list(reasons or []),
        }
        for user in await User.filter(role__in=list(QUARANTINE_ROLES), active=True):
            await Alert.get_or_create(
                dedupe_key=f"{key}:{message_id}:u{user.id}"[:200],
                defaults={"user_id": user.id, "kind": kind, "params": params},
            )
    return row
