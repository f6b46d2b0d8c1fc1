"""A big import never stalls the team, and a bomb is refused with a sentence."""

from __future__ import annotations

import asyncio
import time
import zipfile
from pathlib import Path
from typing import Any

from storage.models import Contact, Role
from tests.harness import ChatHarness


def _serve(chat: ChatHarness, path: Path) -> None:
    size = path.stat().st_size

    async def responder(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "getFile":
            return 200, {
                "ok": True,
                "result": {
                    "file_id": params["file_id"],
                    "file_unique_id": "u",
                    "file_size": size,
                    "file_path": str(path),
                },
            }
        return None

    chat.request.responder = responder


async def test_another_user_is_answered_within_a_second_while_a_20_mb_import_runs(
    chat: ChatHarness, tmp_path: Path
) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    alice = await chat.user("alice", Role.SALES)
    path = tmp_path / "big.csv"
    filler = "x" * 2000
    with path.open("w") as out:
        out.write("Name;Phone;Notes\n")
        for i in range(10_000):
            out.write(f"Person {i};+336{i:08d};{filler}\n")
    assert path.stat().st_size > 20 * 1000 * 1000
    _serve(chat, path)
    importing = asyncio.create_task(boss.sends_document("big.csv", "text/csv"))
    await asyncio.sleep(0.05)
    assert not importing.done()
    started = time.monotonic()
    await alice.says("/help")
    waited = time.monotonic() - started
    assert alice.last_text.startswith("<b>Contacts</b>")
    print(f"\nanswered in {waited:.3f} s while importing")
    assert waited < 1.0, waited
    assert not importing.done()  # the import was still running while alice was answered
    await importing
    assert "10000 rows read" in boss.last_text and "Dry run" in boss.last_text
    assert await Contact.all().count() == 0


async def test_a_zip_bomb_is_refused_with_a_sentence(chat: ChatHarness, tmp_path: Path) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<row/>" * 5_000_000)
    assert path.stat().st_size < 200_000
    _serve(chat, path)
    await boss.sends_document(
        "bomb.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert boss.last_text.startswith("This spreadsheet unpacks to far more than it weighs")
    await boss.says("/help")  # and the bot goes on
    assert boss.last_text.startswith("<b>Contacts</b>")
