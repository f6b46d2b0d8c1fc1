"""Dialogs about tasks: /task in one line and step by step, /tasks with Done buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from storage.models import Contact, Deal, Role, Task
from tests.harness import ChatHarness, Person

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 10:00 in Paris


async def _deal(person: Person) -> Deal:
    await person.says("/newcontact Ann Martin | +33612345678")
    await person.says("/newdeal Ann | Boiler | 1 200")
    return await Deal.get(title="Boiler")


async def test_task_on_a_deal_is_due_in_the_company_time_zone(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    deal = await _deal(alice)
    with time_machine.travel(NOW, tick=False):
        await alice.says(f"/task D{deal.id} | Call <Ann> back | tomorrow 14:30")
    task = await Task.get(text="Call <Ann> back")
    assert task.due_at == datetime(2026, 11, 28, 13, 30, tzinfo=UTC)  # 14:30 Paris (UTC+1)
    assert task.deal_id == deal.id and task.contact_id == deal.contact_id
    assert task.assignee_id == alice.user.id  # type: ignore[union-attr]
    assert "Call &lt;Ann&gt; back" in alice.last_text
    assert "T" + str(task.id) in alice.last_text


async def test_task_step_by_step_reasks_a_bad_due_date(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES, lang="fr")
    await alice.says("/newcontact Ann | +33612345678")
    contact = await Contact.get(name="Ann")
    await alice.says("/task")
    assert "D34 ou C12" in alice.last_text
    await alice.says("X9")
    assert "ni une affaire ni un contact" in alice.last_text
    await alice.says(f"C{contact.id}")
    await alice.says("Envoyer le devis")
    await alice.says("la semaine prochaine")
    assert "n'est pas une échéance comprise" in alice.last_text
    assert await Task.all().count() == 0
    with time_machine.travel(NOW, tick=False):
        await alice.says("25/12 8h15")
    task = await Task.get(text="Envoyer le devis")
    assert task.due_at == datetime(2026, 12, 25, 7, 15, tzinfo=UTC)
    assert task.contact_id == contact.id


async def test_task_without_due_date_and_bad_input_writes_nothing(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    deal = await _deal(alice)
    await alice.says(f"/task D{deal.id} | Send the quote | 31/02")
    assert "not a due time" in alice.last_text
    await alice.says(f"/task D{deal.id} | Send the quote | 25:61")
    assert "not a due time" in alice.last_text
    await alice.says("/task 12 | Send the quote")
    assert "D34 or C12" in alice.last_text
    assert await Task.all().count() == 0
    await alice.says(f"/task D{deal.id} | Send the quote")
    assert "no due date" in alice.last_text
    assert (await Task.get(text="Send the quote")).due_at is None


async def test_tasks_lists_open_tasks_and_done_button_closes_one(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    deal = await _deal(alice)
    await alice.says(f"/task D{deal.id} | First | +1d")
    await alice.says(f"/task D{deal.id} | Second | +2d")
    await alice.says("/tasks")
    assert "First" in alice.last_text and "Second" in alice.last_text
    assert alice.last_text.index("First") < alice.last_text.index("Second")
    await alice.presses("Done T")  # the first button: the soonest task
    first = await Task.get(text="First")
    assert first.done and first.done_at is not None
    assert "done" in alice.last_text
    await alice.says("/tasks")
    assert "First" not in alice.last_text and "Second" in alice.last_text
    await alice.presses("Done T")
    await alice.says("/tasks")
    assert "No open task" in alice.last_text


async def test_done_button_of_someone_elses_task_changes_nothing(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    bob = await chat.user("bob", Role.SALES)
    deal = await _deal(alice)
    await alice.says(f"/task D{deal.id} | Secret plan | +1d")
    task = await Task.get(text="Secret plan")
    await bob.presses_data(f"task:done:{task.id}")
    assert f"No task T{task.id}" in bob.last_text
    await bob.presses_data("task:done:notanumber")
    assert "not a valid reference" in bob.last_text
    await bob.says("/tasks")
    assert "Secret plan" not in bob.all_text
    assert not (await Task.get(id=task.id)).done


async def test_button_labels_carry_plain_text_not_html_entities(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    deal = await _deal(alice)
    await alice.says(f"/task D{deal.id} | Call <Ann> & co")
    assert "Call &lt;Ann&gt; &amp; co" in alice.last_text
    await alice.says("/tasks")
    assert any("Call <Ann> & co" in label for label in alice.buttons())
