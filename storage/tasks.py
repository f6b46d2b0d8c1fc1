"""Tasks: a text, an assignee, a due time, linked to a deal or a contact."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from storage import audit
from storage.access import can_write_owned, sees_everything
from storage.contacts import get_contact
from storage.errors import InvalidInput, NotFound
from storage.models import Task, User
from storage.parsing import parse_date
from storage.pipeline import get_deal
from storage.text import clean_text

__all__ = ["DEFAULT_DUE_TIME", "complete_task", "create_task", "list_tasks", "parse_due"]

DEFAULT_DUE_TIME = time(9, 0)
_TIME = re.compile(r"^(\d{1,2})(?:[:h](\d{2})?)?$")


def parse_due(text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    """`tomorrow 14:30`, `25/12`, `+3d 9h`, `14:30` (today) → an aware UTC datetime.

    The date part takes every form `parse_date` accepts, relative to today in `zone`; the
    optional time (`14:30`, `14h30`, `14h`) is local to `zone` (09:00 when omitted).
    Empty text or `-` means no due time.
    """
    raw = " ".join((text or "").split()).lower()
    if raw in ("", "-"):
        return None
    local_now = now.astimezone(zone)
    date_part, at = raw, DEFAULT_DUE_TIME
    head, _, last = raw.rpartition(" ")
    candidate = last if head else raw
    m = _TIME.match(candidate)
    if m and (head or ":" in candidate or "h" in candidate):
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if hour > 23 or minute > 59:
            raise InvalidInput("due", value=text)
        at, date_part = time(hour, minute), head
    try:
        day = parse_date(date_part, local_now.date()) if date_part else local_now.date()
    except InvalidInput as exc:
        raise InvalidInput("due", value=text) from exc
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


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
    if not (text or "").strip():
        raise InvalidInput("task_text")
    text = clean_text(text, 2000)
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
    # Two queries: SQLite sorts NULL first and PostgreSQL last, so one ORDER BY due_at + LIMIT
    # would drop dated tasks behind undated ones on SQLite.
    tasks = list(await query.filter(due_at__isnull=False).order_by("due_at", "id").limit(limit))
    if len(tasks) < limit:
        tasks += await query.filter(due_at__isnull=True).order_by("id").limit(limit - len(tasks))
    return tasks


async def complete_task(actor: User, task_id: int) -> Task:
    """Mark a task done (its assignee, its creator, or a manager)."""
    task = await Task.get_or_none(id=task_id)
    if task is None or not (can_write_owned(actor, task.assignee_id) or task.created_by_id == actor.id):
        raise NotFound("task", id=task_id)
    if task.done:
        return task
    async with in_transaction():
        task.done = True
        task.done_at = datetime.now(UTC)
        await task.save(update_fields=["done", "done_at"])
        await audit.record(actor, "task", task.id, "done", {"done": False}, {"done": True})
    return task
