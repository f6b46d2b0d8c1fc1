"""The audit log: one row for every change, written inside the change's transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from storage.models import AuditLog, User
from storage.sql import insert

__all__ = ["record", "snapshot"]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "value") and isinstance(getattr(value, "value", None), str):
        return value.value
    return value


def snapshot(obj: Any, fields: list[str]) -> dict[str, Any]:
    """A JSON-safe dict of the named fields of a record."""
    return {name: _plain(getattr(obj, name)) for name in fields}


async def record(
    user: User | None,
    entity: str,
    entity_id: int | str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write one audit row (call inside the transaction of the change).

    One hand-written INSERT (`storage.sql.insert`, the ORM's own value conversion): every
    change writes one, so it skips the ORM's query building.
    """
    await insert(
        AuditLog,
        user_id=user.id if user is not None else None,
        at=datetime.now(UTC),
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
    )
