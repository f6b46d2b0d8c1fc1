"""Whole emails: MIME routing, zipped camt, MT940, text/HTML bodies, refusals with reasons."""

from __future__ import annotations

import io
import time
import zipfile
from email.message import EmailMessage

from mail.notices import Direction
from mail.parsers import parse_message
from tests.mail.camt_builder import Entry, Tx, camt
from tests.mail.test_camt import BILLION_LAUGHS, EXTERNAL_ENTITY, two_invoices_in_one_entry
from tests.mail.test_mt940 import GERMAN
from tests.mail.test_text_templates import FRENCH, HTML


def email(
    body: str = "Veuillez trouver ci-joint votre relevé.",
    *,
    sender: str = "alertes@banque-exemple.fr",
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),  # type: ignore[assignment]
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Banque Exemple <{sender}>"
    msg["To"] = "compta@entonnoir.example"
    msg["Subject"] = "Avis de virement"
    msg["Message-ID"] = "<m1@banque-exemple.fr>"
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def test_a_camt054_attachment_with_two_batched_payments_gives_two_notices():
    result = parse_message(email(attachments=[("avis.xml", two_invoices_in_one_entry(), "application/xml")]))

    assert [(n.amount_cents, n.payer_name) for n in result.notices] == [
        (120000, "ACME SA"),
        (30000, "Bolt SARL"),
    ]
    assert result.sources == ["camt.054 (avis.xml)"]
    assert result.reason is None


def test_a_cover_text_is_not_read_as_a_payment_when_an_attachment_was():
    raw = email(
        FRENCH.format(amount="1 500,00 €"),
        attachments=[("avis.xml", two_invoices_in_one_entry(), "application/octet-stream")],
    )
    assert [n.amount_cents for n in parse_message(raw).notices] == [120000, 30000]


def test_a_zipped_camt053_and_an_mt940_are_read_and_the_same_entry_counts_once():
    statement = camt("053", [Entry("99.00", ref="S-1", txs=[Tx("99.00", name="Durand")])])
    notification = camt("054", [Entry("99.00", ref="S-1", txs=[Tx("99.00", name="Durand")])])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("releve.xml", statement)
        archive.writestr("avis.xml", notification)
    raw = email(
        attachments=[
            ("releve.zip", buffer.getvalue(), "application/zip"),
            ("STA.sta", GERMAN.encode(), "application/octet-stream"),
        ]
    )

    result = parse_message(raw)

    assert [n.entry_ref for n in result.notices] == [
        "S-1",
        "BQ20260302001",
        None,
        None,
        None,
    ]
    assert result.notices[3].direction is Direction.REVERSAL
    assert result.sources == [
        "camt.053 (releve.zip/releve.xml)",
        "camt.054 (releve.zip/avis.xml)",
        "MT940 (STA.sta)",
    ]


def test_a_french_text_notification_is_read_through_the_sender_template():
    result = parse_message(email(FRENCH.format(amount="1 200,00 €")))

    (notice,) = result.notices
    assert (notice.amount_cents, notice.payer_name) == (120000, "ACME SA")
    assert result.sources == ["template Banque Exemple (FR)"]


def test_an_html_only_part_is_read_when_the_plain_part_says_nothing():
    raw = email(
        "Please view this email in HTML.",
        sender="alerts@examplebank.com",
        html=HTML.format(amount="£1,200.50"),
    )
    (notice,) = parse_message(raw).notices
    assert (notice.amount_cents, notice.currency, notice.entry_ref) == (120050, "GBP", "TX-99887766")


def test_an_unrecognisable_message_comes_back_with_the_reason():
    raw = email(
        "Bonjour, voici notre brochure.",
        sender="news@shop.example",
        attachments=[("brochure.pdf", b"%PDF-1.4 ...", "application/pdf")],
    )

    result = parse_message(raw)

    assert result.notices == []
    assert result.reason == (
        "nothing recognisable: attachment brochure.pdf refused: not a bank statement format "
        "this reader knows (camt.052/053/054, MT940); no bank statement attachment "
        "(camt.053/054, MT940); no bank template for sender shop.example"
    )
    assert [p.code for p in result.problems] == ["unknown_format"]


