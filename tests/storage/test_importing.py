"""Importing contacts, deals and products from real CSV, XLSX and vCard files."""

from __future__ import annotations

import asyncio
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from storage.contacts import NewContact, create_contact
from storage.errors import Forbidden, InvalidInput
from storage.importing import (
    ImportReport,
    apply_mapping_text,
    guess_kind,
    guess_mapping,
    read_file,
    run_import,
)
from storage.models import (
    AuditLog,
    Contact,
    ContactKind,
    Deal,
    Product,
    Role,
    StageChange,
    SupplyNature,
    User,
)
from storage.users import create_user

TODAY = date(2026, 11, 20)


async def _boss() -> User:
    return await create_user("boss", Role.MANAGER)


async def _import(actor: User, kind: str, path: Path, **kw: Any) -> ImportReport:
    table = read_file(await asyncio.to_thread(path.read_bytes), path.name)
    return await run_import(actor, kind, table, region="FR", today=TODAY, **kw)


def _french_excel_csv(tmp_path: Path) -> Path:
    text = (
        "Nom;Prénom;Société;Téléphone;Portable;E-mail;Propriétaire\r\n"
        "Dupont;Éloïse;Café Ç&Co;01 42 68 53 00;06 12 34 56 78;eloise@exemple.fr;boss\r\n"
        "Martin;Zoé;;;06 98 76 54 32;ZOE@Exemple.fr;\r\n"
        "Durand;Rémi;Café Ç&Co;06 12 34 56 78;;remi@exemple.fr;\r\n"
        "Petit;Léa;;12;;;\r\n"
        "Bernard;Noël;;;;pas-un-mail;\r\n"
    )
    path = tmp_path / "contacts.csv"
    path.write_bytes(text.encode("cp1252"))
    return path


async def test_french_excel_csv_dry_run_writes_nothing_and_explains_rejections(
    db: str, tmp_path: Path
) -> None:
    boss = await _boss()
    report = await _import(boss, "contacts", _french_excel_csv(tmp_path))
    assert (report.new, report.merged) == (2, 1)
    rejected = {(r.row, r.code) for r in report.rejected}
    assert rejected == {(5, "phone"), (6, "email")}
    assert await Contact.all().count() == 0


