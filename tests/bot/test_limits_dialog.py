"""Telegram's limits hold for big teams and long texts: lists page, cards are bounded.

Every reply goes through the strict fake Bot API: a text over 4,096 characters, a caption
over 1,024, callback data over 64 bytes or broken HTML fails the test where it is sent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.ui import MAX_TEXT, button, cb, clip_html, keyboard, visible_length
from storage.models import Contact, Deal, Note, Role, Stage, User
from tests.harness import ChatHarness, Person
from tests.strict_api import visible_text


def _pages_seen(chat: ChatHarness, person: Person) -> list[str]:
    return [s.text for s in chat.sent_to(person) if s.method in ("sendMessage", "editMessageText")]


async def _turn_all_pages(person: Person) -> list[str]:
    """Press ▶ until the last page; the texts of every page."""
    texts = [person.last_text]
    while "Next ▶" in person.buttons():
        await person.presses("Next ▶")
        texts.append(person.last_text)
    return texts


async def test_a_long_list_pages_with_previous_and_next(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    contact = await Contact.get(name="Ann")
    stage = await Stage.filter(is_won=False, is_lost=False).first()
    assert stage is not None and alice.user is not None
    titles = [f"Deal {i:03d} " + "é" * 180 for i in range(60)]
    await Deal.bulk_create(
        [Deal(contact=contact, owner=alice.user, title=t, amount_cents=100, stage=stage) for t in titles]
    )
    await alice.says("/deals")
    assert "Page 1 of" in alice.last_text and "◀ Previous" not in alice.buttons()
    pages = await _turn_all_pages(alice)
    assert len(pages) >= 6
    shown = " ".join(pages)
    assert all(f"Deal {i:03d}" in shown for i in range(60))
    assert all(len(visible_text(p, "HTML")) <= MAX_TEXT for p in pages)
    await alice.presses("◀ Previous")
    assert alice.last_text == pages[-2]
    # Each page's buttons open that page's deals (at most one button row per item + nav).
    assert len(alice.buttons()) <= 10 + 2


async def test_a_contact_card_shows_bounded_newest_notes_and_notes_pages_the_rest(
    chat: ChatHarness,
) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/newcontact Ann | +33612345678")
    contact = await Contact.get(name="Ann")
    for i in range(12):
        await alice.says(f"/note C{contact.id} Note{i:02d} " + "<&>" * 1300)
    assert await Note.filter(contact=contact).count() == 12
    await alice.says(f"/contact C{contact.id}")
    card = alice.last_text
    assert len(visible_text(card, "HTML")) <= MAX_TEXT
    assert "Note11" in card and "Note07" in card and "Note06" not in card  # the five newest
    assert f"/notes C{contact.id}" in card
    await alice.says(f"/notes C{contact.id}")
    pages = await _turn_all_pages(alice)
    assert all(f"Note{i:02d}" in " ".join(pages) for i in range(12))


async def test_pipeline_fits_two_hundred_salespeople_and_thirty_stages(chat: ChatHarness) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    await Stage.filter(is_won=False, is_lost=False).delete()
    extra = [
        Stage(name=f"Stage number {i:02d} of a long funnel", position=i, probability=i * 3) for i in range(30)
    ]
    await Stage.bulk_create(extra)
    from storage.pipeline import forget_stages

    forget_stages()
    stages = await Stage.filter(is_won=False, is_lost=False).order_by("position")
    owner = boss.user
    assert owner is not None
    await User.bulk_create(
        [
            User(name=f"Salesperson with a long name {i:03d}", role=Role.SALES, telegram_id=5_000_000 + i)
            for i in range(200)
        ]
    )
    people = await User.filter(role=Role.SALES)
    contact = await Contact.create(name="Big client", owner=owner)
    await Deal.bulk_create(
        [
            Deal(contact=contact, owner=p, title="x", amount_cents=123_456_78, stage=s)
            for p in people
            for s in stages
        ]
    )
    await boss.says("/pipeline")
    pages = await _turn_all_pages(boss)
    assert all(len(visible_text(p, "HTML")) <= MAX_TEXT for p in pages)
    shown = " ".join(pages)
    assert all(f"long name {i:03d}" in shown for i in range(200))
    assert "Stage number 29 of a long funnel: 200 deals" in pages[0]


async def test_a_dry_run_of_four_hundred_columns_fits(chat: ChatHarness, tmp_path: Path) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    path = tmp_path / "wide.csv"
    headers = ["Name", "Phone"] + [f"Custom column with a long header {i}" for i in range(398)]
    path.write_text(";".join(headers) + "\n" + ";".join(["Ann", "+33612345678"] + ["v"] * 398))

    async def responder(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "getFile":
            return 200, {
                "ok": True,
                "result": {
                    "file_id": params["file_id"],
                    "file_unique_id": "u",
                    "file_size": path.stat().st_size,
                    "file_path": str(path),
                },
            }
        return None

    chat.request.responder = responder
    await boss.sends_document("wide.csv", "text/csv")
    assert "Dry run" in boss.last_text and "Page 1 of" in boss.last_text
    assert "Confirm" in " ".join(boss.buttons())
    pages = await _turn_all_pages(boss)
    assert "long header 397" in " ".join(pages)
    assert all("Confirm" in " ".join(r[0] for row in s.buttons for r in row) for s in chat.sent_to(boss)[-3:])


async def test_an_error_quotes_only_a_short_excerpt_of_what_was_typed(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/contact " + "Z" * 5000)
    quoted = max(re.findall("Z+", alice.last_text), key=len)
    assert len(quoted) < 80 and len(alice.last_text) < 300
    await alice.says("/newdeal C1 | Title | " + "9" * 3000 + "x")
    assert len(alice.last_text) < 400


def test_keyboards_refuse_callback_data_over_64_bytes_and_wrap_long_rows() -> None:
    with pytest.raises(ValueError, match="callback data too long"):
        cb("deal", "move", "é" * 40)
    crafted = button("x", "a" * 65)
    with pytest.raises(ValueError, match="callback data too long"):
        keyboard([[crafted]])
    markup = keyboard([[button(str(i), cb("deal", "move", 1, i)) for i in range(30)]])
    assert markup is not None and all(len(row) <= 8 for row in markup.inline_keyboard)
    with pytest.raises(ValueError, match="buttons"):
        keyboard([[button(str(i), cb("x", "y", i))] for i in range(101)])


def test_clip_html_keeps_tags_balanced_and_counts_entities_as_one() -> None:
    text = "<b>" + "&amp;" * 5000 + "</b>"
    assert visible_length(text) == 5000
    cut = clip_html(text, 4096)
    assert visible_length(cut) == 4096 and cut.endswith("…</b>")
    assert len(visible_text(cut, "HTML")) == 4096
