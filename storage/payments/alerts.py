"""Who is told about payments that need people: returns, and entries left unmatched.

Alerts are rows of the batch (`Batch.alert`), written with the payments they are about.
A reason is bounded as an alert shows it; the whole text stays on its row.
"""

from __future__ import annotations

from storage.alerts import ActionKind, AlertAction
from storage.models import Payment, Role, User
from storage.payments.batch import Batch
from storage.payments.notes import notes_of

__all__ = ["MAX_ALERT_REASON", "alert_returns", "alert_unmatched", "bounded"]

MAX_ALERT_REASON = 300
RETURN_ROLES = (Role.COLLECTIONS, Role.MANAGER)
UNMATCHED_ROLES = (Role.MANAGER, Role.COLLECTIONS)
_MAX_UNMATCHED_ALERTS = 50


def bounded(text: str, limit: int = MAX_ALERT_REASON) -> str:
    """A reason as an alert shows it: at most `limit` characters (the whole text stays on
    the message row, shown by `/payments quarantine`)."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def alert_returns(batch: Batch) -> None:
    """The owner, collections and managers learn of each return, with its reason in words."""
    team = [u.id for u in await User.filter(role__in=list(RETURN_ROLES), active=True)]
    for owner_id, entry, params in batch.returns:
        for user_id in dict.fromkeys([owner_id, *team]):
            batch.alert(user_id, "payment_returned", f"returned:{entry}", params)


async def alert_unmatched(batch: Batch, keys: list[str]) -> None:
    """Managers and collections learn of each payment left for a person (the first 50 of a
    batch), with why when it was held back."""
    users = await User.filter(role__in=list(UNMATCHED_ROLES), active=True)
    if not users:
        return
    for payment in await Payment.filter(entry_ref__in=keys[:_MAX_UNMATCHED_ALERTS]):
        notes = notes_of(payment.notes)
        params = {
            "id": payment.id,
            "amount_cents": payment.amount_cents,
            "currency": payment.currency,
            "payer": payment.payer_name or "?",
            # the notes are said in the recipient's language at delivery; a payment recorded
            # before they were messages has only its English text
            "note": "" if notes else bounded(f"\n{payment.note}" if payment.note else ""),
        }
        if notes:
            params["note_msgs"] = notes
        buttons = [AlertAction(ActionKind.MATCH_PAYMENT, payment.id).to_json()]
        reason = batch.held.get(payment.entry_ref)
        kind = "payment_unmatched" if reason is None else "payment_held"
        if reason is not None:
            params["reason"] = bounded(reason)
            params["reason_key"] = [batch.held_keys[payment.entry_ref]]
        for user in users:
            batch.alert(user.id, kind, f"unmatched:{payment.id}", params, buttons)
