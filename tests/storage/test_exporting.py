"""Exporting to XLSX and CSV: permissions, formula neutralisation, and the round trip."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import load_workbook
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import tortoise_test_context

from storage.contacts import NewContact, create_contact
from storage.errors import Forbidden, InvalidInput
from storage.exporting import Sheet, sheets, write_csv, write_xlsx, write_zip
from storage.importing import neutralised, read_file, run_import
from storage.models import MODEL_MODULES, Contact, ContactKind, Deal, Product, Role, SupplyNature, User
from storage.pipeline import create_deal, find_stage, move_deal
from storage.users import create_user

TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+33612345678", "'+33612345678"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ann", "Ann"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_formula_cells_are_neutralised(raw: str, safe: str) -> None:
    assert neutralised(raw) == safe


def test_xlsx_and_csv_never_carry_a_live_formula() -> None:
    sheet = Sheet(
        "Contacts",
        "contacts",
        ["Name", "Note"],
        [['=HYPERLINK("http://evil")', "+cmd|' /C calc'!A0"], ["@x", "-1+2"]],
    )
    out = io.BytesIO()
    write_xlsx([sheet], out)
    book = load_workbook(io.BytesIO(out.getvalue()))
    cells = [c for row in book.active.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert [c.value for c in cells[2:]] == [
        '\'=HYPERLINK("http://evil")',
        "'+cmd|' /C calc'!A0",
        "'@x",
        "'-1+2",
    ]
    raw = io.BytesIO()
    write_csv(sheet, raw)
    rows = list(csv.reader(io.StringIO(raw.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert rows[1] == ['\'=HYPERLINK("http://evil")', "'+cmd|' /C calc'!A0"]


async def _people() -> tuple[User, User, User]:
    boss = await create_user("boss", Role.MANAGER)
    alice = await create_user("alice", Role.SALES)
    bob = await create_user("bob", Role.SALES)
    return boss, alice, bob


async def test_only_managers_and_admins_export(db: str) -> None:
    boss, alice, bob = await _people()
    mine = await create_contact(alice, NewContact("Alice client"), region="FR")
    await create_contact(bob, NewContact("Bob client"), region="FR")
    await create_contact(bob, NewContact("Shared one", shared=True), region="FR")
    await create_deal(alice, mine.id, "Alice deal", 1000, "EUR")
    bobs = await create_contact(bob, NewContact("Bob again"), region="FR")
    await create_deal(bob, bobs.id, "Bob deal", 2000, "EUR")
    collector = await create_user("cora", Role.COLLECTIONS)
    for refused in (alice, collector):
        with pytest.raises(Forbidden):
            await sheets(refused, "all")
    everything = {s.table: s for s in await sheets(boss, "all", "fr")}
    assert len(everything["contacts"].rows) == 4 and len(everything["deals"].rows) == 2
    assert everything["deals"].name == "Affaires" and everything["deals"].headers[4] == "Montant"
    with pytest.raises(InvalidInput):
        await sheets(boss, "passwords")


async def test_zip_holds_one_csv_per_table(db: str) -> None:
    boss, _, _ = await _people()
    out = io.BytesIO()
    write_zip(await sheets(boss, "all"), out)
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(out.getvalue())).namelist()
    assert names == ["contacts.csv", "deals.csv", "products.csv", "invoices.csv", "payments.csv"]


async def _fill(boss: User, alice: User) -> None:
    acme = await create_contact(
        boss,
        NewContact("ACME", kind=ContactKind.COMPANY, phone="0142685300", email="=cmd@acme.com"),
        region="FR",
    )
    ann = await create_contact(
        boss,
        NewContact("Ann =Lee", phone="0612345678", email="ann@acme.com", company="ACME", shared=True),
        region="FR",
    )
    ann.extra_phones, ann.extra_emails = ["+33698765432"], ["ann@lee.fr"]
    await ann.save()
    await create_contact(alice, NewContact("Zoé", shared=True), region="FR")
    deal = await create_deal(
        alice, ann.id, "Licences 2027", 1_200_050, "EUR", expected_close=date(2026, 12, 31)
    )
    await move_deal(alice, deal.id, await find_stage("Proposal"))
    await create_deal(boss, acme.id, "-Audit", 0, "EUR")
    await Product.create(sku="SKU-1", name="Clavier", unit="pièce", unit_price_cents=4990, vat_rate_bp=550)
    await Product.create(
        sku="SKU-2",
        name="Formation",
        unit="jour",
        unit_price_cents=90000,
        vat_rate_bp=0,
        nature=SupplyNature.SERVICES,
        vat_exemption="VATEX-FR-FRANCHISE",
    )


async def _snapshot() -> dict[str, list[tuple[object, ...]]]:
    contacts = (
        await Contact.all()
        .order_by("name")
        .values_list(
            "kind",
            "name",
            "company__name",
            "phone",
            "email",
            "extra_phones",
            "extra_emails",
            "owner__name",
            "shared",
        )
    )
    deals = (
        await Deal.all()
        .order_by("title")
        .values_list(
            "title",
            "contact__name",
            "amount_cents",
            "currency",
            "stage__name",
            "owner__name",
            "expected_close",
        )
    )
    products = (
        await Product.all()
        .order_by("sku")
        .values_list(
            "sku", "name", "unit", "unit_price_cents", "currency", "vat_rate_bp", "nature", "vat_exemption"
        )
    )
    return {
        "contacts": [tuple(c) for c in contacts],
        "deals": [tuple(d) for d in deals],
        "products": [tuple(p) for p in products],
    }


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("lang", ["en", "fr"])
async def test_round_trip_export_then_import_into_an_empty_database(
    tmp_path: Path, fmt: str, lang: str
) -> None:
    EXECUTOR_CACHE.clear()
    async with tortoise_test_context(MODEL_MODULES, "sqlite://:memory:"):
        from storage.pipeline import seed_stages

        await seed_stages()
        boss, alice, _ = await _people()
        await _fill(boss, alice)
        before = await _snapshot()
        files = {}
        for item in await sheets(boss, "all", lang):
            out = io.BytesIO()
            if fmt == "xlsx":
                write_xlsx([item], out)
            else:
                write_csv(item, out)
            files[item.table] = out.getvalue()
    EXECUTOR_CACHE.clear()
    async with tortoise_test_context(MODEL_MODULES, "sqlite://:memory:"):
        from storage.pipeline import seed_stages

        await seed_stages()
        boss, alice, _ = await _people()
        for kind in ("contacts", "products", "deals"):
            table = read_file(files[kind], f"{kind}.{fmt}")
            report = await run_import(boss, kind, table, today=TODAY, write=True)
            assert report.rejected == []
        after = await _snapshot()
    for key in before:
        assert after[key] == before[key], key


async def test_exported_dates_are_company_local_dates(db: str) -> None:
    from datetime import UTC, datetime

    boss, alice, _ = await _people()
    ann = await create_contact(alice, NewContact("Ann"), region="FR")
    # 00:30 in Paris on 1 January is still 31 December in UTC.
    await Contact.filter(id=ann.id).update(created_at=datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    (contacts,) = await sheets(boss, "contacts", "en", "Europe/Paris")
    assert contacts.rows[0][-1] == date(2027, 1, 1)


def test_an_aware_imported_datetime_becomes_the_company_local_date() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from storage.importing.readers import cell as _cell

    paris = ZoneInfo("Europe/Paris")
    assert _cell(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), paris) == date(2027, 1, 1)
    assert _cell(datetime(2026, 12, 31, 23, 30), paris) == date(2026, 12, 31)  # naive: as typed
