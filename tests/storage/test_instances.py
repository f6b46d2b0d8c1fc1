"""Several instances on one database: claimed job periods, claimed alerts, DB uniqueness."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from storage.alerts import alert_user, claim_alerts, release_alert_claims
from storage.jobs import claim_run, job_succeeded, stuck_jobs
from storage.models import Alert, Contact, POStatus, PurchaseOrder, Role
from storage.users import create_user

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR, LEASE = timedelta(hours=1), timedelta(minutes=10)


async def test_a_period_is_run_by_one_of_many_racing_runners(any_db: str) -> None:
    runs = await asyncio.gather(*(claim_run("overdue", NOW, HOUR, LEASE) for _ in range(6)))
    winners = [r for r in runs if r is not None]
    assert len(winners) == 1
    await job_succeeded(winners[0], "done", 5)
    # Later in the same period: nobody; once the period has passed: one again.
    assert await claim_run("overdue", NOW + timedelta(minutes=30), HOUR, LEASE) is None
    later = await asyncio.gather(*(claim_run("overdue", NOW + HOUR, HOUR, LEASE) for _ in range(3)))
    assert sum(r is not None for r in later) == 1


async def test_a_runner_killed_mid_run_holds_the_job_until_its_lease_ends(any_db: str) -> None:
    assert await claim_run("digest", NOW, timedelta(minutes=1), LEASE) is not None
    # The runner died: the next periods are not taken while its lease lives...
    assert await claim_run("digest", NOW + timedelta(minutes=5), timedelta(minutes=1), LEASE) is None
    assert await stuck_jobs(NOW + timedelta(minutes=5)) == []
    assert await stuck_jobs(NOW + LEASE + timedelta(seconds=1)) == ["digest"]
    # ... then any instance takes it again.
    assert (
        await claim_run("digest", NOW + LEASE + timedelta(seconds=1), timedelta(minutes=1), LEASE) is not None
    )


async def test_two_deliverers_never_hold_the_same_alert(any_db: str) -> None:
    users = [await create_user(f"u{i}", Role.SALES, telegram_id=100 + i) for i in range(5)]
    for i in range(40):
        await alert_user(users[i % 5], "email_sent", f"k{i}", {"to": "a", "subject": "s"})
    (t1, a1), (_t2, a2), (_t3, a3) = await asyncio.gather(
        *(claim_alerts(NOW, timedelta(minutes=1), quiet=False, limit=40) for _ in range(3))
    )
    ids = [a.id for a in a1 + a2 + a3]
    assert len(ids) == len(set(ids)) == 40
    # Given back untried: claimable at once; a claim that was not given back waits its lease.
    await release_alert_claims(t1)
    again = (await claim_alerts(NOW, timedelta(minutes=1), quiet=False, limit=40))[1]
    assert sorted(a.id for a in again) == sorted(a.id for a in a1)
    late = (await claim_alerts(NOW + timedelta(seconds=61), timedelta(minutes=1), quiet=False, limit=40))[1]
    assert len(late) == 40 and await Alert.filter(claim_token__isnull=False).count() == 40


async def test_one_draft_purchase_order_per_supplier_is_a_database_rule(any_db: str) -> None:
    buyer = await create_user("paula", Role.PURCHASING, telegram_id=5)
    supplier = await Contact.create(name="Acier SARL", owner=buyer)
    await PurchaseOrder.create(supplier=supplier, status=POStatus.DRAFT)
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await PurchaseOrder.create(supplier=supplier, status=POStatus.DRAFT)
    # Sent orders are not drafts: as many as needed.
    await PurchaseOrder.filter(supplier=supplier).update(status=POStatus.SENT)
    await PurchaseOrder.create(supplier=supplier, status=POStatus.DRAFT)
    assert await PurchaseOrder.filter(supplier=supplier).count() == 2