async def test_french_excel_csv_whole_file_refused_when_a_row_is_rejected(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    with pytest.raises(InvalidInput) as err:
        await _import(boss, "contacts", _french_excel_csv(tmp_path), write=True)
    assert err.value.code == "import_rejected" and err.value.params["rows"] == "5, 6"
    assert await Contact.all().count() == 0


async def test_only_valid_rows_imports_and_merges_duplicates_within_the_file(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    report = await _import(boss, "contacts", _french_excel_csv(tmp_path), write=True, only_valid=True)
    assert report.written
    eloise = await Contact.get(email="eloise@exemple.fr")
    assert eloise.name == "Éloïse Dupont"
    assert eloise.phone == "+33142685300" and eloise.extra_phones == ["+33612345678"]
    # Rémi shares Éloïse's mobile: merged into her card, his email kept as an extra one.
    assert eloise.extra_emails == ["remi@exemple.fr"]
    assert "café ç&co" in eloise.search_key
    company = await Contact.get(kind=ContactKind.COMPANY)
    assert company.name == "Café Ç&Co" and eloise.company_id == company.id  # type: ignore[attr-defined]
    zoe = await Contact.get(name="Zoé Martin")
    assert zoe.email == "zoe@exemple.fr" and zoe.phone == "+33698765432"
    assert await Contact.filter(kind=ContactKind.PERSON).count() == 2
    assert await AuditLog.filter(entity="import").count() == 1


async def test_contacts_already_in_the_database_are_completed_not_doubled(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    existing = await create_contact(boss, NewContact("Zoé M.", phone="0698765432"), region="FR")
    path = tmp_path / "c.csv"
    path.write_text("Name,Phone,Email\nZoe,+33 6 98 76 54 32,zoe@exemple.fr\n", encoding="utf-8")
    report = await _import(boss, "contacts", path, write=True)
    assert (report.new, report.merged) == (0, 1)
    await existing.refresh_from_db()
    assert existing.email == "zoe@exemple.fr" and existing.name == "Zoé M."
    assert await Contact.all().count() == 1


async def test_xlsx_made_with_openpyxl(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    book = Workbook()
    sheet = book.active
    sheet.append(["Export CRM 2026"])  # a title row above the header
    sheet.append(["First Name", "Last Name", "Company", "Mobile", "Email"])
    sheet.append(["Ann", "Lee", "ACME", 33612345678, "ann@acme.com"])
    sheet.append(["Bob", "Ray", "ACME", "+33 6 99 88 77 66", None])
    path = tmp_path / "people.xlsx"
    book.save(path)
    report = await _import(boss, "contacts", path, write=True)
    assert (report.new, report.merged, report.rejected) == (2, 0, [])
    ann = await Contact.get(name="Ann Lee").prefetch_related("company")
    assert ann.phone == "+33612345678" and ann.company.name == "ACME"  # type: ignore[union-attr]
    assert await Contact.filter(kind=ContactKind.COMPANY).count() == 1


async def test_google_contacts_csv_layout(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    header = (
        "Name,Given Name,Family Name,Organization 1 - Name,E-mail 1 - Type,E-mail 1 - Value,"
        "E-mail 2 - Value,Phone 1 - Type,Phone 1 - Value,Phone 2 - Value"
    )
    row = (
        "Ann Lee,Ann,Lee,ACME,* Home,ann@acme.com,ann.lee@gmail.com,Mobile,"
        "+33 6 12 34 56 78 ::: +33 6 12 34 56 79,+44 20 7946 0958"
    )
    path = tmp_path / "google.csv"
    path.write_bytes(("\ufeff" + header + "\n" + row + "\n").encode("utf-8"))
    mapping = guess_mapping("contacts", read_file(path.read_bytes(), path.name).headers)
    assert mapping[5] == "email" and mapping[8] == "phone" and mapping[4] is None
    await _import(boss, "contacts", path, write=True)
    ann = await Contact.get(name="Ann Lee")
    assert ann.email == "ann@acme.com" and ann.extra_emails == ["ann.lee@gmail.com"]
    assert ann.phone == "+33612345678"
    assert ann.extra_phones == ["+33612345679", "+442079460958"]


async def test_outlook_csv_layout(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    path = tmp_path / "outlook.csv"
    path.write_text(
        '"First Name","Last Name","Company","Business Phone","Mobile Phone","E-mail Address"\n'
        '"Jean","Valjean","Fauchelevent, SARL","01 42 68 53 00","06 12 34 56 78","jv@ex.fr"\n',
        encoding="utf-8",
    )
    await _import(boss, "contacts", path, write=True)
    jean = await Contact.get(name="Jean Valjean").prefetch_related("company")
    assert jean.company.name == "Fauchelevent, SARL"  # type: ignore[union-attr]
    assert jean.phone == "+33142685300" and jean.extra_phones == ["+33612345678"]


async def test_vcard_3_and_4_with_several_phones_and_emails(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    path = tmp_path / "cards.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann;;;\r\nFN:Ann Lee\r\nORG:ACME\\, Inc;Sales\r\n"
        "TEL;TYPE=CELL:+33 6 12 34 56 78\r\nTEL;TYPE=WORK:01 42 68 53 00\r\n"
        "EMAIL;TYPE=INTERNET:ann@acme.com\r\nitem1.EMAIL;TYPE=INTERNET:ann@\r\n lee.fr\r\n"
        "END:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Bob Ray\r\nTEL;VALUE=uri;TYPE=cell:tel:+33699887766\r\n"
        "EMAIL:bob@ray.fr\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann again\r\nEMAIL:ann@lee.fr\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    report = await _import(boss, "contacts", path, write=True)
    assert (report.new, report.merged) == (2, 1)
    ann = await Contact.get(name="Ann Lee").prefetch_related("company")
    assert ann.company.name == "ACME, Inc"  # type: ignore[union-attr]
    assert ann.extra_phones == ["+33142685300"] and ann.extra_emails == ["ann@lee.fr"]
    assert await Contact.filter(phone="+33699887766", name="Bob Ray").exists()


async def test_ten_thousand_rows_in_one_transaction(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    lines = ["Nom;Téléphone;E-mail"]
    for i in range(10_000):
        lines.append(f"Client {i};+336{i:08d};c{i}@ex.fr")
    lines.append("Doublon;+33600000007;autre@ex.fr")
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    seen: list[tuple[int, int]] = []
    report = await _import(
        boss, "contacts", path, write=True, progress=lambda done, total: seen.append((done, total))
    )
    assert (report.new, report.merged) == (10_000, 1)
    assert await Contact.all().count() == 10_000
    assert seen[-1] == (20_002, 20_002)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert (await Contact.get(phone="+33600000007")).extra_emails == ["autre@ex.fr"]


async def test_deals_import_finds_contact_stage_and_owner(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    alice = await create_user("Alice", Role.SALES)
    await create_contact(boss, NewContact("ACME", email="buy@acme.com"), region="FR")
    await create_contact(boss, NewContact("Zoé Martin"), region="FR")
    path = tmp_path / "deals.csv"
    path.write_bytes(
        "Affaire;Contact;E-mail;Montant;Étape;Propriétaire;Date de clôture\n"
        "Licences;;buy@acme.com;12 000,50;Proposition;alice;31/12/2026\n"
        "Audit;zoé martin;;1500;Won;;\n"
        "Inconnu;Personne;;10;Lead;;\n"
        "Mauvais;Zoé Martin;;abc;Lead;;\n".encode("cp1252")
    )
    report = await _import(boss, "deals", path, write=True, only_valid=True)
    assert {(r.row, r.code) for r in report.rejected} == {(4, "import_contact"), (5, "amount")}
    lic = await Deal.get(title="Licences").prefetch_related("stage", "contact")
    assert lic.amount_cents == 1_200_050 and lic.stage.name == "Proposal"
    assert lic.owner_id == alice.id  # type: ignore[attr-defined]
    assert lic.expected_close == date(2026, 12, 31)
    audit_deal = await Deal.get(title="Audit").prefetch_related("stage")
    assert audit_deal.stage.is_won and audit_deal.won_at is not None
    assert await StageChange.all().count() == 2
    # Importing the same file again updates, never doubles.
    again = await _import(boss, "deals", path, write=True, only_valid=True)
    assert (again.new, again.merged) == (0, 2)
    assert await Deal.all().count() == 2


async def test_products_import_with_sku_price_vat_unit(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    path = tmp_path / "products.csv"
    path.write_text(
        "Référence;Désignation;Prix HT;TVA;Unité\n"
        "SKU-1;Clavier;49,90;20 %;pièce\nSKU-2;Livre;12;5,5;\n"
        "SKU-1;Clavier AZERTY;45;20;pièce\n;Sans ref;1;20;\n",
        encoding="utf-8",
    )
    report = await _import(boss, "products", path, write=True, only_valid=True)
    assert (report.new, report.merged, len(report.rejected)) == (2, 1, 1)
    sku1 = await Product.get(sku="SKU-1")
    assert (sku1.name, sku1.unit_price_cents, sku1.vat_rate_bp) == ("Clavier AZERTY", 4500, 2000)
    assert (await Product.get(sku="SKU-2")).vat_rate_bp == 550


async def test_products_import_reads_the_nature_and_the_vat_exemption(db: str, tmp_path: Path) -> None:
    boss = await _boss()
    path = tmp_path / "products.csv"
    path.write_text(
        "Référence;Désignation;Prix HT;TVA;Nature;Exonération\n"
        "SRV-1;Formation;900;0;prestation;VATEX-FR-FRANCHISE\n"
        "GDS-1;Clavier;49,90;20 %;biens;\n"
        "BAD-1;Truc;1;20;location;\n"
        "BAD-2;Machin;1;0;services;VATEX-XX-INVENTED\n",
        encoding="utf-8",
    )
    report = await _import(boss, "products", path, write=True, only_valid=True)
    assert (report.new, len(report.rejected)) == (2, 2)
    assert sorted(r.code for r in report.rejected) == ["nature", "vat_exemption"]
    srv = await Product.get(sku="SRV-1")
    assert (srv.nature, srv.vat_exemption) == (SupplyNature.SERVICES, "VATEX-FR-FRANCHISE")
    gds = await Product.get(sku="GDS-1")
    assert (gds.nature, gds.vat_exemption) == (SupplyNature.GOODS, None)
    # A later file without those columns changes neither.
    path.write_text("Référence;Désignation;Prix HT\nSRV-1;Formation intra;950\n", encoding="utf-8")
    await _import(boss, "products", path, write=True)
    srv = await Product.get(sku="SRV-1")
    assert (srv.name, srv.nature, srv.vat_exemption) == (
        "Formation intra",
        SupplyNature.SERVICES,
        "VATEX-FR-FRANCHISE",
    )


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("c.csv", b"", "import_empty"),
        ("c.csv", b"\xef\xbb\xbf\r\n", "import_empty"),
        ("c.xlsx", b"Nom;Telephone\nAnn;0612345678\n", "import_type"),
        ("c.csv", b"PK\x03\x04rest-of-a-zip", "import_type"),
        ("c.vcf", b"Nom;Telephone\n", "import_type"),
        ("c.csv", b"foo;bar;baz\n1;2;3\n", "import_no_header"),
        ("c.csv", b'Nom,Telephone\nAnn,0612345678\n"Bob "x,0611111111\n', "import_quoting"),
        ("c.pdf", b"%PDF-1.4", "import_format"),
    ],
)
def test_bad_files_get_one_clear_error(name: str, data: bytes, code: str) -> None:
    with pytest.raises(InvalidInput) as err:
        read_file(data, name)
    assert err.value.code == code


def test_broken_quoting_names_the_row() -> None:
    data = b'Nom,Telephone\nAnn,0612345678\nBob,"06 11\n'
    with pytest.raises(InvalidInput) as err:
        read_file(data, "c.csv")
    assert err.value.code == "import_quoting" and err.value.params["row"] == 3


def test_file_over_twenty_megabytes_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        read_file(b"Nom;Telephone\n" + b"x" * (20 * 1024 * 1024), "big.csv")
    assert err.value.code == "import_too_large"


async def test_salesperson_may_not_import(db: str, tmp_path: Path) -> None:
    alice = await create_user("alice", Role.SALES)
    with pytest.raises(Forbidden):
        await _import(alice, "contacts", _french_excel_csv(tmp_path))


def test_mapping_can_be_changed_by_column_letter_or_number() -> None:
    headers = ["Nom", "Tel", "Divers"]
    mapping = guess_mapping("contacts", headers)
    assert mapping == ["last_name", "phone", None]
    assert apply_mapping_text("contacts", mapping, "A=name, C=Téléphone, 2=-") == ["name", None, "phone"]
    with pytest.raises(InvalidInput):
        apply_mapping_text("contacts", mapping, "Z=name")
    with pytest.raises(InvalidInput):
        apply_mapping_text("contacts", mapping, "A=shoe size")


def test_kind_is_guessed_from_headers() -> None:
    assert guess_kind(["Nom", "Téléphone", "E-mail"]) == "contacts"
    assert guess_kind(["Affaire", "Contact", "Montant", "Étape"]) == "deals"
    assert guess_kind(["Référence", "Désignation", "Prix", "TVA"]) == "products"


def test_xlsx_that_is_not_a_workbook_is_refused() -> None:
    data = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(data, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(InvalidInput) as err:
        read_file(data.getvalue(), "x.xlsx")
    assert err.value.code == "import_type"
