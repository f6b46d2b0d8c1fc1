"""Importing a file sent into the chat, and /export, driven through the real Application."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from bot.settings import Settings
from storage.contacts import NewContact, create_contact
from storage.models import Contact, Role
from tests.harness import ChatHarness, Person


def _serve(chat: ChatHarness, path: Path) -> None:
    """getFile answers with a local path: PTB then reads the bytes from disk."""
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


async def _send(chat: ChatHarness, person: Person, path: Path, mime: str = "text/csv") -> None:
    _serve(chat, path)
    await person.sends_document(path.name, mime)


def _csv(tmp_path: Path, rows: list[str], name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(("Nom;Prénom;Téléphone;E-mail\r\n" + "\r\n".join(rows)).encode("cp1252"))
    return path


async def test_manager_sees_a_dry_run_then_confirms(chat: ChatHarness, tmp_path: Path) -> None:
    boss = await chat.user("boss", Role.MANAGER, lang="fr")
    path = _csv(tmp_path, ["Dupont;Éloïse;06 12 34 56 78;eloise@ex.fr", "Durand;Rémi;0612345678;remi@ex.fr"])
    await _send(chat, boss, path)
    text = boss.last_text
    assert "Simulation — nouveaux : <b>1</b>, fusionnés : <b>1</b>, rejetés : <b>0</b>" in text
    assert "C. Téléphone → phone" in text
    assert await Contact.all().count() == 0
    pending = list((chat.app.bot_data["services"].settings.var_dir / "imports").iterdir())
    assert len(pending) == 1
    await boss.presses("Confirmer")
    assert "Import terminé — nouveaux : 1, fusionnés : 1" in boss.last_text
    eloise = await Contact.get(email="eloise@ex.fr")
    assert eloise.extra_emails == ["remi@ex.fr"]
    assert not pending[0].exists()


async def test_rejected_rows_block_confirm_but_only_valid_rows_go_in(
    chat: ChatHarness, tmp_path: Path
) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    path = _csv(tmp_path, ["Dupont;Ann;06 12 34 56 78;", "Petit;Léa;12;", ";;;x@"])
    await _send(chat, boss, path)
    assert "Row 3: “12” is not a valid phone number" in boss.last_text
    assert "Row 4:" in boss.last_text
    await boss.presses("Confirm")
    assert "2 rows are rejected (rows 3, 4)" in boss.last_text
    assert await Contact.all().count() == 0
    await boss.presses("Only valid rows")
    assert "1 new, 0 merged, 2 rows skipped" in boss.last_text
    assert await Contact.filter(name="Ann Dupont").exists()
    await boss.presses("Only valid rows")  # the import is done: the button is stale
    assert "expired" in boss.last_text
    assert await Contact.all().count() == 1


async def test_mapping_can_be_corrected_before_confirming(chat: ChatHarness, tmp_path: Path) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    path = tmp_path / "odd.csv"
    path.write_text("Name,Numéro perso,Remarque\nAnn,0612345678,VIP\n", encoding="utf-8")
    await _send(chat, boss, path)
    assert "B. Numéro perso → (ignored)" in boss.last_text
    await boss.presses("Change mapping")
    await boss.says("B=shoe")
    assert "“shoe” is not a field" in boss.last_text
    await boss.says("B=phone")
    assert "B. Numéro perso → phone" in boss.last_text
    await boss.presses("Confirm")
    assert (await Contact.get(name="Ann")).phone == "+33612345678"


async def test_cancel_and_bad_files_write_nothing(chat: ChatHarness, tmp_path: Path) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    await _send(chat, boss, _csv(tmp_path, ["Dupont;Ann;06 12 34 56 78;"]))
    await boss.presses("Cancel")
    assert "Nothing was written" in boss.last_text
    fake = tmp_path / "list.xlsx"
    fake.write_text("Nom;Téléphone\nAnn;0612345678\n", encoding="utf-8")
    await _send(chat, boss, fake, "application/vnd.ms-excel")
    assert boss.last_text.startswith("This file is not a real XLSX file")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    await _send(chat, boss, empty)
    assert "The file is empty" in boss.last_text
    assert await Contact.all().count() == 0


async def test_salesperson_cannot_import(chat: ChatHarness, tmp_path: Path) -> None:
    alice = await chat.user("alice", Role.SALES)
    await _send(chat, alice, _csv(tmp_path, ["Dupont;Ann;06 12 34 56 78;"]))
    assert "Only managers may import" in alice.last_text
    assert await Contact.all().count() == 0


async def test_long_import_edits_one_progress_message(chat: ChatHarness, tmp_path: Path) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    rows = [f"Client{i};X;+336{i:08d};c{i}@ex.fr" for i in range(10_000)]
    await _send(chat, boss, _csv(tmp_path, rows))
    await boss.presses("Confirm")
    edits = [s for s in boss.replies if s.method == "editMessageText"]
    assert len(edits) >= 3 and "Importing…" in edits[0].text
    assert len({s.message_id for s in edits}) == 1
    assert "10000 new" in boss.last_text
    assert await Contact.all().count() == 10_000


async def test_export_is_for_managers_and_admins_and_neutralises_formulas(chat: ChatHarness) -> None:
    alice = await chat.user("alice", Role.SALES)
    collector = await chat.user("cora", Role.COLLECTIONS)
    boss = await chat.user("boss", Role.MANAGER)
    assert alice.user is not None
    await create_contact(alice.user, NewContact("Ann =HYPERLINK()\x01", phone="0612345678"), region="FR")
    for person in (alice, collector):
        await person.says("/export contacts")
        assert person.last_text == "Only managers and admins may export spreadsheets."
        assert not [s for s in person.replies if s.method == "sendDocument"]
    await boss.says("/export contacts")
    document = next(s for s in boss.replies if s.method == "sendDocument")
    _, data = document.files["document"]
    book = load_workbook(io.BytesIO(data), read_only=True)
    values = [row for row in book.worksheets[0].iter_rows(values_only=True)]
    names = [row[2] for row in values[1:]]
    assert names == ["Ann =HYPERLINK()"]
    assert values[1][4] == "'+33612345678"
    await boss.says("/export contacts csv")
    document = next(s for s in boss.replies if s.method == "sendDocument")
    text = document.files["document"][1].decode("utf-8-sig")
    assert "Ann =HYPERLINK()" in text
    await boss.says("/export everything")
    assert "cannot be exported" in boss.last_text


async def test_a_file_name_that_is_no_csv_xlsx_or_vcf_is_refused_in_one_sentence(
    chat: ChatHarness, tmp_path: Path, settings: Settings
) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    path = _csv(tmp_path, ["Dupont;Ann;06 12 34 56 78;"])
    _serve(chat, path)
    for name in ("a./x", "contacts.exe", "contacts"):
        await boss.sends_document(name, "text/csv")
        assert boss.last_text == "Send a .csv, .xlsx or .vcf file; nothing was imported."
    folder = settings.var_dir / "imports"
    assert not folder.exists() or not list(folder.glob("*"))
    assert await Contact.all().count() == 0


async def test_the_stored_copy_is_named_by_token_and_canonical_extension(
    chat: ChatHarness, tmp_path: Path, settings: Settings
) -> None:
    boss = await chat.user("boss", Role.MANAGER)
    await _send(chat, boss, _csv(tmp_path, ["Dupont;Ann;06 12 34 56 78;"], name="Liste.CSV"))
    stored = list((settings.var_dir / "imports").glob("*"))
    assert len(stored) == 1 and stored[0].suffix == ".csv"
    assert len(stored[0].stem) == 12  # the token, nothing from the user's name
