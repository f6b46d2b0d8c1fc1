"""Tasks: a text, an assignee, a due time, linked to a deal or a contact."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from storage import audit
from storage.access import can_write_owned, sees_everything
from storage.contacts import get_contact
from storage.errors import InvalidInput, NotFound
from storage.models import Task, User
from storage.pipeline import get_deal

__all__ = ["complete_task", "create_task", "list_tasks"]


async def create_task(
    actor: User,
    text: str,
    due_at: datetime | None,
    *,
    deal_id: int | None = None,
    contact_id: int | None = None,
    assignee: User | None = None,
) -> Task:
    """A task for the actor (or an assignee, for managers) on a deal or a contact."""
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise InvalidInput("task_text")
    deal = await get_deal(actor, deal_id) if deal_id is not None else None
    contact = await get_contact(actor, contact_id) if contact_id is not None else None
    if assignee is not None and assignee.id != actor.id and not sees_everything(actor):
        raise NotFound("user", value=assignee.name)
    async with in_transaction():
        task = await Task.create(
            assignee=assignee or actor,
            created_by=actor,
            text=text,
            due_at=due_at,
            deal=deal,
            contact=contact or (deal.contact if deal else None),
        )
        await audit.record(actor, "task", task.id, "create", None, {"text": text})
    return task


async def list_tasks(actor: User, *, include_done: bool = False, limit: int = 20) -> list[Task]:
    """The user's open tasks, soonest first (undated last)."""
    query = Task.filter(assignee_id=actor.id)
    if not include_done:
        query = query.filter(done=False)
    tasks = await query.order_by("due_at", "id").limit(limit)
    return sorted(tasks, key=lambda t: (t.due_at is None, t.due_at or datetime.max.replace(tzinfo=UTC)))


async def complete_task(actor: User, task_id: int) -> Task:
    """Mark a task done (its assignee, its creator, or a manager)."""
    task = await Task.get_or_none(id=task_id)
    if task is None or not (
        can_write_owned(actor, task.assignee_id) or task.created_by_id == actor.id
    ):
        raise NotFound("task", id=task_id)
    if task.done:
        return task
    async with in_transaction():
        task.done = True
        task.done_at = datetime.now(UTC)
        await task.save(update_fields=["done", "done_at"])
        await audit.record(actor, "task", task.id, "done", {"done": False}, {"done": True})
    return task
