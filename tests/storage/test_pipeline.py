"""Deals through the funnel, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from storage.contacts import NewContact, create_contact
from storage.errors import Conflict, InvalidInput, NotFound
from storage.models import AuditLog, Role, StageChange
from storage.pipeline import (
    create_deal,
    find_stage,
    lose_deal,
    move_deal,
    pipeline_summary,
    weighted_cents,
    win_deal,
)
from storage.users import create_user


async def test_moves_write_history_and_audit(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    deal = await create_deal(alice, ann.id, "Order", 1_000_00, "EUR")
    await move_deal(alice, deal.id, await find_stage("proposition"))
    await win_deal(alice, deal.id)
    history = await StageChange.filter(deal_id=deal.id).order_by("id").prefetch_related("to_stage")
    assert [h.to_stage.name for h in history] == ["Lead", "Proposal", "Won"]
    assert await AuditLog.filter(entity="deal", entity_id=str(deal.id), action="move").count() == 2


async def test_salesperson_cannot_touch_anothers_deal(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    bob = await create_user("bob", Role.SALES, telegram_id=2)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    deal = await create_deal(alice, ann.id, "Order", 500_00, "EUR")
    with pytest.raises(NotFound):
        await win_deal(bob, deal.id)
    with pytest.raises(NotFound):
        await create_deal(bob, ann.id, "Steal", 1, "EUR")


async def test_lost_needs_a_reason_and_same_stage_is_refused(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    deal = await create_deal(alice, ann.id, "Order", 500_00, "EUR")
    with pytest.raises(InvalidInput):
        await lose_deal(alice, deal.id, "  ")
    with pytest.raises(Conflict):
        await move_deal(alice, deal.id, await find_stage("Lead"))


async def test_pipeline_weighted_totals(any_db: str) -> None:
    boss = await create_user("boss", Role.MANAGER, telegram_id=3)
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    await create_deal(alice, ann.id, "A", 1_000_00, "EUR")
    await create_deal(alice, ann.id, "B", 333_33, "EUR")
    rows = {r.stage: r for r in await pipeline_summary(boss, "EUR")}
    assert rows["Lead"].count == 2
    assert rows["Lead"].total_cents == 1_333_33
    assert rows["Lead"].weighted_cents == weighted_cents(1_333_33, 10) == 133_33
    assert rows["Won"].count == 0


def test_weighted_rounds_half_up() -> None:
    assert weighted_cents(5, 50) == 3
    assert weighted_cents(1, 50) == 1
