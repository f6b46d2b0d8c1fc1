"""Seed the default warehouse (one warehouse unless the company adds more)."""

from __future__ import annotations

from storage.models import Warehouse

DEFAULT_WAREHOUSE = "main"


async def seed_warehouse() -> Warehouse:
    """Create the default warehouse if it is missing and return it."""
    warehouse, _ = await Warehouse.get_or_create(name=DEFAULT_WAREHOUSE)
    return warehouse
