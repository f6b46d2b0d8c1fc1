"""The hand-written hot paths (user lookup, moves, new deals, audit, the stage cache) keep
every rule the ORM version kept, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from storage.contacts import NewContact, create_contact
from storage.errors import InvalidInput, NotFound
from storage.models import AuditLog, Deal, Role, Stage, StageChange
from storage.pipeline import create_deal, find_stage, funnel, lose_deal, move_deal, stages
from storage.users import create_user, deactivate, set_role, user_for_telegram


async def _counts() -> tuple[int, int, int]:
    return await Deal.all().count(), await StageChange.all().count(), await AuditLog.all().count()


async def test_a_deactivated_user_or_a_new_role_counts_on_the_very_next_lookup(any_db: str) -> None:
    admin = await create_user("root", Role.ADMIN, telegram_id=9)
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    first = await user_for_telegram(1)
    assert first is not None and first.id == alice.id and first.role == Role.SALES
    await set_role(admin, alice, Role.MANAGER)
    again = await user_for_telegram(1)
    assert again is not None and again.role == Role.MANAGER
    await deactivate(admin, alice)
    assert await user_for_telegram(1) is None
    assert await user_for_telegram(404) is None


async def test_new_deal_rows_read_back_through_the_orm(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    deal = await create_deal(
        alice, ann.id, "  Big   order ", 1_234_56, "EUR", expected_close=date(2026, 12, 31)
    )
    stored = await Deal.get(id=deal.id).prefetch_related("stage")
    assert (stored.title, stored.amount_cents, stored.owner_id, stored.contact_id) == (
        "Big order",
        1_234_56,
        alice.id,
        ann.id,
    )
    assert stored.stage.name == "Lead" and stored.expected_close == date(2026, 12, 31)
    assert stored.created_at is not None and stored.created_at.tzinfo is not None
    (change,) = await StageChange.filter(deal_id=deal.id)
    assert (change.from_stage_id, change.to_stage_id, change.user_id) == (None, stored.stage_id, alice.id)
    (row,) = await AuditLog.filter(entity="deal", entity_id=str(deal.id))
    assert row.action == "create" and row.user_id == alice.id and row.before is None
    assert row.after == {
        "title": "Big order",
        "amount_cents": 1_234_56,
        "currency": "EUR",
        "stage_id": stored.stage_id,
        "owner_id": alice.id,
        "lost_reason": None,
    }


async def test_a_move_writes_deal_history_and_audit_before_and_after(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    deal = await create_deal(alice, ann.id, "Order", 500_00, "EUR")
    lead, proposal = await find_stage("Lead"), await find_stage("Proposal")
    await lose_deal(alice, deal.id, "  too expensive ")
    stored = await Deal.get(id=deal.id)
    lost = await find_stage("Lost")
    assert stored.stage_id == lost.id and stored.lost_reason == "too expensive"
    assert stored.updated_at >= stored.created_at
    await move_deal(alice, deal.id, proposal)
    stored = await Deal.get(id=deal.id)
    assert stored.stage_id == proposal.id and stored.lost_reason is None and stored.won_at is None
    history = await StageChange.filter(deal_id=deal.id).order_by("id")
    assert [(h.from_stage_id, h.to_stage_id) for h in history] == [
        (None, lead.id),
        (lead.id, lost.id),
        (lost.id, proposal.id),
    ]
    moves = await AuditLog.filter(entity="deal", action="move").order_by("id")
    assert [(m.before["stage_id"], m.after["stage_id"]) for m in moves if m.before and m.after] == [
        (lead.id, lost.id),
        (lost.id, proposal.id),
    ]
    assert moves[0].after is not None and moves[0].after["lost_reason"] == "too expensive"


async def test_refused_moves_and_new_deals_write_nothing(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    bob = await create_user("bob", Role.SALES, telegram_id=2)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    deal = await create_deal(alice, ann.id, "Order", 500_00, "EUR")
    before = await _counts()
    with pytest.raises(NotFound):
        await move_deal(bob, deal.id, await find_stage("Proposal"))
    with pytest.raises(NotFound):
        await create_deal(bob, ann.id, "Steal", 1, "EUR")
    with pytest.raises(NotFound):
        await create_deal(alice, 999_999, "Nobody", 1, "EUR")
    with pytest.raises(InvalidInput):
        await lose_deal(alice, deal.id, " ")
    assert await _counts() == before
    assert (await Deal.get(id=deal.id)).stage_id == (await find_stage("Lead")).id


async def test_stage_writes_are_seen_at_once_despite_the_cache(any_db: str) -> None:
    assert [s.name for s in await stages()][:2] == ["Lead", "Qualified"]
    lead = await Stage.get(name="Lead")
    lead.name = "Prospect call"
    await lead.save()
    assert (await find_stage("prospect call")).id == lead.id
    await Stage.create(name="Trial", position=2, probability=40)
    assert "Trial" in [s.name for s in await stages()]
    assert (await find_stage("trial")).probability == 40
    with pytest.raises(InvalidInput):
        await find_stage("Nowhere")


async def test_funnel_by_hand_matches_the_deals(any_db: str) -> None:
    boss = await create_user("boss", Role.MANAGER, telegram_id=3)
    alice = await create_user("alice", Role.SALES, telegram_id=1)
    gone = await create_user("gone", Role.SALES, telegram_id=2)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    old = await create_contact(gone, NewContact("Old"), region="FR")
    await create_deal(alice, ann.id, "A", 1_000_00, "EUR")
    await create_deal(alice, ann.id, "B", 50_00, "USD")
    await create_deal(gone, old.id, "C", 7_00, "EUR")
    await deactivate(await create_user("root", Role.ADMIN, telegram_id=9), gone)
    total, team = await funnel(boss, "EUR")
    lead = [r for r in total if r.stage == "Lead"]
    assert [(r.currency, r.count, r.total_cents) for r in lead] == [("EUR", 2, 1_007_00), ("USD", 1, 50_00)]
    assert list(team) == ["alice"]
    mine, none = await funnel(alice, "EUR")
    assert none == {} and sum(r.count for r in mine) == 2
