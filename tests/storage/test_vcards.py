"""vCards as phones and address books export them: 2.1 (quoted-printable, UTF-8 or Latin-1),
3.0 and 4.0, read by vobject and imported as contacts; bounded like every import."""

from __future__ import annotations

import time
from datetime import date

import pytest

from storage.errors import InvalidInput
from storage.import_limits import MAX_ROWS, Budget
from storage.importing import MAX_CARD_BYTES, read_file, run_import
from storage.models import Contact, Role
from storage.users import create_user

TODAY = date(2026, 3, 2)

# An Android export: 2.1, names and company quoted-printable in UTF-8, a soft line break.
ANDROID_21 = (
    b"BEGIN:VCARD\r\n"
    b"VERSION:2.1\r\n"
    b"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dupr=C3=A9;M=C3=A9lanie;;;\r\n"
    b"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dupr=C3=A9 M=C3=A9lanie\r\n"
    b"ORG;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Caf=C3=A9 de la Gare et des Voyageu=\r\n"
    b"rs;Salle\r\n"
    b"TEL;CELL;PREF:+33 6 12 34 56 78\r\n"
    b"TEL;WORK;VOICE:01 42 68 53 00\r\n"
    b"EMAIL;HOME:melanie@dupre.fr\r\n"
    b"END:VCARD\r\n"
)
# An older Nokia/Outlook export: 2.1, Latin-1 bytes quoted-printable, bare QUOTED-PRINTABLE.
OUTLOOK_21_LATIN1 = (
    b"BEGIN:VCARD\r\n"
    b"VERSION:2.1\r\n"
    b"N;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:L=E9vesque;Fran=E7ois\r\n"
    b"ORG;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Soci=E9t=E9 G=E9n=E9rale\r\n"
    b"TEL;HOME:+33 1 45 67 89 00\r\n"
    b"END:VCARD\r\n"
)
# An Apple Contacts export: 3.0, grouped properties, escaped comma, a folded line, a photo.
APPLE_30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "PRODID:-//Apple Inc.//macOS 15.0//EN\r\n"
    "N:Ng;Thảo;;;\r\n"
    "FN:Thảo Ng\r\n"
    "ORG:Ng\\, Frères & Fils;\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:thao@ng-freres.\r\n"
    " fr\r\n"
    "item1.X-ABLabel:_$!<Work>!$_\r\n"
    "TEL;type=CELL;type=VOICE;type=pref:+33 7 81 22 33 44\r\n"
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJ\r\n"
    "END:VCARD\r\n"
).encode()
# A 4.0 card (RFC 6350): TEL as a tel: URI, a structured N with a second given name.
RFC_40 = (
    b"BEGIN:VCARD\r\n"
    b"VERSION:4.0\r\n"
    b"FN:Bob Ray\r\n"
    b"N:Ray;Bob;Jean;;\r\n"
    b'TEL;VALUE=uri;TYPE="cell,voice":tel:+33-6-99-88-77-66\r\n'
    b"EMAIL;TYPE=work:bob@ray.fr\r\n"
    b"KIND:individual\r\n"
    b"END:VCARD\r\n"
)


def test_version_21_quoted_printable_names_come_out_in_clear() -> None:
    table = read_file(ANDROID_21 + OUTLOOK_21_LATIN1, "contacts.vcf")
    assert table.file_type == "vcf"
    assert [number for number, _ in table.rows] == [1, 11]
    assert table.rows[0][1] == [
        "Dupré Mélanie",
        "Mélanie",
        "Dupré",
        "Café de la Gare et des Voyageurs",
        "+33 6 12 34 56 78 ::: 01 42 68 53 00",
        "melanie@dupre.fr",
    ]
    assert table.rows[1][1][:4] == ["", "François", "Lévesque", "Société Générale"]


def test_versions_30_and_40_are_read() -> None:
    table = read_file(APPLE_30 + RFC_40, "export.vcf")
    apple, rfc = (cells for _, cells in table.rows)
    assert apple == ["Thảo Ng", "Thảo", "Ng", "Ng, Frères & Fils", "+33 7 81 22 33 44", "thao@ng-freres.fr"]
    assert rfc == ["Bob Ray", "Bob", "Ray", "", "+33-6-99-88-77-66", "bob@ray.fr"]


async def test_every_version_imports_as_contacts(db: str) -> None:
    boss = await create_user("boss", Role.MANAGER)
    table = read_file(ANDROID_21 + OUTLOOK_21_LATIN1 + APPLE_30 + RFC_40, "all.vcf")
    report = await run_import(boss, "contacts", table, region="FR", today=TODAY, write=True)
    assert (report.new, report.merged, report.rejected) == (4, 0, [])
    melanie = await Contact.get(name="Dupré Mélanie").prefetch_related("company")
    assert melanie.company.name == "Café de la Gare et des Voyageurs"  # type: ignore[union-attr]
    assert melanie.phone == "+33612345678" and melanie.extra_phones == ["+33142685300"]
    francois = await Contact.get(name="François Lévesque").prefetch_related("company")
    assert francois.company.name == "Société Générale"  # type: ignore[union-attr]
    assert await Contact.filter(name="Bob Ray", phone="+33699887766", email="bob@ray.fr").exists()
    assert await Contact.filter(name="Thảo Ng", email="thao@ng-freres.fr").exists()


async def test_an_unreadable_card_is_rejected_by_its_line_and_the_others_import(db: str) -> None:
    boss = await create_user("boss", Role.MANAGER)
    broken = b"BEGIN:VCARD\r\nVERSION:3.0\r\nthis line is no property\r\nEND:VCARD\r\n"
    table = read_file(ANDROID_21 + broken, "mixed.vcf")
    report = await run_import(boss, "contacts", table, region="FR", today=TODAY, write=False)
    assert report.new == 1 and [r.row for r in report.rejected] == [11]


def test_a_card_over_its_size_bound_is_refused_before_it_is_parsed() -> None:
    photo = (
        b"PHOTO;ENCODING=b;TYPE=JPEG:"
        + b"A" * 75
        + b"\r\n"
        + (b" " + b"A" * 75 + b"\r\n") * (MAX_CARD_BYTES // 76 + 1)
    )
    huge = ANDROID_21.replace(b"END:VCARD\r\n", photo + b"END:VCARD\r\n")
    start = time.perf_counter()
    with pytest.raises(InvalidInput, match="import_card_too_large") as refused:
        read_file(RFC_40 + huge, "photos.vcf")
    assert refused.value.params == {"row": 9, "max_kb": MAX_CARD_BYTES // 1024}
    assert time.perf_counter() - start < 5


def test_the_number_of_cards_is_bounded() -> None:
    almost_full = Budget(rows=MAX_ROWS + 9)  # the budget counts cards as rows
    assert len(read_file(RFC_40, "one.vcf", budget=almost_full).rows) == 1
    with pytest.raises(InvalidInput, match="import_too_many_rows"):
        read_file(RFC_40 + RFC_40, "two.vcf", budget=Budget(rows=MAX_ROWS + 9))


def test_a_file_without_cards_is_refused() -> None:
    with pytest.raises(InvalidInput, match="import_type"):
        read_file(b"Nom;Telephone\n", "c.vcf")
    with pytest.raises(InvalidInput, match="import_empty"):
        read_file(b"BEGIN:VCARD is mentioned here but no card starts\r\n", "c.vcf")