def test_an_xml_bomb_and_an_external_entity_are_refused_with_the_reason():
    raw = email(
        attachments=[
            ("bomb.xml", BILLION_LAUGHS, "application/xml"),
            ("xxe.xml", EXTERNAL_ENTITY, "text/xml"),
        ]
    )

    result = parse_message(raw)

    assert result.notices == []
    assert [(p.code, p.part) for p in result.problems] == [("xml_dtd", "bomb.xml"), ("xml_dtd", "xxe.xml")]
    assert "attachment bomb.xml refused: XML with a DTD refused" in (result.reason or "")
    assert "attachment xxe.xml refused" in (result.reason or "")


def test_a_20_mb_attachment_is_refused_unread_and_the_others_still_count():
    huge = camt("054", [Entry("1.00", ref=f"R{i}", txs=[Tx("1.00", name="X" * 200)]) for i in range(40_000)])
    assert len(huge) > 20_000_000
    raw = email(
        attachments=[
            ("huge.xml", huge, "application/xml"),
            ("avis.xml", two_invoices_in_one_entry(), "application/xml"),
        ]
    )

    start = time.perf_counter()
    result = parse_message(raw)

    assert time.perf_counter() - start < 10
    assert [p.code for p in result.problems] == ["too_large"]
    assert len(result.notices) == 2  # only the small attachment's payments
    assert result.reason is not None
    assert result.reason.startswith("partly read: attachment huge.xml refused: ")
    assert "MB limit" in result.reason


def test_a_statement_without_booked_entries_says_so():
    raw = email(attachments=[("vide.xml", camt("053", []), "application/xml")])
    result = parse_message(raw)
    assert result.notices == []
    assert result.reason == "nothing recognisable: camt.053 (vide.xml): no booked entry"


def test_the_configured_templates_file_is_used_and_reread_when_it_changes(tmp_path):
    path = tmp_path / "banks.toml"
    path.write_text('[[template]]\nname = "Old"\nsenders = ["ma-banque.fr"]\namount = "Reçu (%AMOUNT%)"\n')
    raw = email("Reçu 12,50 €", sender="avis@ma-banque.fr")
    assert [n.amount_cents for n in parse_message(raw, templates_file=path).notices] == [1250]

    path.write_text('[[template]]\nname = "New"\nsenders = ["autre.fr"]\namount = "Reçu (%AMOUNT%)"\n')
    import os

    os.utime(path, ns=(1, 1))  # a different modification time, even on coarse clocks
    result = parse_message(raw, templates_file=path)
    assert result.notices == []
    assert "no bank template for sender ma-banque.fr" in (result.reason or "")


def test_an_inline_logo_is_decoration_but_an_unknown_attachment_is_refused_with_a_reason():
    msg = EmailMessage()
    msg["From"] = "Banque Exemple <alertes@banque-exemple.fr>"
    msg["Subject"] = "Relevé"
    msg.set_content("Relevé du jour")
    msg.add_alternative('<p>Relevé du jour <img src="cid:logo"></p>', subtype="html")
    msg.get_payload()[1].add_related(b"\x89PNG\r\n", maintype="image", subtype="png", cid="<logo>")
    msg.add_attachment(
        two_invoices_in_one_entry(), maintype="application", subtype="xml", filename="avis.xml"
    )
    msg.add_attachment(b"a;b\n1;2\n", maintype="text", subtype="csv", filename="export.csv")

    result = parse_message(msg.as_bytes())

    assert len(result.notices) == 2
    assert [(p.code, p.part) for p in result.problems] == [("unknown_format", "export.csv")]
    assert result.reason is not None and result.reason.startswith("partly read: attachment export.csv")
    assert any("image/png" in i for i in result.ignored)
