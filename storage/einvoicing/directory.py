"""A client's e-invoicing address, from the PA's directory (XP Z12-013 Annex B), cached.

The lookup itself is done by `mail.pa.worker` (it talks to the PA); this module keeps what
it found on `PaAddressing` and says when it is stale. Also the client's wish to receive
the PDF by email besides the platform.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from storage import audit
from storage.contacts import get_contact
from storage.models import PaAddressing, User

__all__ = ["MAX_AGE", "addressing_of", "is_stale", "remember_addressing", "set_also_email"]

MAX_AGE = timedelta(days=30)


async def addressing_of(contact_id: int) -> PaAddressing | None:
    return await PaAddressing.get_or_none(contact_id=contact_id)


def is_stale(row: PaAddressing | None, siren: str, now: datetime) -> bool:
    """Look the client up again when never done, older than MAX_AGE or their SIREN changed."""
    return (
        row is None or row.looked_up_at is None or row.siren != siren[:9] or now - row.looked_up_at > MAX_AGE
    )


def _best(lines: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    enabled = [ln for ln in lines if ln.get("directoryLineStatus", "Enabled") == "Enabled"]
    chosen = enabled or list(lines)
    return chosen[0] if chosen else None


async def remember_addressing(
    contact_id: int, siren: str, lines: Sequence[dict[str, Any]], now: datetime
) -> PaAddressing:
    """Keep what the directory answered for the client (found or not) and when."""
    line = _best(lines)
    values = {
        "siren": siren[:9],
        "siret": str((line or {}).get("siret") or "")[:14],
        "found": line is not None,
        "address_id": str((line or {}).get("addressingIdentifier") or "")[:128],
        "platform": str((line or {}).get("platformType") or "")[:200],
        "looked_up_at": now,
    }
    row, created = await PaAddressing.get_or_create(contact_id=contact_id, defaults=values)
    if not created:
        await PaAddressing.filter(id=row.id).update(**values)
        await row.refresh_from_db()
    return row


async def set_also_email(actor: User, contact_id: int, wanted: bool) -> PaAddressing:
    """The client also wants the PDF by email besides the platform (or no longer)."""
    await get_contact(actor, contact_id, write=True)
    row, _ = await PaAddressing.get_or_create(contact_id=contact_id)
    if row.also_email != wanted:
        await PaAddressing.filter(id=row.id).update(also_email=wanted)
        await audit.record(
            actor,
            "contact",
            contact_id,
            "pa_also_email",
            {"also_email": row.also_email},
            {"also_email": wanted},
        )
        row.also_email = wanted
    return row
