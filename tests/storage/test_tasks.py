"""Tasks: due times in the company zone, who may complete a task."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.contacts import NewContact, create_contact
from storage.errors import InvalidInput, NotFound
from storage.models import Role, Task
from storage.tasks import complete_task, create_task, list_tasks, parse_due
from storage.users import create_user

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)  # already the 27th... 23:30 in Paris


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.sampled_from(["Europe/Paris", "America/New_York", "Asia/Tokyo", "UTC"]),
)
def test_a_typed_local_date_and_time_is_stored_as_that_instant_in_utc(
    day: date, at: time, zone_name: str
) -> None:
    zone = ZoneInfo(zone_name)
    due = parse_due(f"{day:%d/%m/%Y} {at:%H:%M}", NOW, zone)
    assert due is not None and due.utcoffset() == timedelta(0)
    local = due.astimezone(zone)
    wall = datetime.combine(day, at, tzinfo=zone)
    if wall.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        assert (local.date(), local.time()) == (day, at)  # outside a DST gap: exact


def test_relative_words_count_from_the_local_day_not_the_utc_day() -> None:
    # 22:30 UTC on the 27th is 23:30 on the 27th in Paris but 07:30 on the 28th in Tokyo.
    assert parse_due("tomorrow 14:30", NOW, PARIS) == datetime(2026, 11, 28, 13, 30, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert parse_due("tomorrow 9h", NOW, tokyo) == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    assert parse_due("+3d", NOW, PARIS) == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert parse_due("14h30", NOW, PARIS) == datetime(2026, 11, 27, 13, 30, tzinfo=UTC)
    assert parse_due("25/07 9:05", NOW, PARIS) == datetime(2027, 7, 25, 7, 5, tzinfo=UTC)  # CEST
    assert parse_due("", NOW, PARIS) is None and parse_due(" - ", NOW, PARIS) is None


@pytest.mark.parametrize(
    "text", ["soon", "tomorrow 25:00", "tomorrow 12:60", "31/02", "12", "14:30 tomorrow", "+3x"]
)
def test_bad_due_times_are_one_invalid_input(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_due(text, NOW, PARIS)
    assert err.value.code == "due"


async def test_only_the_assignee_the_creator_or_a_manager_completes_a_task(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    boss = await create_user("boss", Role.MANAGER)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    task = await create_task(alice, "Call", None, contact_id=ann.id)
    with pytest.raises(NotFound):
        await complete_task(bob, task.id)
    with pytest.raises(NotFound):
        await create_task(bob, "Sneaky", None, contact_id=ann.id)
    assert not (await Task.get(id=task.id)).done
    assert [t.id for t in await list_tasks(bob)] == []
    done = await complete_task(boss, task.id)
    assert done.done and done.done_at is not None
    assert await list_tasks(alice) == []


async def test_open_tasks_come_soonest_first_and_undated_last(db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    later = await create_task(alice, "later", NOW + timedelta(days=2), contact_id=ann.id)
    undated = await create_task(alice, "whenever", None, contact_id=ann.id)
    sooner = await create_task(alice, "sooner", NOW + timedelta(days=1), contact_id=ann.id)
    assert [t.id for t in await list_tasks(alice)] == [sooner.id, later.id, undated.id]
    with pytest.raises(InvalidInput):
        await create_task(alice, "   ", None, contact_id=ann.id)


async def test_many_undated_tasks_never_hide_the_dated_ones(any_db: str) -> None:
    alice = await create_user("alice", Role.SALES)
    for i in range(25):
        await create_task(alice, f"someday {i}", None)
    late = await create_task(alice, "call back", NOW + timedelta(days=2))
    soon = await create_task(alice, "send quote", NOW + timedelta(days=1))
    listed = await list_tasks(alice, limit=20)
    assert len(listed) == 20
    assert [t.id for t in listed[:2]] == [soon.id, late.id]
    assert all(t.due_at is None for t in listed[2:])
