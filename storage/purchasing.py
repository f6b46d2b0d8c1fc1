"""Stock, reservations and supplier purchase orders (grows with the purchasing issue)."""

from __future__ import annotations

from storage.models import Deal, DealLine, Reservation
from storage.purchasing_seed import seed_warehouse

__all__ = ["reserve_for_deal"]


async def reserve_for_deal(deal: Deal) -> None:
    """Reserve a won deal's line quantities in the default warehouse (once per deal)."""
    if await Reservation.filter(deal_id=deal.id).exists():
        return
    lines = await DealLine.filter(deal_id=deal.id)
    if not lines:
        return
    warehouse = await seed_warehouse()
    await Reservation.bulk_create(
        [
            Reservation(deal_id=deal.id, product_id=line.product_id, warehouse=warehouse,
                        quantity=line.quantity)
            for line in lines
        ]
    )
