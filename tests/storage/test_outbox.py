"""The outbox state machine: claim, lease, backoff, sent / failed hooks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from storage.models import (
    Alert,
    Contact,
    Invoice,
    InvoiceStatus,
    OutboxEmail,
    OutboxStatus,
    Role,
    User,
)
from storage.outbox import (
    LEASE,
    MAX_ATTEMPTS,
    Attachment,
    claim_due,
    mark_failed,
    mark_retry,
    mark_sent,
    mark_sent_many,
    queue_email,
    retry_delay,
)
from storage.users import create_user

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def _queue(n: int = 1, owner: User | None = None, invoice: Invoice | None = None) -> list[int]:
    ids = []
    for i in range(n):
        email = await queue_email(
            dedupe_key=f"test:{i}",
            message_id=f"<test{i}@entonnoir.example>",
            to=["a@b.example"],
            subject=f"Subject {i}",
            body_text="Hello",
            owner=owner,
            invoice=invoice,
            attachments=[Attachment("a.txt", "text/plain", b"x")],
        )
        assert email is not None
        ids.append(email.id)
    return ids


async def _invoice(owner: User) -> Invoice:
    client = await Contact.create(name="ACME", owner=owner)
    return await Invoice.create(
        contact=client, owner=owner, status=InvoiceStatus.ISSUED, number="F2026-00001"
    )


async def test_queue_email_is_once_per_dedupe_key(db: str) -> None:
    await _queue(1)
    again = await queue_email(
        dedupe_key="test:0", message_id="<other@x>", to=["a@b.example"], subject="s", body_text="b"
    )
    assert again is None
    assert await OutboxEmail.all().count() == 1


async def test_claim_takes_each_due_row_once_even_when_two_senders_race(db: str) -> None:
    await _queue(30)
    first, second = await asyncio.gather(claim_due(NOW, 20), claim_due(NOW, 20))
    rest = await claim_due(NOW, 50)
    ids = [e.id for e in first + second + rest]
    assert len(ids) == len(set(ids)) == 30
    assert all(e.status == OutboxStatus.SENDING and e.attempts == 1 for e in first + second)
    assert await claim_due(NOW, 20) == []


async def test_a_row_stuck_in_sending_is_claimed_again_only_after_the_lease(db: str) -> None:
    await _queue(1)
    [claimed] = await claim_due(NOW)
    assert await claim_due(NOW + LEASE - timedelta(seconds=1)) == []
    [again] = await claim_due(NOW + LEASE + timedelta(seconds=1))
    assert again.id == claimed.id and again.attempts == 2
    # The first holder's late answer no longer counts: its claim token is stale.
    assert await mark_sent(claimed, NOW) is False
    assert await mark_sent(again, NOW) is True


async def test_transient_failure_waits_for_an_exponential_backoff(db: str) -> None:
    await _queue(1)
    [email] = await claim_due(NOW)
    await mark_retry(email, "451 busy", NOW)
    row = await OutboxEmail.get(id=email.id)
    assert row.status == OutboxStatus.PENDING and row.last_error == "451 busy"
    assert row.next_attempt_at == NOW + retry_delay(1)
    assert await claim_due(NOW + retry_delay(1) - timedelta(seconds=1)) == []
    [again] = await claim_due(NOW + retry_delay(1))
    assert again.attempts == 2
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(50) == timedelta(hours=1)


async def test_too_many_transient_failures_become_a_failure_with_an_alert(db: str) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    await _queue(1, owner=owner)
    await OutboxEmail.all().update(attempts=MAX_ATTEMPTS - 1)
    [email] = await claim_due(NOW)
    await mark_retry(email, "Connection refused", NOW)
    assert (await OutboxEmail.get(id=email.id)).status == OutboxStatus.FAILED
    assert await Alert.filter(user_id=owner.id, kind="email_failed").count() == 1


async def test_sent_email_alerts_its_owner_and_marks_the_issued_invoice_sent(db: str) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    invoice = await _invoice(owner)
    await _queue(1, owner=owner, invoice=invoice)
    [email] = await claim_due(NOW)
    assert await mark_sent(email, NOW)
    row = await OutboxEmail.get(id=email.id)
    assert row.status == OutboxStatus.SENT and row.sent_at == NOW and row.claim_token is None
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.SENT
    alert = await Alert.get(user_id=owner.id)
    assert alert.kind == "email_sent" and alert.params["subject"] == "Subject 0"


async def test_sending_does_not_move_a_paid_invoice_back_to_sent(db: str) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    invoice = await _invoice(owner)
    await Invoice.filter(id=invoice.id).update(status=InvoiceStatus.PAID)
    await _queue(1, owner=owner, invoice=invoice)
    [email] = await claim_due(NOW)
    await mark_sent(email, NOW)
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.PAID


async def test_permanent_failure_alerts_the_owner_with_the_servers_reply(db: str) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    await _queue(1, owner=owner)
    [email] = await claim_due(NOW)
    await mark_failed(email, "550 5.1.1 no such user", NOW)
    row = await OutboxEmail.get(id=email.id)
    assert row.status == OutboxStatus.FAILED
    alert = await Alert.get(user_id=owner.id)
    assert alert.kind == "email_failed" and alert.params["error"] == "550 5.1.1 no such user"
    assert await claim_due(NOW + timedelta(days=1)) == []


async def test_failure_of_an_email_without_owner_alerts_the_admins(db: str) -> None:
    admin = await create_user("root", Role.ADMIN, telegram_id=12)
    await _queue(1)
    [email] = await claim_due(NOW)
    await mark_failed(email, "554 rejected", NOW)
    assert await Alert.filter(user_id=admin.id, kind="email_failed").count() == 1


async def test_a_batch_of_sent_emails_is_recorded_once_and_only_while_still_held(db: str) -> None:
    owner = await create_user("olga", Role.SALES, telegram_id=11)
    invoice = await _invoice(owner)
    await _queue(3, owner=owner, invoice=invoice)
    first = await claim_due(NOW)
    # The lease of the first claim ran out: another sender took the rows again.
    again = await claim_due(NOW + LEASE + timedelta(seconds=1), 2)

    assert await mark_sent_many(first, NOW, {first[2].id: "x@b.example: 550 refused"}) == [first[2].id]
    assert sorted(await mark_sent_many(again, NOW)) == [again[0].id, again[1].id]
    assert await mark_sent_many(again, NOW) == []

    rows = await OutboxEmail.all().order_by("id")
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 3
    assert [r.claim_token for r in rows] == [None] * 3
    assert [r.last_error for r in rows] == [None, None, "x@b.example: 550 refused"]
    assert await Alert.filter(user_id=owner.id, kind="email_sent").count() == 3
    assert (await Invoice.get(id=invoice.id)).status == InvoiceStatus.SENT
